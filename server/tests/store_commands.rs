//! `rebound import`, `rebound export` and `rebound audit verify` on the real binary and a real
//! SQLite file: what goes in comes out, rejected lines are reported, and a tampered audit log is
//! caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rebound(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("REBOUND_DATA_DIR", data)
        .env_remove("REBOUND_DATABASE_URL")
        .output()
        .unwrap()
}

/// The real binary started on `data` with `args`, its output piped.
fn start(data: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("REBOUND_DATA_DIR", data)
        .env_remove("REBOUND_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rebound-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn import_export_and_verify_round_trip() {
    let dir = temp_dir("roundtrip");
    let file = dir.join("list.txt");
    std::fs::write(&file, "# old list\nb@example.com\nA@Example.com\nnot-an-address@\n\n@dead.example\n").unwrap();
    let out = rebound(&dir, &["import", file.to_str().unwrap(), "--reason", "hard_bounce"]);
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("3 created"), "{report}");
    assert!(report.contains("1 rejected") && report.contains("line 4"), "{report}");

    let out = rebound(&dir, &["export"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines, ["@dead.example", "A@example.com", "b@example.com"].map(|l| l.trim_start_matches('@')));

    let out = rebound(&dir, &["export", "--format", "csv"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("dead.example,hard_bounce,global,import:"), "{csv}");

    let out = rebound(&dir, &["audit", "verify"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 1 rows"));

    // Someone with write access to the file drops the guard and rewrites history: the chain breaks.
    tamper(&dir.join("rebound.db"));
    let out = rebound(&dir, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("guards MISSING: audit_log_no_update") && report.contains("BROKEN at row 1"), "{report}");

    // The server will not serve a database whose guards were dropped.
    let mut server = start(&dir, &["serve", "--listen", "127.0.0.1:0"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            server.kill().unwrap();
            panic!("the server started on a database without its guards");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = server.wait_with_output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("guards are missing: audit_log_no_update"), "{said}");

    let _ = std::fs::remove_dir_all(&dir);
}

fn tamper(db: &Path) {
    use sqlx::{Connection, Executor};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        conn.execute("DROP TRIGGER audit_log_no_update").await.unwrap();
        conn.execute("UPDATE audit_log SET actor = 'user:nobody'").await.unwrap();
    });
}

#[test]
fn a_bad_option_is_a_usage_error() {
    let dir = temp_dir("usage");
    let out = rebound(&dir, &["import", "/nonexistent", "--reason", "bored"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a reason"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rebound ingest pmta` reads PowerMTA accounting files (the field list of PowerMTA's
/// documentation) into the database: one JSON line per file; a hard bounce and a complaint
/// suppress, a block and a deferral do not; a file read again is read on from where the last read
/// stopped (nothing twice, what was added since); a file that cannot be read, or is no accounting
/// file, is named and makes the exit status non-zero.
#[test]
fn ingest_pmta_reads_accounting_files_into_the_list() {
    let dir = temp_dir("pmta");
    let file = dir.join("acct-2026-12-07.csv");
    let mut csv = String::from(
        "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,\
dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,envId,queue,vmtaPool\n",
    );
    let fields = |kind: &str, rcpt: &str, status: &str, diag: &str, category: &str| {
        format!(
            "{kind},2026-12-07 10:00:00+0000,,news@sender.example,{rcpt},,,{status},\"{diag}\",mx.example,{category},smtp,,smtp,198.51.100.7,,,,vmta-a,winter,,,\n"
        )
    };
    // More records than one batch holds, so the file is stored in several.
    for i in 0..20_500 {
        csv += &fields("d", &format!("ok{i}@example.com"), "2.0.0 (success)", "smtp;250 ok", "");
    }
    csv += &fields(
        "b",
        "gone@example.com",
        "5.1.1 (bad destination mailbox address)",
        "smtp;550 5.1.1 <gone@example.com>: user unknown",
        "bad-mailbox",
    );
    csv += &fields(
        "b",
        "blocked@example.com",
        "5.7.1 (delivery not authorized)",
        "smtp;554 5.7.1 blocked using zen.spamhaus.org",
        "bad-mailbox",
    );
    csv += &fields("t", "later@example.com", "4.2.2 (mailbox full)", "smtp;452 4.2.2 mailbox full", "quota-issues");
    csv += &fields("f", "angry@example.com", "", "", "");
    csv += &fields("b", "not an address", "5.1.1", "smtp;550 5.1.1 unknown", "");
    std::fs::write(&file, csv).unwrap();
    let missing = dir.join("missing.csv");
    let not_accounting = dir.join("list.csv");
    std::fs::write(&not_accounting, "address\nsomeone@example.com\n").unwrap();

    let out = rebound(&dir, &["ingest", "pmta", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["file"], file.to_str().unwrap());
    assert_eq!(
        [&summary["records"], &summary["events"], &summary["skipped"], &summary["errors"]],
        [20_505, 20_504, 0, 1],
        "{summary}"
    );
    let listed = || {
        let out = rebound(&dir, &["export"]);
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(listed(), ["angry@example.com", "gone@example.com"]);

    let out = rebound(
        &dir,
        &["ingest", "pmta", file.to_str().unwrap(), missing.to_str().unwrap(), not_accounting.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let lines: Vec<serde_json::Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!([&lines[0]["records"], &lines[0]["events"]], [0, 0], "nothing new: {}", lines[0]);
    assert!(lines[1]["error"].as_str().unwrap().contains("cannot open"), "{}", lines[1]);
    assert!(lines[2]["error"].as_str().unwrap().contains("`type`"), "{}", lines[2]);
    assert_eq!(listed(), ["angry@example.com", "gone@example.com"]);

    // A record added to the file since: only it is read.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            std::io::Write::write_all(
                &mut f,
                fields("b", "added@example.com", "5.1.1", "smtp;550 5.1.1 unknown", "").as_bytes(),
            )
        })
        .unwrap();
    let out = rebound(&dir, &["ingest", "pmta", file.to_str().unwrap()]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!([&summary["records"], &summary["events"]], [1, 1], "{summary}");
    assert_eq!(listed(), ["added@example.com", "angry@example.com", "gone@example.com"]);

    let out = rebound(&dir, &["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rebound ingest postfix` reads a mail log in Postfix's formats (traditional syslog and RFC 3339
/// times): a bounce suppresses the address as mailed (`orig_to`), a block and an expiry do not, a
/// notice Postfix wrote to the sender is no delivery, other programs' lines are passed over; read
/// again, it gives only what was added since (nothing).
#[test]
fn ingest_postfix_reads_a_mail_log_into_the_list() {
    let dir = temp_dir("postfix");
    let log = dir.join("mail.log");
    std::fs::write(
        &log,
        "\
Dec  6 10:00:00 mx postfix/qmgr[55]: 4F1C22A0B1: from=<news@sender.example>, size=1200, nrcpt=3 (queue active)
Dec  6 10:00:01 mx postfix/smtp[71]: 4F1C22A0B1: to=<jane.real@example.com>, orig_to=<jane@lists.example>, relay=mx.example.com[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.1.1, status=bounced (host mx.example.com[192.0.2.1] said: 550 5.1.1 <jane.real@example.com>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))
Dec  6 10:00:01 mx postfix/smtp[71]: 4F1C22A0B1: to=<bob@example.org>, relay=mx.example.org[192.0.2.2]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.7.1, status=bounced (host mx.example.org[192.0.2.2] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org (in reply to RCPT TO command))
2026-12-06T10:00:02.000000+00:00 mx postfix/smtp[72]: 4F1C22A0B1: to=<carol@example.net>, relay=none, delay=9, delays=0/0/9/0, dsn=4.4.1, status=deferred (connect to mx.example.net[192.0.2.3]:25: Connection timed out)
Dec  6 10:00:03 mx postfix/bounce[73]: 4F1C22A0B1: sender non-delivery notification: 5A0B1C2D3E
Dec  6 10:00:03 mx postfix/local[74]: 5A0B1C2D3E: to=<news@sender.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Dec  6 10:00:03 mx postfix/qmgr[55]: 5A0B1C2D3E: removed
Dec  6 10:00:04 mx postfix/smtp[71]: 6B7C8D9E0F: to=<dan@example.com>, relay=mx.example.com[192.0.2.1]:25, delay=0.3, delays=0/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1234)
Dec  6 10:00:05 mx dovecot[80]: imap(dan): Logged out
Dec  7 10:00:02 mx postfix/qmgr[55]: 4F1C22A0B1: from=<news@sender.example>, status=expired, returned to sender
Dec  7 10:00:02 mx postfix/qmgr[55]: 4F1C22A0B1: removed
",
    )
    .unwrap();
    // Read again, the log gives nothing new: it is read on from where the first read stopped.
    for (round, expected) in [(0, [11, 5, 6, 0]), (1, [0, 0, 0, 0])] {
        let out = rebound(&dir, &["ingest", "postfix", log.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            [&summary["records"], &summary["events"], &summary["skipped"], &summary["errors"]],
            expected,
            "round {round}: {summary}"
        );
        let out = rebound(&dir, &["export", "--format", "csv"]);
        let csv = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{csv}");
        assert!(rows[0].starts_with("jane@lists.example,hard_bounce,global,"), "{csv}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rebound ingest postfix --follow` reads a live log as it grows, finishes a rotated file (lines
/// written to it after the rename included) and goes on with the new one, and a follower started
/// again after a kill goes on from where the last one stopped: nothing lost, nothing read twice.
#[test]
fn ingest_postfix_follows_a_live_log_across_rotation_and_restart() {
    use std::io::Write;
    let dir = temp_dir("follow");
    let log = dir.join("mail.log");
    let bounce = |who: &str| {
        format!(
            "Dec  6 10:00:01 mx postfix/smtp[71]: 4F1C22A0{}: to=<{who}@example.com>, relay=mx.example.com[192.0.2.1]:25, \
delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.example.com[192.0.2.1] said: 550 5.1.1 <{who}@example.com>: \
user unknown (in reply to RCPT TO command))\n",
            who.len()
        )
    };
    let append = |path: &Path, text: &str| {
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    };
    let listed = |follower: &mut std::process::Child, address: &str| wait_listed(&dir, follower, address);
    let follow = || start(&dir, &["ingest", "postfix", "--follow", log.to_str().unwrap()]);

    // The database exists before the follower starts (two processes creating one file at once
    // would both run its migrations).
    assert!(rebound(&dir, &["export"]).status.success());
    append(&log, &bounce("first"));
    let mut follower = follow();
    listed(&mut follower, "first");
    append(&log, &format!("{}half a line", bounce("second")));
    listed(&mut follower, "second");
    append(&log, " of the third\n");
    std::fs::rename(&log, dir.join("mail.log.1")).unwrap();
    append(&dir.join("mail.log.1"), &bounce("late"));
    append(&log, &bounce("fresh"));
    listed(&mut follower, "late");
    listed(&mut follower, "fresh");
    follower.kill().unwrap();
    let _ = follower.wait();

    append(&log, &bounce("after"));
    let mut again = follow();
    listed(&mut again, "after");
    again.kill().unwrap();
    let out = again.wait_with_output().unwrap();
    let read = records_read(&out.stdout);
    assert_eq!(read, 1, "the restarted follower reads only the new line: {}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rebound ingest pmta --follow DIR` reads the accounting files of a directory as PowerMTA writes
/// them: records as they are appended (a record whose line end is not written yet waits for it),
/// the live file renamed by a rotation (records written to it after the rename included) and the
/// new live file; a follower killed and started again goes on from where the last one stopped.
#[test]
fn ingest_pmta_follows_a_directory_across_rotation_and_restart() {
    use std::io::Write;
    let dir = temp_dir("pmta-follow");
    let logs = dir.join("acct");
    std::fs::create_dir_all(&logs).unwrap();
    let live = logs.join("acct.csv");
    let header = "type,timeLogged,rcpt,dsnStatus,dsnDiag,vmta,jobId\n";
    let bounce =
        |who: &str| format!("b,2026-12-07 10:00:00+0000,{who}@example.com,5.1.1,smtp;550 5.1.1 user unknown,v,j\n");
    let append = |path: &Path, text: &str| {
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    };
    let listed = |follower: &mut std::process::Child, address: &str| wait_listed(&dir, follower, address);
    let follow = || start(&dir, &["ingest", "pmta", "--follow", logs.to_str().unwrap()]);

    assert!(rebound(&dir, &["export"]).status.success());
    append(&logs.join("acct-old.csv"), &format!("{header}{}", bounce("older")));
    append(&live, &format!("{header}{}", bounce("first")));
    let mut follower = follow();
    listed(&mut follower, "older");
    listed(&mut follower, "first");
    let second = bounce("second");
    let half = bounce("third");
    let (start_of_third, rest_of_third) = half.split_at(20);
    append(&live, &format!("{second}{start_of_third}"));
    listed(&mut follower, "second");
    append(&live, rest_of_third);
    std::fs::rename(&live, logs.join("acct-2026-12-07-1000.csv")).unwrap();
    append(&logs.join("acct-2026-12-07-1000.csv"), &bounce("late"));
    append(&live, &format!("{header}{}", bounce("fresh")));
    for who in ["third", "late", "fresh"] {
        listed(&mut follower, who);
    }
    follower.kill().unwrap();
    let _ = follower.wait();

    append(&live, &bounce("after"));
    let mut again = follow();
    listed(&mut again, "after");
    again.kill().unwrap();
    let out = again.wait_with_output().unwrap();
    let read = records_read(&out.stdout);
    assert_eq!(read, 1, "the restarted follower reads only the new record: {}", String::from_utf8_lossy(&out.stdout));
    let out = rebound(&dir, &["export"]);
    let listed: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect();
    assert_eq!(listed.len(), 7, "{listed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until `address@example.com` is on the list of the database in `dir`, failing when the
/// follower stops first or a minute passes.
fn wait_listed(dir: &Path, follower: &mut std::process::Child, address: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = rebound(dir, &["export"]);
        if String::from_utf8_lossy(&out.stdout).lines().any(|l| l == format!("{address}@example.com")) {
            return;
        }
        if let Some(status) = follower.try_wait().unwrap() {
            let mut said = String::new();
            std::io::Read::read_to_string(follower.stderr.as_mut().unwrap(), &mut said).unwrap();
            panic!("the follower stopped ({status}) before {address} was read: {said}");
        }
        assert!(std::time::Instant::now() < deadline, "{address} was never read");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The records a follower's summary lines say it read.
fn records_read(stdout: &[u8]) -> u64 {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["records"].as_u64().unwrap())
        .sum()
}

/// Two processes started together on a new data directory (a server and a command, say) both
/// open it: one creates and migrates the file while the other waits for the migration lock.
#[test]
fn processes_started_together_on_a_new_database_both_open_it() {
    for trial in 0..5 {
        let dir = temp_dir(&format!("together{trial}"));
        std::fs::remove_dir_all(&dir).unwrap();
        let (first, second) = (start(&dir, &["export"]), start(&dir, &["export"]));
        for child in [first, second] {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "trial {trial}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
