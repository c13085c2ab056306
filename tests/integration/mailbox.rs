//! The bounce mailbox (`--smtp-listen`): a real SMTP client (Python's `smtplib`) sends a DSN to a
//! VERP return path and a feedback report to the plain one, over a socket, on both databases.

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Api, TestDatabase, TestServer};

on_both_backends!(database: bounces_reports_and_strangers_at_the_smtp_listener);

const DOMAIN: &str = "bounce.sender.example";

/// Sends each message (`from`, `to` addresses, `data`) in its own SMTP session with `smtplib`, and
/// answers per message `sent` or what refused it (`rcpt 550`, `data 451`, …).
const CLIENT: &str = r#"
import json, smtplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
results = []
for m in json.load(sys.stdin):
    try:
        with smtplib.SMTP(host, port, local_hostname="mta.example.net", timeout=20) as s:
            s.ehlo()
            if m.get("tls"):
                s.starttls(context=ssl._create_unverified_context())
                s.ehlo()
                assert not s.has_extn("starttls"), "STARTTLS offered again under TLS"
                s.sock.version()
            if m.get("undeclared"):
                # MAIL without SIZE: the size limit is met while the message is read.
                s.mail(m["from"])
                for to in m["to"]:
                    s.rcpt(to)
                code, _ = s.data(m["data"].encode())
                results.append("sent" if code == 250 else "data %d" % code)
                continue
            refused = s.sendmail(m["from"], m["to"], m["data"].encode())
            results.append("sent" if not refused else "partly " + " ".join(str(c) for c, _ in refused.values()))
    except smtplib.SMTPRecipientsRefused as e:
        results.append("rcpt " + " ".join(str(c) for c, _ in e.recipients.values()))
    except smtplib.SMTPDataError as e:
        results.append("data %d" % e.smtp_code)
    except smtplib.SMTPSenderRefused as e:
        results.append("mail %d" % e.smtp_code)
print(json.dumps(results))
"#;

fn send(smtp: SocketAddr, messages: &Value) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", CLIENT, &smtp.ip().to_string(), &smtp.port().to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(messages.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the SMTP client failed");
    serde_json::from_slice(&output.stdout).expect("the client prints JSON")
}

/// A Postfix-style DSN about the copy sent to alice: her mail went on to an alias, and the report
/// names only the alias.
fn dsn() -> String {
    [
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)",
        "To: bounces+alice=example.com@bounce.sender.example",
        "Subject: Undelivered Mail Returned to Sender",
        "Message-ID: <dsn-1@mx.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"",
        "",
        "--b1",
        "Content-Type: text/plain",
        "",
        "I'm sorry to have to inform you that your message could not be delivered.",
        "",
        "<alice.forwarded@mail.example.org>: host mail.example.org[192.0.2.7] said: 550 5.1.1",
        "    <alice.forwarded@mail.example.org>: Recipient address rejected: User unknown",
        "",
        "--b1",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.example.org",
        "",
        "Final-Recipient: rfc822; alice.forwarded@mail.example.org",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 <alice.forwarded@mail.example.org>: Recipient address rejected: User unknown",
        "",
        "--b1--",
        "",
    ]
    .join("\r\n")
}

/// An abuse report (RFC 5965) from a feedback loop about a message to `complainer`.
fn arf(complainer: &str) -> String {
    [
        "From: fbl@isp.example",
        "To: bounces@bounce.sender.example",
        "Subject: Abuse report",
        "Message-ID: <arf-1@isp.example>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b2\"",
        "",
        "--b2",
        "Content-Type: text/plain",
        "",
        "This is an email abuse report for an email message received from IP 192.0.2.1.",
        "",
        "--b2",
        "Content-Type: message/feedback-report",
        "",
        "Feedback-Type: abuse",
        "User-Agent: ISP-FBL/1.0",
        "Version: 1",
        "Original-Mail-From: <bounces+carol=example.net@bounce.sender.example>",
        &format!("Original-Rcpt-To: <{complainer}>"),
        "",
        "--b2",
        "Content-Type: message/rfc822",
        "",
        "From: news@sender.example",
        &format!("To: {complainer}"),
        "Subject: Our news",
        "",
        "Hello",
        "--b2--",
        "",
    ]
    .join("\r\n")
}

/// A self-signed certificate and its key, made by `openssl` in a fresh directory (returned too,
/// for removal).
fn certificate() -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("rebound-cert-{}", crate::support::unique_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mx.bounce.test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (dir, cert, key)
}

async fn bounces_reports_and_strangers_at_the_smtp_listener(db: &TestDatabase) {
    let (dir, cert, key) = certificate();
    let tls = rebound_server::smtp::tls_config(&cert, &key).expect("a TLS configuration");
    std::fs::remove_dir_all(dir).unwrap();
    let server = TestServer::start_with(db, |config| {
        config.smtp = Some(rebound_server::smtp::SmtpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            rules: rebound_server::smtp::protocol::Rules {
                hostname: "mx.bounce.test".to_owned(),
                domains: vec![DOMAIN.to_owned()],
                local: "bounces".to_owned(),
                max_message: 64 * 1024,
            },
            per_minute: 100,
            tls: Some(tls),
        });
    })
    .await;
    let smtp = server.smtp.expect("the mailbox listens");
    let message = |from: &str, to: &[&str], data: String| serde_json::json!({"from": from, "to": to, "data": data});
    let verp = "bounces+alice=example.com@bounce.sender.example";
    let results = send(
        smtp,
        &serde_json::json!([
            message("", &[verp], dsn()),
            message("fbl@isp.example", &["bounces@bounce.sender.example"], arf("carol@example.net")),
            message("", &[verp], dsn()),
            message("", &["random@bounce.sender.example"], dsn()),
            message("", &["bounces@elsewhere.example"], dsn()),
            message("", &[verp], "x".repeat(70 * 1024)),
            serde_json::json!({"from": "", "to": [verp], "data": "y".repeat(70 * 1024), "undeclared": true}),
            serde_json::json!({"from": "", "to": [verp], "data": "Subject: nothing\r\n\r\n.dot first\r\n", "undeclared": true}),
            serde_json::json!({"from": "", "to": ["bounces+dave=example.com@bounce.sender.example"], "data": dsn(), "tls": true}),
            message("fbl@isp.example", &["bounces+erin=example.org@bounce.sender.example"], arf("erin@example.org")),
        ]),
    );
    // Refused: a stranger's mailbox, another domain, a message declared (SIZE) or found too big.
    assert_eq!(
        results,
        ["sent", "sent", "sent", "rcpt 550", "rcpt 550", "mail 552", "data 552", "sent", "sent", "sent"]
    );

    let api = Api::key(&server, server.api_key("checker", &["check", "suppressions:read"]).await);
    assert!(
        api.suppressed("alice@example.com", None).await,
        "the VERP address decides, not the alias the report names"
    );
    assert!(!api.suppressed("alice.forwarded@mail.example.org", None).await);
    assert!(api.suppressed("carol@example.net", None).await, "the complainer of the report");
    assert!(api.suppressed("dave@example.com", None).await, "a DSN sent under STARTTLS");
    assert!(api.suppressed("erin@example.org", None).await, "an abuse report sent to a VERP address");

    let admin = Api::admin(&server).await;
    let (status, page) = admin.get("/api/v1/suppressions?q=alice%40example.com").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page["items"][0]["id"].as_i64().expect("alice's entry");
    let (_, detail) = admin.get(&format!("/api/v1/suppressions/{id}")).await;
    assert_eq!(detail["suppression"]["reason"], "hard_bounce");
    let events = detail["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "the DSN sent twice is one event: {events:?}");
    assert_eq!((events[0]["source"].as_str(), events[0]["input"].as_str()), (Some("smtp"), Some("message")));
    assert_eq!(events[0]["verdict"]["reason"], "user_unknown");
    assert_eq!(detail["history"][0]["actor"], "smtp", "the mailbox is named as the actor: {detail}");
    let (_, carol) = admin.get("/api/v1/suppressions?q=carol%40example.net").await;
    assert_eq!(carol["items"][0]["reason"], "complaint");
}
