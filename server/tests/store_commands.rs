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
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at row 1"));

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
