//! Input that once lost data, answered 5xx or turned into something else, on SQLite and PostgreSQL
//! alike: a NUL character in stored text (PostgreSQL cannot keep one in `TEXT`), an idempotency
//! key reused with a different payload, list entries that a spreadsheet would run as formulas, and
//! entries past their expiry (once shown as active, and made permanent by a text round trip).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, RawDatabase, TestServer};

on_both_backends!(
    a_nul_in_bounce_text_is_kept_byte_for_byte,
    a_nul_anywhere_else_is_refused_naming_the_field,
    an_idempotency_key_stands_for_one_payload,
    a_csv_export_runs_no_formula_and_reads_back_the_same,
    a_csv_round_trip_keeps_commas_quotes_and_line_breaks,
    errors_keep_their_shape_and_write_nothing,
    an_expired_entry_is_not_active_and_no_export_makes_it_permanent,
    addresses_nobody_could_have_mailed_are_refused_everywhere,
);

async fn mta(server: &TestServer) -> Api<'_> {
    Api::key(server, server.api_key("mta", &["events:write", "check"]).await)
}

/// The stored input of the newest event of `recipient`, as bytes, read from the database itself.
async fn stored_raw(server: &TestServer, recipient: &str) -> Vec<u8> {
    let mut db = RawDatabase::connect(&server.state.config.database).await;
    db.fetch_bytes(&format!("SELECT raw FROM events WHERE recipient = '{recipient}' ORDER BY id DESC LIMIT 1")).await
}

async fn a_nul_in_bounce_text_is_kept_byte_for_byte(server: &TestServer) {
    let api = mta(server).await;
    let mut batch: Vec<Value> = (0..99)
        .map(|i| json!({"recipient": format!("gone{i}@example.com"), "reply": "550 5.1.1 user unknown"}))
        .collect();
    let reply = "550 5.1.1 <nul@example.com>: user\0 unknown";
    batch.insert(50, json!({"recipient": "nul@example.com", "reply": reply}));
    let results = api.events(Value::Array(batch)).await;
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|r| r["outcome"]["effect"] == "suppressed"), "every hard bounce of the batch counts");
    assert!(api.suppressed("gone98@example.com", None).await);
    assert!(api.suppressed("nul@example.com", None).await);
    assert_eq!(stored_raw(server, "nul@example.com").await, reply.as_bytes());

    // A bounce email with a NUL and bytes that are not UTF-8, sent as it is.
    let mut email = b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n".to_vec();
    email.extend_from_slice(b"<binary@example.com>: 550 5.1.1 user unknown\r\nGr\xfc\xdfe \0 aus K\xf6ln\r\n");
    let response = api
        .request(reqwest::Method::POST, "/api/v1/events?recipient=binary@example.com")
        .header("Content-Type", "message/rfc822")
        .body(email.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    assert_eq!(stored_raw(server, "binary@example.com").await, email);

    // Shown as text through the API, the NUL intact.
    let admin = Api::admin(server).await;
    let id = results[50]["outcome"]["suppression_id"].as_i64().unwrap();
    let (status, detail) = admin.get(&format!("/api/v1/suppressions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["events"][0]["raw"], reply);
}

async fn a_nul_anywhere_else_is_refused_naming_the_field(server: &TestServer) {
    let api = mta(server).await;
    let admin = Api::admin(server).await;
    let refused = |(status, body): (StatusCode, Value), field: &str| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    };

    let batch = json!({"events": [
        {"recipient": "first@example.com", "reply": "550 5.1.1 user unknown"},
        {"recipient": "second@example.com", "reply": "550 5.1.1 user unknown", "idempotency_key": "k\u{0}1"},
    ]});
    refused(api.post("/api/v1/events", batch).await, "events[1].idempotency_key");
    assert!(!api.suppressed("first@example.com", None).await, "nothing of a refused batch is written");
    refused(
        api.post("/api/v1/events", json!({"recipient": "a@example.com", "kind": "hard", "campaign": "c\u{0}"})).await,
        "campaign",
    );

    refused(admin.post("/api/v1/suppressions", json!({"address": "n@example.com", "note": "a\u{0}b"})).await, "note");
    let (status, added) = admin.post("/api/v1/suppressions", json!({"address": "n@example.com", "note": "fine"})).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let lift = format!("/api/v1/suppressions/{}/lift", added["suppression"]["id"]);
    refused(admin.post(&lift, json!({"reason": "\u{0}"})).await, "reason");
    refused(admin.get("/api/v1/suppressions?q=n%00").await, "q");
    refused(admin.get("/api/v1/audit?actor=adm%00in").await, "actor");
    refused(admin.get("/api/v1/check?email=n%00@example.com").await, "email");
    refused(admin.post("/api/v1/users", json!({"username": "ol\u{0}ga", "role": "viewer"})).await, "username");
    refused(admin.post("/api/v1/keys", json!({"name": "k\u{0}", "scopes": ["check"]})).await, "name");
    refused(admin.post("/api/v1/webhooks", json!({"name": "ops", "url": "http://127.0.0.1/\u{0}"})).await, "url");
    refused(admin.post("/api/v1/pauses", json!({"scope": "all", "reason": "\u{0}"})).await, "reason");
    refused(
        Api::send(
            server.client().post(server.url("/api/v1/auth/login")).json(&json!({"username": "\u{0}", "password": "x"})),
        )
        .await,
        "username",
    );

    // An imported note with a NUL rejects its line, not the job.
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "csv"})).await;
    let csv = "email,note\nok@example.com,fine\nbad@example.com,\"a\0b\"\n";
    let (status, job) =
        Api::send(admin.request(reqwest::Method::PUT, &format!("/api/v1/imports/{}/data", job["id"])).body(csv)).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(
        (job["state"].as_str(), job["created"].as_i64(), job["rejected"].as_i64()),
        (Some("done"), Some(1), Some(1))
    );
    assert_eq!(job["rejected_lines"][0]["line"], 3);
}

async fn an_idempotency_key_stands_for_one_payload(server: &TestServer) {
    let api = mta(server).await;
    let first = json!({"recipient": "a@example.com", "reply": "550 5.1.1 user unknown", "idempotency_key": "m-1"});
    let sent = api.events(json!([first])).await;
    assert_eq!(sent[0]["duplicate"], false);

    // The same item again, fields in another order and spaced differently: the first answer.
    let body =
        r#"{ "events": [ {"idempotency_key":"m-1",  "reply":"550 5.1.1 user unknown","recipient":"a@example.com"} ] }"#;
    let (status, again) = Api::send(
        api.request(reqwest::Method::POST, "/api/v1/events").header("Content-Type", "application/json").body(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let again = &again["results"][0];
    assert_eq!((again["duplicate"].as_bool(), &again["event_id"]), (Some(true), &sent[0]["event_id"]));
    assert_eq!(
        (&again["recipient"], &again["verdict"], &again["outcome"]),
        (&sent[0]["recipient"], &sent[0]["verdict"], &sent[0]["outcome"])
    );

    // The same key for another address's bounce is a different event: 409, nothing written.
    let other = json!({"recipient": "b@example.com", "reply": "550 5.1.1 user unknown", "idempotency_key": "m-1"});
    let fresh = json!({"recipient": "c@example.com", "reply": "550 5.1.1 user unknown"});
    let (status, body) = api.post("/api/v1/events", json!({"events": [fresh, other]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    assert_eq!(body["error"]["field"], "events[1].idempotency_key");
    let (status, body) = api.post("/api/v1/events", other.clone()).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key")));
    assert!(!api.suppressed("b@example.com", None).await);
    assert!(!api.suppressed("c@example.com", None).await, "nothing of a refused batch is written");

    // Within one batch too.
    let one = json!({"recipient": "d@example.com", "kind": "hard", "idempotency_key": "m-2"});
    let two = json!({"recipient": "e@example.com", "kind": "hard", "idempotency_key": "m-2"});
    let (status, body) = api.post("/api/v1/events", json!({"events": [one, two]})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("events[1].idempotency_key")));
    let repeated = api.events(json!([one, one])).await;
    assert_eq!((repeated[0]["duplicate"].as_bool(), repeated[1]["duplicate"].as_bool()), (Some(false), Some(true)));
}

async fn a_csv_export_runs_no_formula_and_reads_back_the_same(server: &TestServer) {
    let admin = Api::admin(server).await;
    let note = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let (status, body) = admin.post("/api/v1/suppressions", json!({"address": "=1+1@example.com", "note": note})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response = admin.request(reqwest::Method::GET, "/api/v1/suppressions/export?format=csv").send().await.unwrap();
    let csv = response.text().await.unwrap();
    let line = csv.lines().find(|l| l.contains("1+1@")).unwrap();
    assert!(line.starts_with("'=1+1@example.com,"), "{line}");
    assert!(line.contains(r#""'=HYPERLINK(""http://evil.example"",""x"")""#), "{line}");
    assert!(!csv.lines().skip(1).any(|l| l.starts_with(['=', '+', '-', '@'])), "{csv}");

    // Imported again, the file names the same entry: nothing new, nothing rejected.
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "csv"})).await;
    let (status, job) =
        Api::send(admin.request(reqwest::Method::PUT, &format!("/api/v1/imports/{}/data", job["id"])).body(csv)).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(
        (job["created"].as_i64(), job["unchanged"].as_i64(), job["rejected"].as_i64()),
        (Some(0), Some(1), Some(0)),
        "{job}"
    );
}

/// An exported note with a comma, quotes and line breaks (LF and CRLF) imports back as the same
/// entry, and so does the same file with CRLF line ends and a byte-order mark, as spreadsheets
/// save it.
async fn a_csv_round_trip_keeps_commas_quotes_and_line_breaks(server: &TestServer) {
    let admin = Api::admin(server).await;
    let note = "called, said \"stop\"\nthen wrote again\r\non Monday";
    let (status, body) =
        admin.post("/api/v1/suppressions", json!({"address": "multi@example.com", "note": note})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response = admin.request(reqwest::Method::GET, "/api/v1/suppressions/export?format=csv").send().await.unwrap();
    let csv = response.text().await.unwrap();
    assert!(csv.contains("\"called, said \"\"stop\"\"\nthen wrote again\r\non Monday\""), "{csv}");
    let saved_by_a_spreadsheet = format!("\u{feff}{}", csv.replace("\r\n", "\n").replace('\n', "\r\n"));
    for file in [csv, saved_by_a_spreadsheet] {
        let (_, job) = admin.post("/api/v1/imports", json!({"format": "csv"})).await;
        let path = format!("/api/v1/imports/{}/data", job["id"]);
        let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file)).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(
            (job["created"].as_i64(), job["unchanged"].as_i64(), job["rejected"].as_i64()),
            (Some(0), Some(1), Some(0)),
            "{job}"
        );
    }
    let (_, page) = admin.get("/api/v1/suppressions?q=multi").await;
    assert_eq!(page["items"][0]["note"], note, "{page}");
}

async fn errors_keep_their_shape_and_write_nothing(server: &TestServer) {
    let api = mta(server).await;
    let body = r#"{"recipient": "tail@example.com", "kind": "hard"} and then some"#;
    let (status, error) = Api::send(
        api.request(reqwest::Method::POST, "/api/v1/events").header("Content-Type", "application/json").body(body),
    )
    .await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{error}");
    assert!(!api.suppressed("tail@example.com", None).await, "JSON followed by garbage writes nothing");

    let duplicate = r#"{"recipient": "a@example.com", "recipient": "b@example.com", "kind": "hard"}"#;
    let (status, error) = Api::send(
        api.request(reqwest::Method::POST, "/api/v1/events").header("Content-Type", "application/json").body(duplicate),
    )
    .await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("recipient")), "{error}");

    let long = format!("{}@example.com", "x".repeat(8_000));
    let (status, error) = api.post("/api/v1/events", json!({"recipient": long, "kind": "hard"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"]["message"].as_str().unwrap().len() < 300, "the value is not echoed whole: {error}");

    let (status, error) = api.get("/api").await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "/api is no console page"
    );
}

/// An entry past its expiry no longer applies: the list shows it as not active and `active=true`
/// leaves it out; exports leave it out like a lifted entry; the text format, which cannot carry an
/// expiry, leaves out every entry that has one, so a round trip never makes one permanent.
async fn an_expired_entry_is_not_active_and_no_export_makes_it_permanent(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "csv"})).await;
    let file = "address,reason,expires_at\n\
        past@example.com,manual,2020-01-01T00:00:00Z\n\
        later@example.com,manual,2099-01-01T00:00:00Z\n\
        always@example.com,manual,\n";
    let path = format!("/api/v1/imports/{}/data", job["id"]);
    let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file)).await;
    assert_eq!((status, job["created"].as_i64()), (StatusCode::OK, Some(3)), "{job}");

    let addresses = |page: &Value| -> Vec<(String, bool)> {
        let mut seen: Vec<(String, bool)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["address"].as_str().unwrap().to_owned(), s["active"].as_bool().unwrap()))
            .collect();
        seen.sort();
        seen
    };
    let (_, all) = admin.get("/api/v1/suppressions").await;
    let owned = |list: &[(&str, bool)]| list.iter().map(|(a, b)| ((*a).to_owned(), *b)).collect::<Vec<_>>();
    assert_eq!(
        addresses(&all),
        owned(&[("always@example.com", true), ("later@example.com", true), ("past@example.com", false)])
    );
    let (_, in_force) = admin.get("/api/v1/suppressions?active=true").await;
    assert_eq!(addresses(&in_force), owned(&[("always@example.com", true), ("later@example.com", true)]));
    let (_, not) = admin.get("/api/v1/suppressions?active=false").await;
    assert_eq!(addresses(&not), owned(&[("past@example.com", false)]));
    let id =
        all["items"].as_array().unwrap().iter().find(|s| s["address"] == "past@example.com").unwrap()["id"].clone();
    let (_, detail) = admin.get(&format!("/api/v1/suppressions/{id}")).await;
    assert_eq!(detail["suppression"]["active"], false, "{detail}");

    let export = |query: &'static str| {
        let request = admin.request(reqwest::Method::GET, &format!("/api/v1/suppressions/export{query}"));
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let text = export("").await;
    let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(listed, ["always@example.com"], "{text}");
    assert!(text.contains("Entries with an expiry are left out"), "{text}");
    let csv = export("?format=csv").await;
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[1].starts_with("later@example.com,") && rows[1].contains(",2099-01-01T00:00:00Z,true"), "{csv}");
    let csv = export("?format=csv&include_lifted=true").await;
    let past = csv.lines().find(|l| l.starts_with("past@example.com,")).unwrap();
    assert!(past.ends_with(",2020-01-01T00:00:00Z,false"), "{csv}");
    let mta = mta(server).await;
    assert!(!mta.suppressed("past@example.com", None).await);
    assert!(mta.suppressed("later@example.com", None).await);
}

/// One strict address parser behind every entry point: `a@b@c`, a literal that is no IP address
/// and a dotless domain are refused by the list, the check and events alike, naming the field;
/// an imported line that is not UTF-8 is rejected with its number instead of becoming `�@…`.
async fn addresses_nobody_could_have_mailed_are_refused_everywhere(server: &TestServer) {
    let admin = Api::admin(server).await;
    let mta = mta(server).await;
    for bad in ["a@b@example.com", "user@[not an ip]", "user@localhost"] {
        let (status, error) = admin.post("/api/v1/suppressions", json!({"address": bad})).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("address")),
            "{bad}: {error}"
        );
        let (status, error) = mta.get(&format!("/api/v1/check?email={}", crate::support::urlencode(bad))).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("email")),
            "{bad}: {error}"
        );
        let (status, error) = mta
            .post("/api/v1/events", json!({"events": [{"recipient": bad, "reply": "550 5.1.1 user unknown"}]}))
            .await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("events[0].recipient")),
            "{bad}: {error}"
        );
    }

    let (_, job) = admin.post("/api/v1/imports", json!({"format": "text"})).await;
    let path = format!("/api/v1/imports/{}/data", job["id"]);
    let mut file = b"good@example.com\n".to_vec();
    file.extend_from_slice(b"ren\xe9@example.com\n");
    let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file)).await;
    assert_eq!(
        (status, job["created"].as_i64(), job["rejected"].as_i64()),
        (StatusCode::OK, Some(1), Some(1)),
        "{job}"
    );
    assert_eq!(job["rejected_lines"][0]["line"], 2, "{job}");
    assert!(job["rejected_lines"][0]["error"].as_str().unwrap().contains("not UTF-8"), "{job}");
    let (_, list) = admin.get("/api/v1/suppressions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}
