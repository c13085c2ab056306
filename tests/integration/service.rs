//! The suppression service over a real socket, on SQLite and PostgreSQL: events and the policy,
//! the pre-send check, the list (never deleted), the audit chain, settings, keys and roles.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, TestServer, error_of, urlencode};

on_both_backends!(
    events_apply_the_policy,
    soft_bounces_escalate_and_deliveries_reset_them,
    retried_events_are_counted_once,
    a_bad_item_refuses_the_whole_batch,
    bounce_emails_are_read_and_paired_with_their_recipients,
    suppressions_are_lifted_reopened_and_never_deleted,
    complaints_need_a_confirmation_to_lift,
    checks_cover_domains_case_and_scopes,
    the_list_pages_by_cursor_and_searches_by_prefix,
    the_audit_chain_verifies_and_the_database_refuses_edits,
    settings_are_validated_applied_and_audited,
    roles_and_key_scopes_are_enforced,
    imports_stream_in_batches_and_report_rejected_lines,
    custom_rules_are_previewed_validated_and_applied,
    a_misfiring_cause_is_undone_in_one_previewed_operation,
    reevaluation_is_explicit_previewed_and_audited,
    staff_accounts_are_managed_and_audited,
    accounts_and_keys_page_by_cursor,
    a_large_import_crosses_batch_and_statement_boundaries,
    a_batch_sees_its_own_earlier_events,
    the_address_the_sender_mailed_is_the_one_suppressed,
    unexplained_permanent_failures_escalate_like_soft_bounces,
    unexplained_verdicts_are_grouped_by_what_they_say,
    the_change_feed_tells_every_change_in_order,
    windows_expiries_and_sessions_follow_the_servers_clock,
);

async fn mta(server: &TestServer) -> Api<'_> {
    Api::key(server, server.api_key("mta", &["events:write", "check"]).await)
}

async fn events_apply_the_policy(server: &TestServer) {
    let api = mta(server).await;
    let results = api
        .events(json!([
            {"recipient": "gone@example.com", "reply": "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"},
            {"recipient": "fine@example.com", "reply": "550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using Spamhaus"},
            {"recipient": "angry@example.com", "kind": "complaint"},
            {"recipient": "leaving@example.com", "kind": "unsubscribe", "stream": "newsletter"},
            {"recipient": "trap@example.com", "spam_trap": true},
            {"recipient": "ok@example.com", "kind": "delivered"},
        ]))
        .await;
    let effects: Vec<&str> = results.iter().map(|r| r["outcome"]["effect"].as_str().unwrap()).collect();
    assert_eq!(effects, ["suppressed", "nothing", "suppressed", "suppressed", "suppressed", "nothing"]);
    assert_eq!(results[0]["verdict"]["kind"], "hard");
    assert_eq!(results[0]["outcome"]["reason"], "hard_bounce");
    assert_eq!(results[1]["verdict"]["kind"], "block");
    assert_eq!(results[2]["outcome"]["reason"], "complaint");
    assert_eq!(results[3]["outcome"]["scope"], "newsletter");
    assert_eq!(results[4]["outcome"]["reason"], "spam_trap");

    assert!(api.suppressed("gone@example.com", None).await);
    assert!(!api.suppressed("fine@example.com", None).await, "a block never suppresses the recipient");
    assert!(api.suppressed("angry@example.com", None).await);
    assert!(!api.suppressed("leaving@example.com", None).await, "an unsubscribe is scoped to its stream");
    assert!(api.suppressed("leaving@example.com", Some("newsletter")).await);
    assert!(api.suppressed("trap@example.com", None).await);
    assert!(!api.suppressed("ok@example.com", None).await);

    // A second hard bounce for the same address is evidence, not a second entry.
    let again = api.events(json!([{"recipient": "GONE@example.com", "reply": "550 5.1.1 user unknown"}])).await;
    assert_eq!(again[0]["outcome"]["effect"], "already_suppressed");
    assert_eq!(again[0]["outcome"]["suppression_id"], results[0]["outcome"]["suppression_id"]);
}

async fn soft_bounces_escalate_and_deliveries_reset_them(server: &TestServer) {
    let api = mta(server).await;
    let soft = json!({"recipient": "full@example.com", "reply": "452 4.2.2 Mailbox full"});
    let delivered = json!({"recipient": "full@example.com", "kind": "delivered"});
    let effects = |results: Vec<Value>| -> Vec<String> {
        results.iter().map(|r| r["outcome"]["effect"].as_str().unwrap().to_owned()).collect()
    };
    let first = api.events(json!([soft, soft, delivered, soft, soft])).await;
    assert_eq!(effects(first.clone()), ["counted", "counted", "nothing", "counted", "counted"]);
    assert_eq!(first[4]["outcome"]["count"], 2, "the delivery restarted the count");
    assert_eq!(first[4]["outcome"]["threshold"], 3);
    assert!(!api.suppressed("full@example.com", None).await);
    let third = api.events(json!([soft])).await;
    assert_eq!(third[0]["outcome"]["effect"], "suppressed");
    assert_eq!(third[0]["outcome"]["reason"], "soft_bounce_exhausted");
    assert!(api.suppressed("full@example.com", None).await);
}

async fn retried_events_are_counted_once(server: &TestServer) {
    let api = mta(server).await;
    let event =
        json!({"recipient": "slow@example.com", "reply": "421 4.4.2 Connection timed out", "idempotency_key": "msg-1"});
    let first = api.events(json!([event])).await;
    let second = api.events(json!([event, event])).await;
    assert_eq!(first[0]["duplicate"], false);
    for retry in &second {
        assert_eq!(retry["duplicate"], true);
        assert_eq!(retry["event_id"], first[0]["event_id"]);
    }
    let other = api.events(json!([{"recipient": "slow@example.com", "reply": "421 4.4.2 timeout"}])).await;
    assert_eq!(other[0]["outcome"]["count"], 2, "the retried webhook counted once");
}

async fn a_bad_item_refuses_the_whole_batch(server: &TestServer) {
    let api = mta(server).await;
    let (status, body) = api
        .post(
            "/api/v1/events",
            json!({"events": [
                {"recipient": "a@example.com", "reply": "550 5.1.1 user unknown"},
                {"recipient": "b@example.com", "kind": "complaint"},
                {"recipient": "not an address", "kind": "complaint"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "events[2].recipient");
    assert!(!api.suppressed("a@example.com", None).await, "nothing of a refused batch is written");

    let cases = [
        (json!({"recipient": "a@example.com"}), "reply"),
        (json!({"recipient": "a@example.com", "reply": "550", "kind": "hard"}), "reply"),
        (json!({"reply": "550 5.1.1 unknown"}), "recipient"),
        (json!({"recipient": "a@example.com", "kind": "sideways"}), "kind"),
        (json!({"recipient": "a@example.com", "kind": "hard", "sending_ip": "300.1.1.1"}), "sending_ip"),
        (json!({"recipient": "a@example.com", "kind": "hard", "stream": "no spaces please"}), "stream"),
        (json!({"message_base64": "%%%"}), "message_base64"),
        (json!({"recipient": "a@example.com", "kind": "hard", "reason": "mailbox_full"}), "reason"),
        (json!({"recipient": "a@example.com", "kind": "complaint", "reason": "user_unknown"}), "reason"),
    ];
    for (item, field) in cases {
        let (status, body) = api.post("/api/v1/events", item.clone()).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{item}");
    }
    let (status, body) = api.post("/api/v1/events", json!({"events": []})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("events")));
    let agreed = api.events(json!([{"recipient": "d@example.com", "kind": "soft", "reason": "mailbox_full"}])).await;
    assert_eq!(agreed[0]["verdict"]["reason"], "mailbox_full", "a pair the kind table agrees with is taken");
}

const DSN: &str = "From: MAILER-DAEMON@mx.example.net\r\n\
To: sender@example.org\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.net\r\n\
\r\n\
Final-Recipient: rfc822; first@example.com\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <first@example.com>: Recipient address rejected: User unknown\r\n\
\r\n\
Final-Recipient: rfc822; second@example.com\r\n\
Action: failed\r\n\
Status: 5.2.2\r\n\
Diagnostic-Code: smtp; 552 5.2.2 <second@example.com>: Mailbox full\r\n\
--B--\r\n";

async fn bounce_emails_are_read_and_paired_with_their_recipients(server: &TestServer) {
    let api = mta(server).await;
    let response = api
        .request(reqwest::Method::POST, "/api/v1/events?source=mailbox&idempotency_key=dsn-1")
        .header("Content-Type", "message/rfc822")
        .body(DSN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["recipient"], "first@example.com");
    assert_eq!(results[0]["outcome"]["effect"], "suppressed");
    assert_eq!(results[1]["recipient"], "second@example.com");
    assert_eq!(results[1]["verdict"]["kind"], "soft");
    assert_eq!(results[1]["outcome"]["effect"], "counted");

    let (_, base64) = ("", base64_encode(DSN.as_bytes()));
    let again = api.events(json!([{"message_base64": base64, "idempotency_key": "dsn-1", "source": "mailbox"}])).await;
    assert!(again.iter().all(|r| r["duplicate"] == true), "{again:?}");

    let (_, detail) = Api::admin(server)
        .await
        .get(&format!("/api/v1/suppressions/{}", results[0]["outcome"]["suppression_id"]))
        .await;
    assert_eq!(detail["suppression"]["source"], "mailbox");
    assert!(detail["events"][0]["raw"].as_str().unwrap().contains("Final-Recipient"));
    assert_eq!(detail["events"][0]["input"], "message", "a bounce email can be read again later");
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn suppressions_are_lifted_reopened_and_never_deleted(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (status, added) =
        admin.post("/api/v1/suppressions", json!({"address": "Jane@Example.COM", "note": "asked by phone"})).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["change"], "created");
    let entry = &added["suppression"];
    assert_eq!(entry["address"], "Jane@example.com");
    assert_eq!(entry["reason"], "manual");
    assert_eq!(entry["source"], "console");
    let id = entry["id"].as_i64().unwrap();

    let (status, same) = admin.post("/api/v1/suppressions", json!({"address": "jane@example.com"})).await;
    assert_eq!((status, same["change"].as_str()), (StatusCode::OK, Some("unchanged")));

    let lift_path = format!("/api/v1/suppressions/{id}/lift");
    let (status, body) = admin.post(&lift_path, json!({"reason": "  "})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, lifted) = admin.post(&lift_path, json!({"reason": "confirmed valid by the customer"})).await;
    assert_eq!(status, StatusCode::OK, "{lifted}");
    assert_eq!(lifted["active"], false);
    assert_eq!(lifted["lifted_by"], "user:admin");
    assert_eq!(lifted["lift_reason"], "confirmed valid by the customer");
    let (status, body) = admin.post(&lift_path, json!({"reason": "again"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_active")));

    let checker = mta(server).await;
    assert!(!checker.suppressed("jane@example.com", None).await);
    let reopened = checker.events(json!([{"recipient": "jane@example.com", "reply": "550 5.1.1 No such user"}])).await;
    assert_eq!(reopened[0]["outcome"]["effect"], "suppressed");
    assert_eq!(reopened[0]["outcome"]["reopened"], true);
    assert_eq!(reopened[0]["outcome"]["suppression_id"], id);
    assert!(checker.suppressed("jane@example.com", None).await);

    let (_, detail) = admin.get(&format!("/api/v1/suppressions/{id}")).await;
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["suppression.reopen", "suppression.lift", "suppression.add"]);
    assert_eq!(detail["history"][1]["reason"], "confirmed valid by the customer");
    // The event came with the `mta` key: the audit row names it (by id, then name), and the event that caused it.
    let (_, keys) = admin.get("/api/v1/keys").await;
    let key = keys["items"].as_array().unwrap().iter().find(|k| k["name"] == "mta").expect("the mta key is listed");
    assert_eq!(detail["history"][0]["actor"], format!("key:{}:mta", key["id"]));
    let cause = detail["history"][0]["reason"].as_str().unwrap();
    let event = reopened[0]["event_id"].as_i64().unwrap();
    assert!(cause.starts_with(&format!("event {event} from ")), "{cause}");
    assert_eq!(detail["events"].as_array().unwrap().len(), 1);
    assert_eq!(detail["suppression"]["reason"], "hard_bounce");

    let (status, _) = admin.get("/api/v1/suppressions/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn complaints_need_a_confirmation_to_lift(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (_, added) =
        admin.post("/api/v1/suppressions", json!({"address": "a@example.com", "reason": "complaint"})).await;
    let path = format!("/api/v1/suppressions/{}/lift", added["suppression"]["id"]);
    let (status, body) = admin.post(&path, json!({"reason": "re-subscribed"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "confirmation_required");
    assert_eq!(body["error"]["field"], "confirm_complaint");
    let (status, _) = admin.post(&path, json!({"reason": "re-subscribed", "confirm_complaint": true})).await;
    assert_eq!(status, StatusCode::OK);

    // A complaint about an address already suppressed for another reason escalates the entry.
    let (_, hard) =
        admin.post("/api/v1/suppressions", json!({"address": "b@example.com", "reason": "hard_bounce"})).await;
    let api = mta(server).await;
    let results = api.events(json!([{"recipient": "b@example.com", "kind": "complaint"}])).await;
    assert_eq!(results[0]["outcome"]["effect"], "suppressed");
    let (_, detail) = admin.get(&format!("/api/v1/suppressions/{}", hard["suppression"]["id"])).await;
    assert_eq!(detail["suppression"]["reason"], "complaint");
    assert_eq!(detail["history"][0]["action"], "suppression.escalate");
}

async fn checks_cover_domains_case_and_scopes(server: &TestServer) {
    let admin = Api::admin(server).await;
    for body in [
        json!({"address": "@Dead-Domain.example"}),
        json!({"address": "anna@bücher.example"}),
        json!({"address": "promo-only@example.com", "scope": "promotions"}),
        json!({"address": "later@example.com", "expires_at": 4_000_000_000_i64}),
    ] {
        let (status, added) = admin.post("/api/v1/suppressions", body).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
    }
    let api = mta(server).await;
    assert!(api.suppressed("anyone@dead-domain.example", None).await);
    assert!(api.suppressed("ANNA@xn--bcher-kva.example", None).await);
    assert!(!api.suppressed("promo-only@example.com", None).await);
    assert!(api.suppressed("promo-only@example.com", Some("promotions")).await);
    assert!(api.suppressed("later@example.com", None).await);

    let (status, body) = api
        .post(
            "/api/v1/check",
            json!({"emails": ["x@dead-domain.example", "free@example.com", "junk address"], "scope": "promotions"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["suppressed"], true);
    assert_eq!(results[0]["hits"][0]["domain_wide"], true);
    assert_eq!(results[1]["suppressed"], false);
    assert_eq!(results[2]["suppressed"], true, "an unreadable address fails closed");
    assert!(results[2]["error"].is_string());

    let (status, body) = api.get("/api/v1/check?email=not%20an%20address").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    let too_many: Vec<String> = (0..10_001).map(|i| format!("u{i}@example.com")).collect();
    let (status, body) = api.post("/api/v1/check", json!({ "emails": too_many })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("emails")));
}

async fn the_list_pages_by_cursor_and_searches_by_prefix(server: &TestServer) {
    let admin = Api::admin(server).await;
    for i in 0..7 {
        let reason = if i % 2 == 0 { "manual" } else { "invalid" };
        admin.post("/api/v1/suppressions", json!({"address": format!("user{i}@list.example"), "reason": reason})).await;
    }
    admin.post("/api/v1/suppressions", json!({"address": "other@else.example"})).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/suppressions?limit=3".to_owned();
    loop {
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|s| s["address"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/suppressions?limit=3&cursor={}", urlencode(cursor)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0], "other@else.example", "newest first");

    let (_, page) = admin.get("/api/v1/suppressions?q=USER1&limit=10").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = admin.get("/api/v1/suppressions?q=user&limit=4").await;
    let first: Vec<&str> = page["items"].as_array().unwrap().iter().map(|s| s["address"].as_str().unwrap()).collect();
    assert_eq!(first, ["user0@list.example", "user1@list.example", "user2@list.example", "user3@list.example"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = admin.get(&format!("/api/v1/suppressions?q=user&limit=4&cursor={}", urlencode(cursor))).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["next_cursor"].is_null());

    let (_, page) = admin.get("/api/v1/suppressions?reason=invalid&domain=LIST.example").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (status, body) = admin.get("/api/v1/suppressions?limit=0").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    let (status, body) = admin.get("/api/v1/suppressions?reason=bored").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, body) = admin.get("/api/v1/suppressions?cursor=zzz").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("cursor")));
}

async fn the_audit_chain_verifies_and_the_database_refuses_edits(server: &TestServer) {
    let admin = Api::admin(server).await;
    for i in 0..5 {
        admin.post("/api/v1/suppressions", json!({"address": format!("a{i}@example.com")})).await;
    }
    let (_, verification) = admin.get("/api/v1/audit/verify").await;
    assert_eq!(
        verification,
        json!({"ok": true, "rows": 6, "first_bad_id": null, "missing_guards": []}),
        "the admin's creation and 5 adds"
    );
    let (_, page) = admin.get("/api/v1/audit?action=suppression&limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["action"], "suppression.add");
    assert_eq!(page["items"][0]["target"], "global:a4@example.com");

    let mut db = crate::support::RawDatabase::connect(&server.state.config.database).await;
    for statement in
        ["UPDATE audit_log SET actor = 'user:mallory'", "DELETE FROM audit_log", "DELETE FROM suppressions"]
    {
        let error = db.execute(statement).await.expect_err(statement);
        assert!(error.contains("append-only") || error.contains("never deleted"), "{statement}: {error}");
    }

    // Someone with the database drops a guard: the chain still holds, but the check says the log
    // can be rewritten now (and a server would not start on it: server/tests/store_commands.rs).
    let drop = match server.state.config.database {
        rebound_server::config::Database::Sqlite(_) => "DROP TRIGGER suppressions_never_deleted",
        rebound_server::config::Database::Postgres(_) => "DROP TRIGGER suppressions_never_deleted ON suppressions",
    };
    db.execute(drop).await.unwrap();
    let (_, verification) = admin.get("/api/v1/audit/verify").await;
    assert_eq!(
        verification,
        json!({"ok": false, "rows": 6, "first_bad_id": null, "missing_guards": ["suppressions_never_deleted"]})
    );
}

async fn settings_are_validated_applied_and_audited(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (status, policy) = admin.get("/api/v1/settings/policy").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["soft_threshold"], 3);
    assert_eq!(policy["soft_window_days"], 30);

    let (status, body) = admin.put("/api/v1/settings/policy", json!({"soft_threshold": 0})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("soft_threshold")));
    let (status, body) = admin.put("/api/v1/settings/policy", json!({"kinds": {"mailbox_full": "sideways"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "kinds.mailbox_full");

    let (status, _) = admin
        .put(
            "/api/v1/settings/policy",
            json!({"soft_overrides": [{"reason": "mailbox_full", "threshold": 1, "window_days": 7}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let api = mta(server).await;
    let results = api.events(json!([{"recipient": "full@example.com", "reply": "452 4.2.2 Mailbox full"}])).await;
    assert_eq!(results[0]["outcome"]["effect"], "suppressed", "the new policy applies to the next event");

    let (status, _) = admin.put("/api/v1/settings/policy", json!({"kinds": {"blocked": "hard"}})).await;
    assert_eq!(status, StatusCode::OK);
    let results =
        api.events(json!([{"recipient": "x@example.com", "reply": "550 5.7.1 blocked using spamhaus"}])).await;
    assert_eq!(results[0]["verdict"]["kind"], "hard", "the kind table is the policy's");

    let (_, page) = admin.get("/api/v1/audit?action=settings.update").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["before"]["soft_threshold"], 3);
    assert_eq!(items[1]["after"]["soft_overrides"][0]["threshold"], 1);
}

async fn roles_and_key_scopes_are_enforced(server: &TestServer) {
    let viewer =
        Api { server, client: server.client_with_role("vera", rebound_api::v1::Role::Viewer).await, token: None };
    let (status, _) = viewer.get("/api/v1/suppressions").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = viewer.post("/api/v1/suppressions", json!({"address": "a@example.com"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, _) = viewer.put("/api/v1/settings/policy", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let operator =
        Api { server, client: server.client_with_role("otto", rebound_api::v1::Role::Operator).await, token: None };
    let (status, _) = operator.post("/api/v1/suppressions", json!({"address": "a@example.com"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = operator.get("/api/v1/keys").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let checker = Api::key(server, server.api_key("checker", &["check"]).await);
    assert!(checker.suppressed("a@example.com", None).await);
    let (status, _) = checker.post("/api/v1/events", json!({"recipient": "b@example.com", "kind": "hard"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = checker.get("/api/v1/suppressions").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = Api::admin(server).await;
    let (_, keys) = admin.get("/api/v1/keys").await;
    let key = keys["items"].as_array().unwrap().iter().find(|k| k["name"] == "checker").unwrap();
    assert!(key.get("token").is_none(), "tokens are shown once, at creation");
    let (status, _) = admin.post(&format!("/api/v1/keys/{}/revoke", key["id"]), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = checker.get("/api/v1/check?email=a@example.com").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));

    let stranger = Api::key(server, "rb_0000".to_owned());
    let (status, _) = stranger.get("/api/v1/check?email=a@example.com").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let anonymous = reqwest::get(server.url("/api/v1/check?email=a@example.com")).await.unwrap();
    let (status, _) = error_of(anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn imports_stream_in_batches_and_report_rejected_lines(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (status, job) = admin.post("/api/v1/imports", json!({"format": "text", "reason": "invalid"})).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["state"], "waiting");
    let id = job["id"].as_i64().unwrap();
    let mut file = String::from("# exported from the old system\n\nfirst@example.com\nnot an address\n");
    file.push_str("Second@Example.com\r\nsecond@example.com\n@whole-domain.example\n");
    file.push_str(&format!("{}@example.com\n", "x".repeat(5_000)));
    file.push_str("last@example.com");
    let response = admin
        .request(reqwest::Method::PUT, &format!("/api/v1/imports/{id}/data"))
        .header("Content-Type", "text/plain")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["lines"], 9);
    assert_eq!(job["created"], 4);
    assert_eq!(job["unchanged"], 1, "the repeated address");
    assert_eq!(job["rejected"], 2);
    let rejected: Vec<i64> =
        job["rejected_lines"].as_array().unwrap().iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(rejected, [4, 8]);

    let (_, shown) = admin.get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(shown["created"], 4);
    let (status, body) =
        Api::send(admin.request(reqwest::Method::PUT, &format!("/api/v1/imports/{id}/data")).body("again@example.com"))
            .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("import_started")));

    let api = mta(server).await;
    assert!(api.suppressed("SECOND@example.com", None).await);
    assert!(api.suppressed("anyone@whole-domain.example", None).await);
    let (_, page) = admin.get("/api/v1/suppressions?q=first").await;
    assert_eq!(page["items"][0]["reason"], "invalid");
    assert_eq!(page["items"][0]["source"], format!("import:{id}"));

    // CSV with its own columns; an already active address is left alone.
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "csv"})).await;
    let csv = "email,reason,scope,note\nfirst@example.com,complaint,,\n\"new@example.com\",unsubscribe,news,\"said \"\"stop\"\"\"\nbad@example.com,bored,,\n";
    let (status, job) =
        Api::send(admin.request(reqwest::Method::PUT, &format!("/api/v1/imports/{}/data", job["id"])).body(csv)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (job["created"].as_i64(), job["unchanged"].as_i64(), job["rejected"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert!(api.suppressed("new@example.com", Some("news")).await);
    assert!(!api.suppressed("new@example.com", None).await);

    let response = admin.request(reqwest::Method::GET, "/api/v1/suppressions/export?format=csv").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "address,reason,scope,source,note,created_at,expires_at,active");
    assert_eq!(lines.len(), 6, "{text}");
    assert!(text.contains("new@example.com,unsubscribe,news,"), "{text}");
    assert!(text.contains(r#""said ""stop""""#), "{text}");
    let response = admin.request(reqwest::Method::GET, "/api/v1/suppressions/export").send().await.unwrap();
    let text = response.text().await.unwrap();
    assert!(text.starts_with("# Rebound suppression list"));
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 5);

    let (_, audit) = admin.get("/api/v1/audit?action=suppression.import").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    assert_eq!(audit["items"][1]["after"]["created"], 4);
}

/// Waits (up to a generous bound, polling) until `email`'s check answers `expected`.
async fn until_checked(api: &Api<'_>, email: &str, expected: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api.suppressed(email, None).await != expected {
        assert!(std::time::Instant::now() < deadline, "{email} never became suppressed={expected}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_see_each_others_changes() {
    replicas_see_each_others_changes(crate::support::Backend::Postgres).await;
}

/// On SQLite the other writer is the command line (`rebound import`, `rebound ingest`) writing to
/// the file the server serves: the server's index learns of it from the polled change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_on_one_file_see_each_others_changes() {
    replicas_see_each_others_changes(crate::support::Backend::Sqlite).await;
}

async fn replicas_see_each_others_changes(backend: crate::support::Backend) {
    use crate::support::TestDatabase;
    let Some(db) = TestDatabase::create(backend).await else {
        eprintln!("PostgreSQL left out: REBOUND_SKIP_POSTGRES=1");
        return;
    };
    let a = TestServer::start(&db, None).await;
    let b = TestServer::replica(&db, None).await;
    let token = a.api_key("mta", &["events:write", "check", "suppressions:write"]).await;
    let (on_a, on_b) = (Api::key(&a, token.clone()), Api::key(&b, token));

    assert!(!on_b.suppressed("gone@example.com", None).await);
    let results = on_a.events(json!([{"recipient": "gone@example.com", "reply": "550 5.1.1 user unknown"}])).await;
    until_checked(&on_b, "gone@example.com", true).await;

    let lift = format!("/api/v1/suppressions/{}/lift", results[0]["outcome"]["suppression_id"]);
    let (status, _) = on_b.post(&lift, json!({"reason": "confirmed valid"})).await;
    assert_eq!(status, StatusCode::OK);
    until_checked(&on_a, "gone@example.com", false).await;

    let (_, job) = on_b.post("/api/v1/imports", json!({"format": "text"})).await;
    let path = format!("/api/v1/imports/{}/data", job["id"]);
    let (status, _) = Api::send(on_b.request(reqwest::Method::PUT, &path).body("imported@example.com\n")).await;
    assert_eq!(status, StatusCode::OK);
    until_checked(&on_a, "imported@example.com", true).await;

    // Both replicas tell one feed, in commit order, whichever of them made each change; a long
    // poll on one is ended by a change made on the other.
    let (_, from_a) = on_a.get("/api/v1/suppressions/changes").await;
    let (_, from_b) = on_b.get("/api/v1/suppressions/changes").await;
    assert_eq!(from_a, from_b);
    let changes: Vec<&str> =
        from_a["items"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(changes, ["added", "lifted", "added"], "{from_a}");
    let next = from_a["next"].as_i64().unwrap();
    let poll_path = format!("/api/v1/suppressions/changes?after={next}&wait=20");
    let (poll, ()) = tokio::join!(on_b.get(&poll_path), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        on_a.events(json!([{"recipient": "late@example.com", "reply": "550 5.1.1 user unknown"}])).await;
    });
    assert_eq!(poll.1["items"][0]["address"], "late@example.com", "{}", poll.1);

    drop((a, b));
    db.drop_database().await;
}

/// The change feed of the list: every way an entry changes (an event, a staff add and lift, a
/// complaint escalating an entry, an import reopening a lifted one), in order, paged by `after`,
/// and a long poll that an answer ends early.
async fn the_change_feed_tells_every_change_in_order(server: &TestServer) {
    let api = mta(server).await;
    let admin = Api::admin(server).await;
    let reader = Api::key(server, server.api_key("follower", &["suppressions:read"]).await);
    let (status, empty) = reader.get("/api/v1/suppressions/changes").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!((empty["items"].as_array().map(Vec::len), empty["next"].as_i64()), (Some(0), Some(0)));

    let results = api.events(json!([{"recipient": "gone@example.com", "reply": "550 5.1.1 user unknown"}])).await;
    let (_, added) = admin.post("/api/v1/suppressions", json!({"address": "staff@example.com", "note": "asked"})).await;
    api.events(json!([{"recipient": "gone@example.com", "kind": "complaint"}])).await;
    let (status, _) = admin
        .post(&format!("/api/v1/suppressions/{}/lift", added["suppression"]["id"]), json!({"reason": "mistake"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "text"})).await;
    let path = format!("/api/v1/imports/{}/data", job["id"]);
    let (status, _) = Api::send(admin.request(reqwest::Method::PUT, &path).body("staff@example.com\n")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, second_job) = admin.post("/api/v1/imports", json!({"format": "text"})).await;
    let path = format!("/api/v1/imports/{}/data", second_job["id"]);
    let (status, _) = Api::send(admin.request(reqwest::Method::PUT, &path).body("new@example.com\n")).await;
    assert_eq!(status, StatusCode::OK);

    let (_, feed) = reader.get("/api/v1/suppressions/changes").await;
    let seen: Vec<(String, String, String)> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().into(),
                c["address"].as_str().unwrap().into(),
                c["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("added", "gone@example.com", "hard_bounce"),
        ("added", "staff@example.com", "manual"),
        ("escalated", "gone@example.com", "complaint"),
        ("lifted", "staff@example.com", "manual"),
        ("reopened", "staff@example.com", "manual"),
        ("added", "new@example.com", "manual"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(seen, expected, "{feed}");
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items[0]["suppression_id"], results[0]["outcome"]["suppression_id"]);
    // Who caused each change: the key that sent the events (by id and name), the staff user, the import job.
    let (_, keys) = admin.get("/api/v1/keys").await;
    let key = keys["items"].as_array().unwrap().iter().find(|k| k["name"] == "mta").expect("the mta key is listed");
    let by_key = format!("key:{}:mta", key["id"]);
    assert_eq!(items[0]["actor"], by_key.as_str(), "{feed}");
    assert_eq!(items[1]["actor"], "user:admin", "{feed}");
    assert_eq!(items[2]["actor"], by_key.as_str(), "an escalation names who sent the complaint: {feed}");
    assert_eq!(items[3]["actor"], "user:admin", "a lift names who lifted: {feed}");
    assert_eq!(items[4]["actor"], format!("import:{}", job["id"]), "{feed}");
    let sequences: Vec<i64> = items.iter().map(|c| c["sequence"].as_i64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert_eq!(feed["next"].as_i64(), sequences.last().copied());

    // Paged: two at a time from the start gives the same changes.
    let (_, first) = reader.get("/api/v1/suppressions/changes?limit=2").await;
    let (_, second) = reader.get(&format!("/api/v1/suppressions/changes?limit=2&after={}", first["next"])).await;
    assert_eq!(second["items"][0]["sequence"].as_i64(), Some(sequences[2]), "{second}");

    // A long poll with nothing new waits, and a change ends it early.
    let next = feed["next"].as_i64().unwrap();
    let started = std::time::Instant::now();
    let poll_path = format!("/api/v1/suppressions/changes?after={next}&wait=20");
    let (poll, ()) = tokio::join!(reader.get(&poll_path), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        api.events(json!([{"recipient": "late@example.com", "reply": "550 5.1.1 user unknown"}])).await;
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "the change ended the wait");
    assert_eq!(poll.1["items"][0]["address"], "late@example.com", "{}", poll.1);
    let (_, quiet) = reader.get(&format!("/api/v1/suppressions/changes?after={}&wait=1", poll.1["next"])).await;
    assert_eq!(quiet["items"].as_array().map(Vec::len), Some(0), "{quiet}");

    for (query, field) in [("after=-1", "after"), ("limit=0", "limit"), ("limit=1001", "limit"), ("wait=61", "wait")] {
        let (status, body) = reader.get(&format!("/api/v1/suppressions/changes?{query}")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{query}");
    }
    let checker = Api::key(server, server.api_key("checker", &["check"]).await);
    let (status, _) = checker.get("/api/v1/suppressions/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn custom_rules_are_previewed_validated_and_applied(server: &TestServer) {
    let api = mta(server).await;
    let reply = "550 5.0.0 <a@example.com>: account frozen by the xyzzy gateway";
    let before = api
        .events(json!([{"recipient": "a@example.com", "reply": reply},
        {"recipient": "b@example.com", "reply": "452 4.2.2 Mailbox full"}]))
        .await;
    let admin = Api::admin(server).await;
    let rule = json!({"id": "staff.frozen", "pattern": "account frozen", "reason": "suspend"});

    let (status, body) = admin
        .post("/api/v1/settings/policy/preview", json!({"rules": [{"id": "x", "pattern": "(", "reason": "blocked"}]}))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("rules[0].pattern")));
    let (status, preview) = admin.post("/api/v1/settings/policy/preview", json!({ "rules": [rule] })).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["events_checked"], 2);
    assert_eq!(preview["changed"], 1);
    assert_eq!(preview["sample"][0]["event_id"], before[0]["event_id"]);
    assert_eq!(preview["sample"][0]["after"]["rule"], "staff.frozen");
    assert_eq!(preview["sample"][0]["before"]["kind"], before[0]["verdict"]["kind"]);

    let (status, _) = admin.put("/api/v1/settings/policy", json!({ "rules": [rule] })).await;
    assert_eq!(status, StatusCode::OK);
    let after = api.events(json!([{"recipient": "c@example.com", "reply": reply}])).await;
    assert_eq!(after[0]["verdict"]["rule"], "staff.frozen");
    assert_eq!(after[0]["verdict"]["reason"], "suspend");
    // The classifier service reads with the same rules as /events.
    let (status, classified) = api.post("/api/v1/classify", json!({ "reply": reply })).await;
    assert_eq!(status, StatusCode::OK, "{classified}");
    assert_eq!(classified["verdict"]["rule"], "staff.frozen");
    let (_, stored) = admin.get("/api/v1/settings/policy").await;
    assert_eq!(stored["rules"][0]["id"], "staff.frozen");
}

async fn a_misfiring_cause_is_undone_in_one_previewed_operation(server: &TestServer) {
    let api = mta(server).await;
    let bad = api
        .events(json!([
            {"recipient": "a@example.com", "reply": "550 5.1.1 user unknown", "source": "broken-hook"},
            {"recipient": "b@example.com", "reply": "550 5.1.1 user unknown", "source": "broken-hook"},
            {"recipient": "c@example.com", "kind": "complaint", "source": "broken-hook"},
            {"recipient": "d@example.com", "reply": "550 5.1.1 user unknown", "source": "good-hook"},
        ]))
        .await;
    let rule = bad[0]["verdict"]["rule"].as_str().unwrap().to_owned();
    let admin = Api::admin(server).await;
    let path = "/api/v1/suppressions/lift-by-cause";

    let (status, body) = admin.post(path, json!({"confirm": true, "reason": "oops"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("rule")));
    let (status, preview) = admin.post(path, json!({"source": "broken-hook"})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!((preview["matched"].as_u64(), preview["lifted"].as_u64()), (Some(3), Some(0)));
    assert_eq!(preview["complaints_skipped"], 1);
    assert_eq!(preview["sample"].as_array().unwrap().len(), 3);
    assert!(api.suppressed("a@example.com", None).await, "a preview changes nothing");

    let (status, body) = admin.post(path, json!({"source": "broken-hook", "confirm": true})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, done) =
        admin.post(path, json!({"source": "broken-hook", "confirm": true, "reason": "the hook sent test data"})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["lifted"].as_u64(), done["complaints_skipped"].as_u64()), (Some(2), Some(1)));
    assert!(!api.suppressed("a@example.com", None).await);
    assert!(!api.suppressed("b@example.com", None).await);
    assert!(api.suppressed("c@example.com", None).await, "complaints stay unless included");
    assert!(api.suppressed("d@example.com", None).await, "other causes are untouched");

    let (_, by_rule) = admin.post(path, json!({ "rule": rule })).await;
    assert_eq!(by_rule["matched"], 1, "only d@ is still suppressed by that rule");
    let (_, audit) = admin.get("/api/v1/audit?action=suppression.lift_by_cause").await;
    assert_eq!(audit["items"][0]["after"]["lifted"], 2);
    assert_eq!(audit["items"][0]["reason"], "the hook sent test data");
}

async fn reevaluation_is_explicit_previewed_and_audited(server: &TestServer) {
    let api = mta(server).await;
    api.events(json!([
        {"recipient": "gone@example.com", "reply": "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"},
        {"recipient": "fine@example.com", "reply": "550 5.7.1 Service unavailable; client host blocked using Spamhaus"},
    ]))
    .await;
    let admin = Api::admin(server).await;
    let (status, _) =
        admin.put("/api/v1/settings/policy", json!({"kinds": {"user_unknown": "soft", "blocked": "hard"}})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(api.suppressed("gone@example.com", None).await, "a policy change is never retroactive by itself");
    assert!(!api.suppressed("fine@example.com", None).await);

    let (status, preview) = admin.post("/api/v1/reevaluate", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["verdicts"]["changed"], 2);
    assert_eq!((preview["would_suppress"].as_u64(), preview["would_lift"].as_u64()), (Some(1), Some(1)));
    assert_eq!((preview["suppressed"].as_u64(), preview["lifted"].as_u64()), (Some(0), Some(0)));
    assert!(api.suppressed("gone@example.com", None).await, "a preview changes nothing");

    let (status, body) = admin.post("/api/v1/reevaluate", json!({"confirm": true})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, done) = admin.post("/api/v1/reevaluate", json!({"confirm": true, "reason": "new kind table"})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["suppressed"].as_u64(), done["lifted"].as_u64()), (Some(1), Some(1)));
    assert!(!api.suppressed("gone@example.com", None).await);
    assert!(api.suppressed("fine@example.com", None).await);
    let (_, audit) = admin.get("/api/v1/audit?action=policy").await;
    assert_eq!(audit["items"][0]["action"], "policy.reevaluate");
    assert_eq!(audit["items"][0]["reason"], "new kind table");

    // The events carry their new verdicts: a second run finds nothing to change.
    let (_, again) = admin.post("/api/v1/reevaluate", json!({})).await;
    assert_eq!(again["verdicts"]["changed"], 0, "{again}");
    assert_eq!((again["would_suppress"].as_u64(), again["would_lift"].as_u64()), (Some(0), Some(0)));

    // Going back to the default table undoes both, including the entry re-evaluation created.
    admin.put("/api/v1/settings/policy", json!({})).await;
    let (status, undone) =
        admin.post("/api/v1/reevaluate", json!({"confirm": true, "reason": "back to defaults"})).await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!((undone["suppressed"].as_u64(), undone["lifted"].as_u64()), (Some(1), Some(1)), "{undone}");
    assert!(api.suppressed("gone@example.com", None).await);
    assert!(!api.suppressed("fine@example.com", None).await);
}

async fn staff_accounts_are_managed_and_audited(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (status, body) =
        admin.post("/api/v1/users", json!({"username": "olga", "role": "operator", "password": "short"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")));
    let (status, created) = admin.post("/api/v1/users", json!({"username": "olga", "role": "operator"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let password = created["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 12);
    let id = created["user"]["id"].as_i64().unwrap();
    let (status, _) = admin.post("/api/v1/users", json!({"username": "OLGA", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let olga = server.client();
    let login = |client: &reqwest::Client, password: String| {
        client.post(server.url("/api/v1/auth/login")).json(&json!({"username": "olga", "password": password})).send()
    };
    assert_eq!(login(&olga, password.clone()).await.unwrap().status(), StatusCode::OK);
    let olga_api = Api { server, client: olga, token: None };
    let (status, _) = olga_api.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators don't manage accounts");

    let (status, updated) = admin.patch(&format!("/api/v1/users/{id}"), json!({"disabled": true})).await;
    assert_eq!((status, updated["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, _) = olga_api.get("/api/v1/suppressions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled account's session ends at once");

    let (_, users) = admin.get("/api/v1/users").await;
    let admin_id = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "admin").unwrap()["id"].clone();
    let (status, body) = admin.patch(&format!("/api/v1/users/{admin_id}"), json!({"role": "viewer"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin")));

    let (status, reset) = admin.post(&format!("/api/v1/users/{id}/reset-password"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(reset["password"].as_str().unwrap(), password);
    let (_, audit) = admin.get("/api/v1/audit?action=user").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.reset_password", "user.update", "user.create", "user.create"]);
    assert!(!audit.to_string().contains(&password), "secrets never reach the audit log");
}

/// Every name in the list at `path`, read `limit` at a time by following `next_cursor`, and the
/// number of pages it took.
async fn walk_pages(api: &Api<'_>, path: &str, limit: u32, name: &str) -> (Vec<String>, usize) {
    let (mut names, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let query = cursor.map_or_else(String::new, |c| format!("&cursor={}", urlencode(&c)));
        let (status, page) = api.get(&format!("{path}?limit={limit}{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        names.extend(items.iter().map(|item| item[name].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (names, pages),
        }
    }
}

async fn accounts_and_keys_page_by_cursor(server: &TestServer) {
    let admin = Api::admin(server).await;
    for name in ["ana", "ben", "cyd", "dee"] {
        let (status, body) = admin
            .post("/api/v1/users", json!({"username": name, "role": "viewer", "password": "a long password"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for name in ["k1", "k2", "k3", "k4", "k5"] {
        let (status, body) = admin.post("/api/v1/keys", json!({"name": name, "scopes": ["check"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (users, pages) = walk_pages(&admin, "/api/v1/users", 2, "username").await;
    assert_eq!(users, ["dee", "cyd", "ben", "ana", "admin"], "newest first, each account once");
    assert_eq!(pages, 3);
    let (keys, pages) = walk_pages(&admin, "/api/v1/keys", 2, "name").await;
    assert_eq!(keys, ["k5", "k4", "k3", "k2", "k1"]);
    assert_eq!(pages, 3);
    let (_, whole) = admin.get("/api/v1/keys?limit=5").await;
    assert!(whole["next_cursor"].is_null(), "an exact last page says so: {whole}");
    let (_, default) = admin.get("/api/v1/users").await;
    assert_eq!(default["items"].as_array().unwrap().len(), 5, "50 by default");

    for path in ["/api/v1/users", "/api/v1/keys"] {
        let (status, body) = admin.get(&format!("{path}?limit=501")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")), "{path}");
        let (status, body) = admin.get(&format!("{path}?cursor=zzz")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("cursor")), "{path}");
        let (status, body) = admin.get(&format!("{path}?page=2")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
    }
}

async fn a_large_import_crosses_batch_and_statement_boundaries(server: &TestServer) {
    let admin = Api::admin(server).await;
    let (_, job) = admin.post("/api/v1/imports", json!({"format": "text"})).await;
    let file: String = (0..25_000).map(|i| format!("bulk{i}@d{}.example\n", i % 97)).collect();
    let path = format!("/api/v1/imports/{}/data", job["id"]);
    let (status, job) = Api::send(admin.request(reqwest::Method::PUT, &path).body(file)).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!((job["state"].as_str(), job["created"].as_i64()), (Some("done"), Some(25_000)));
    let (_, audit) = admin.get("/api/v1/audit?action=suppression.import").await;
    let batches: Vec<i64> =
        audit["items"].as_array().unwrap().iter().rev().map(|a| a["after"]["created"].as_i64().unwrap()).collect();
    assert_eq!(batches, [2_500, 5_000, 10_000, 7_500], "one audit row per committed batch, each twice the last");
    let api = mta(server).await;
    assert!(api.suppressed("bulk24999@d70.example", None).await);
}

async fn a_batch_sees_its_own_earlier_events(server: &TestServer) {
    let api = mta(server).await;
    let hard = json!({"recipient": "twice@example.com", "reply": "550 5.1.1 user unknown"});
    let keyed = json!({"recipient": "k@example.com", "kind": "delivered", "idempotency_key": "new-key"});
    let complaint = json!({"recipient": "twice@example.com", "kind": "complaint"});
    let results = api.events(json!([hard, keyed, hard, keyed, complaint])).await;
    assert_eq!(results[0]["outcome"]["effect"], "suppressed");
    assert_eq!(results[2]["outcome"]["effect"], "already_suppressed");
    assert_eq!(results[2]["outcome"]["suppression_id"], results[0]["outcome"]["suppression_id"]);
    // Each item is answered as if the items had come one by one: the hard bounce created the entry
    // for itself, the complaint escalated it.
    assert_eq!(results[0]["outcome"]["reason"], "hard_bounce");
    assert_eq!(
        (&results[4]["outcome"]["effect"], &results[4]["outcome"]["reason"], &results[4]["outcome"]["suppression_id"]),
        (&json!("suppressed"), &json!("complaint"), &results[0]["outcome"]["suppression_id"])
    );
    assert_eq!((results[1]["duplicate"].as_bool(), results[3]["duplicate"].as_bool()), (Some(false), Some(true)));
    assert_eq!(results[3]["event_id"], results[1]["event_id"]);
    let ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r["event_id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 4, "one stored event per item, the repeat excepted");

    let admin = Api::admin(server).await;
    let (_, detail) = admin.get(&format!("/api/v1/suppressions/{}", results[0]["outcome"]["suppression_id"])).await;
    assert_eq!(detail["suppression"]["reason"], "complaint", "a complaint in the same batch escalates the new entry");
    assert_eq!(detail["events"].as_array().unwrap().len(), 3);
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["suppression.escalate", "suppression.add"]);
    assert_eq!(detail["history"][1]["after"]["reason"], "hard_bounce");
    let (_, verification) = admin.get("/api/v1/audit/verify").await;
    assert_eq!(verification["ok"], true);
}

/// A report that names the address as mailed (`Original-Recipient`) apart from the one an alias
/// expanded it to: the list holds what the sender mailed, so that is what is suppressed.
async fn the_address_the_sender_mailed_is_the_one_suppressed(server: &TestServer) {
    let api = mta(server).await;
    let dsn = DSN.replace(
        "Final-Recipient: rfc822; first@example.com",
        "Original-Recipient: rfc822; sales@example.com\r\nFinal-Recipient: rfc822; first@example.com",
    );
    let response = api
        .request(reqwest::Method::POST, "/api/v1/events")
        .header("Content-Type", "message/rfc822")
        .body(dsn)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let first = &body["results"][0];
    assert_eq!(first["recipient"], "sales@example.com");
    assert_eq!(first["verdict"]["recipient"], "first@example.com");
    assert_eq!(first["verdict"]["original_recipient"], "sales@example.com");
    assert!(api.suppressed("sales@example.com", None).await);
    assert!(!api.suppressed("first@example.com", None).await);
}

/// A 5xx reply that no rule reads is `unknown`, but it is still a permanent failure: counted like
/// a soft bounce, the third within the window suppresses, unless the policy records them only.
async fn unexplained_permanent_failures_escalate_like_soft_bounces(server: &TestServer) {
    let api = mta(server).await;
    let odd = json!({"recipient": "odd@example.com", "reply": "550 Sorry, something odd happened here"});
    let results = api.events(json!([odd, odd])).await;
    assert_eq!(results[0]["verdict"]["kind"], "unknown");
    assert_eq!(
        (results[1]["outcome"]["effect"].as_str(), results[1]["outcome"]["count"].as_u64()),
        (Some("counted"), Some(2))
    );
    let guess = json!({"recipient": "odd@example.com", "reply": "Sorry, something odd happened here"});
    assert_eq!(api.events(json!([guess])).await[0]["outcome"]["effect"], "nothing", "no code: not a permanent failure");
    let third = api.events(json!([odd])).await;
    assert_eq!(
        (third[0]["outcome"]["effect"].as_str(), third[0]["outcome"]["reason"].as_str()),
        (Some("suppressed"), Some("soft_bounce_exhausted"))
    );

    let admin = Api::admin(server).await;
    let (_, mut policy) = admin.get("/api/v1/settings/policy").await;
    assert_eq!(policy["count_unknown_failures"], true);
    policy["count_unknown_failures"] = json!(false);
    let (status, body) = admin.put("/api/v1/settings/policy", policy).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = json!({"recipient": "other@example.com", "reply": "550 Sorry, something odd happened here"});
    let results = api.events(json!([other, other, other])).await;
    assert!(results.iter().all(|r| r["outcome"]["effect"] == "nothing"), "{results:?}");
    assert!(!api.suppressed("other@example.com", None).await);
}

/// The verdicts no rule explained, grouped by the shape of their text for staff to write rules.
async fn unexplained_verdicts_are_grouped_by_what_they_say(server: &TestServer) {
    let api = mta(server).await;
    api.events(json!([
        {"recipient": "a@example.com", "reply": "550 Frobnicated by the gateway, ticket 4711"},
        {"recipient": "b@example.com", "reply": "550 Frobnicated by the gateway, ticket 815"},
        {"recipient": "c@example.com", "reply": "550 5.1.1 user unknown"},
    ]))
    .await;
    let viewer = Api::key(server, server.api_key("reader", &["suppressions:read"]).await);
    let (status, found) = viewer.get("/api/v1/unclassified").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["events_read"], 2, "only the unknown verdicts");
    let group = &found["groups"][0];
    assert_eq!(group["shape"], "550 Frobnicated by the gateway, ticket <n>");
    assert_eq!((group["count"].as_u64(), group["recipients"].as_u64()), (Some(2), Some(2)));
    assert_eq!(group["examples"][0]["text"], "550 Frobnicated by the gateway, ticket 815");
    assert!(group["draft_pattern"].as_str().unwrap().contains(r"Frobnicated\s+by"), "{group}");
    let (status, body) = viewer.get("/api/v1/unclassified?hours=0").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("hours")));
    let (status, _) = mta(server).await.get("/api/v1/unclassified").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an events:write key reads nothing");
}

/// Time as the server's clock tells it, moved forward by days: soft-bounce windows close, entries
/// expire in the pre-send check and in the list, sessions end. Nothing sleeps.
async fn windows_expiries_and_sessions_follow_the_servers_clock(server: &TestServer) {
    const HOUR: i64 = 3_600;
    const DAY: i64 = 24 * HOUR;
    let api = mta(server).await;
    let clock = &server.state.clock;

    let soft = json!({"recipient": "slow@example.com", "reply": "452 4.2.2 Mailbox full"});
    let first = api.events(json!([soft, soft])).await;
    assert_eq!(first[1]["outcome"]["count"], 2);
    clock.advance(31 * DAY);
    let later = api.events(json!([soft])).await;
    assert_eq!(
        (later[0]["outcome"]["effect"].as_str(), later[0]["outcome"]["count"].as_i64()),
        (Some("counted"), Some(1)),
        "the first two fell out of the 30-day window"
    );

    let admin = Api::admin(server).await;
    let (status, added) = admin
        .post("/api/v1/suppressions", json!({"address": "brief@example.com", "expires_at": clock.now() + 6 * HOUR}))
        .await;
    assert!(status.is_success(), "{added}");
    assert!(api.suppressed("brief@example.com", None).await);
    clock.advance(7 * HOUR);
    assert!(!api.suppressed("brief@example.com", None).await, "the entry expired");
    let (status, detail) = admin.get(&format!("/api/v1/suppressions/{}", added["suppression"]["id"])).await;
    assert_eq!(status, StatusCode::OK, "the 12-hour session still holds: {detail}");
    assert_eq!(detail["suppression"]["active"], false);

    clock.advance(6 * HOUR);
    let (status, body) = admin.get("/api/v1/suppressions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session ended 12 hours after login: {body}");
}
