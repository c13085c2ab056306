//! Recovery from a server that stopped mid-work, on SQLite and PostgreSQL: an import left
//! `running` by a stopped server is found, marked interrupted, and resumed from its last batch.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Api, RawDatabase, TestDatabase, TestServer};

on_both_backends!(database: an_import_whose_server_stopped_resumes_after_its_last_batch);

/// An import whose server stopped mid-file (left `running`, not updated since) is marked
/// `interrupted` when a server starts; the same file uploaded again resumes it after the lines its
/// committed batches covered, and its counts go on from there: nothing imported twice or lost.
async fn an_import_whose_server_stopped_resumes_after_its_last_batch(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = Api::admin(&server).await;
    let file: String = (0..5_000).map(|i| format!("user{i}@example.com\n")).collect();
    let first_part: String = file.lines().take(3_000).map(|l| format!("{l}\n")).collect();
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "text"})).await;
    let id = job["id"].as_i64().unwrap();
    let path = format!("/api/v1/imports/{id}/data");
    let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(first_part)).await;
    assert_eq!((status, job["lines"].as_i64(), job["created"].as_i64()), (StatusCode::OK, Some(3_000), Some(3_000)));

    // The server stops for good while the job is running: its row says `running`, last updated
    // long ago, with the progress of the batches it committed.
    let mut raw = RawDatabase::connect(&db.database).await;
    raw.execute(&format!("UPDATE import_jobs SET state = 'running', updated_at = 0, error = NULL WHERE id = {id}"))
        .await
        .unwrap();
    let (status, refused) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "a running job takes no second upload: {refused}");
    let restarted = TestServer::replica(db, None).await;
    let admin = Api::admin(&restarted).await;
    let (_, job) = admin.get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(job["error"].as_str().unwrap().contains("upload the same file again"), "{job}");

    let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file.clone())).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(
        (job["state"].as_str(), job["lines"].as_i64(), job["created"].as_i64(), job["unchanged"].as_i64()),
        (Some("done"), Some(5_000), Some(5_000), Some(0)),
        "{job}"
    );
    let (_, last) = admin.get("/api/v1/suppressions?q=user4999@").await;
    assert_eq!(last["items"][0]["source"], format!("import:{id}"), "{last}");
    let (status, _) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file)).await;
    assert_eq!(status, StatusCode::CONFLICT, "a finished import takes no more data");
}
