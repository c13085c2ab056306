//! The `rebound classify` contract, on the real binary: JSON Lines with exactly the documented
//! fields, in order, for reply lines and for email files (outside tools parse this output).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

const FILE_FIELDS: &[&str] = &[
    "file",
    "index",
    "recipient",
    "reply_code",
    "status",
    "reason",
    "kind",
    "action",
    "rule",
    "evidence",
    "confidence",
];

fn keys(line: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
    // serde_json keeps insertion order only with preserve_order; read the keys from the text instead.
    let object = value.as_object().expect("each line is an object");
    let mut keys: Vec<(usize, String)> =
        object.keys().map(|k| (line.find(&format!("\"{k}\":")).unwrap_or(usize::MAX), k.clone())).collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn lines_mode_prints_one_object_per_line_in_order() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(["classify", "--lines", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"550 5.1.1 <a@example.com>: User unknown\n\n421 4.7.0 [TSS04] deferred\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let mut expected: Vec<&str> = vec!["line"];
    expected.extend(&FILE_FIELDS[2..]);
    assert_eq!(keys(lines[0]), expected);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        (first["line"].as_u64(), first["kind"].as_str(), first["status"].as_str()),
        (Some(1), Some("hard"), Some("5.1.1"))
    );
    let third: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!((third["line"].as_u64(), third["kind"].as_str()), (Some(3), Some("block")));
}

#[test]
fn file_mode_prints_one_object_per_recipient_and_one_for_a_file_without_any() {
    let dir = std::env::temp_dir().join(format!("rebound-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dsn = "From: MAILER-DAEMON@example.net\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
        Content-Type: text/plain\r\n\r\nDelivery failed.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
        Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; one@example.com\r\nAction: failed\r\n\
        Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\nFinal-Recipient: rfc822; two@example.com\r\n\
        Action: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n--b--\r\n";
    std::fs::write(dir.join("a.eml"), dsn).unwrap();
    std::fs::write(dir.join("b.eml"), "Subject: hello\r\n\r\njust a note\r\n").unwrap();
    std::fs::write(dir.join("ignored.txt"), "not an eml").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rebound")).args(["classify"]).arg(&dir).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(keys(text.lines().next().unwrap()), FILE_FIELDS);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["file"].as_str(), rows[0]["index"].as_u64()), (Some("a.eml"), Some(1)));
    assert_eq!(
        (rows[0]["recipient"].as_str(), rows[0]["reason"].as_str()),
        (Some("one@example.com"), Some("user_unknown"))
    );
    assert_eq!(
        (rows[1]["recipient"].as_str(), rows[1]["reason"].as_str()),
        (Some("two@example.com"), Some("mailbox_full"))
    );
    assert_eq!((rows[2]["file"].as_str(), rows[2]["index"].as_u64()), (Some("b.eml"), Some(1)));
    assert!(rows[2]["recipient"].is_null());
}

#[test]
fn a_provider_webhook_batch_given_as_a_file_prints_one_object_per_event() {
    let path = std::env::temp_dir().join(format!("rebound-cli-events-{}.json", std::process::id()));
    let batch = r#"[{"email": "one@example.com", "event": "bounce", "sg_event_id": "a", "type": "bounce",
        "reason": "550 5.1.1 user unknown", "status": "5.1.1"},
        {"email": "two@example.com", "event": "bounce", "sg_event_id": "b", "type": "blocked",
        "reason": "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "status": "5.7.1"}]"#;
    std::fs::write(&path, batch).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rebound")).args(["classify"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["index"].as_u64(), rows[0]["kind"].as_str()), (Some(1), Some("hard")));
    assert_eq!(
        (rows[1]["index"].as_u64(), rows[1]["recipient"].as_str(), rows[1]["kind"].as_str()),
        (Some(2), Some("two@example.com"), Some("block"))
    );
}
