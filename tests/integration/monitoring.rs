//! Monitoring over a real socket, on SQLite and PostgreSQL: rates from reported sends and events,
//! per provider and campaign; alerts that cross their thresholds and come back; signed webhook
//! deliveries (retried) to a real HTTP receiver; pauses that the pre-send check honours; and the
//! KumoMTA suspend/lift calls, recorded by a real HTTP listener standing in for KumoMTA.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Api, TestDatabase, TestServer};

on_both_backends!(
    database:
    rates_count_attempts_per_provider_campaign_and_retry,
    alerts_notify_pause_and_resolve_and_kumo_follows,
    pauses_hold_checks_and_are_staff_actions,
    kumomta_log_records_feed_events_and_sends,
    kumomta_records_are_read_for_what_they_mean,
    kumomta_suspensions_survive_a_kumod_restart,
    reception_keys_are_kept_three_days,
    powermta_accounting_files_feed_events_and_sends,
    provider_and_campaign_thresholds_alert_on_their_own_scope,
);

/// A request the recorder received.
#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A real HTTP listener that records every request: a webhook receiver (`/hook`, which fails its
/// first request to exercise retries) and KumoMTA's suspend API as kumod keeps it: in memory (a
/// restart loses every suspension), listed by `GET`, one per criteria (a second `POST` with the
/// same domain, campaign and tenant answers the first one's id), deleted by id.
#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<Recorded>>>,
    suspensions: Arc<Mutex<Vec<Value>>>,
    created: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    async fn start() -> (Self, String) {
        let recorder = Recorder::default();
        let app = axum::Router::new().fallback(record).with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (recorder, url)
    }

    fn requests(&self, path: &str) -> Vec<Recorded> {
        self.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// kumod restarting: its suspensions are gone.
    fn restart(&self) {
        self.suspensions.lock().unwrap().clear();
    }

    fn suspension_ids(&self) -> Vec<String> {
        self.suspensions.lock().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    }

    fn suspend_api(&self, method: &Method, body: &str) -> (StatusCode, String) {
        let mut suspensions = self.suspensions.lock().unwrap();
        let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let criteria = |s: &Value| ["domain", "campaign", "tenant"].map(|k| s.get(k).cloned().unwrap_or(Value::Null));
        match *method {
            Method::GET => (StatusCode::OK, Value::Array(suspensions.clone()).to_string()),
            Method::POST => {
                if let Some(same) = suspensions.iter().find(|s| criteria(s) == criteria(&request)) {
                    return (StatusCode::OK, json!({ "id": same["id"] }).to_string());
                }
                let id = format!("susp-{}", self.created.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
                let mut entry = request.clone();
                entry["id"] = json!(id);
                suspensions.push(entry);
                (StatusCode::OK, json!({ "id": id }).to_string())
            }
            Method::DELETE => {
                let before = suspensions.len();
                suspensions.retain(|s| s["id"] != request["id"]);
                if suspensions.len() < before {
                    (StatusCode::OK, String::new())
                } else {
                    (StatusCode::NOT_FOUND, String::new())
                }
            }
            _ => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
        }
    }
}

async fn record(
    State(recorder): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri.path().to_owned();
    let body = String::from_utf8_lossy(&body).into_owned();
    let request = Recorded { method: method.clone(), path: path.clone(), headers, body: body.clone() };
    let earlier = {
        let mut requests = recorder.requests.lock().unwrap();
        requests.push(request);
        requests.iter().filter(|r| r.path == path).count() - 1
    };
    match path.as_str() {
        "/hook" if earlier == 0 => (StatusCode::INTERNAL_SERVER_ERROR, "not yet".into()),
        "/api/admin/suspend/v1" => recorder.suspend_api(&method, &body),
        _ => (StatusCode::OK, "ok".into()),
    }
}

/// Polls `probe` every 200 ms for up to 20 s until it returns something.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut probe: impl FnMut() -> F) -> T {
    for _ in 0..100 {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

fn soft_bounces(domain: &str, from: usize, n: usize) -> Value {
    let events: Vec<Value> = (from..from + n)
        .map(|i| json!({ "recipient": format!("user{i}@{domain}"), "reply": "452 4.2.2 Mailbox full", "campaign": "spring" }))
        .collect();
    json!(events)
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-6)
}

async fn transitions(admin: &Api<'_>) -> Vec<Value> {
    let (_, alerts) = admin.get("/api/v1/alerts").await;
    alerts["transitions"].as_array().unwrap().clone()
}

async fn rates_count_attempts_per_provider_campaign_and_retry(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = Api::admin(&server).await;
    let (status, body) = admin
        .post(
            "/api/v1/sends",
            json!({ "sends": [
                { "count": 100, "domain": "gmail.com", "campaign": "spring" },
                { "count": 50, "domain": "yahoo.com", "campaign": "summer" }
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recorded"], 150);
    admin
        .events(json!([
            { "recipient": "a@gmail.com", "reply": "550 5.1.1 <a@gmail.com>: user unknown", "campaign": "spring" },
            { "recipient": "b@gmail.com", "reply": "550 5.1.1 <b@gmail.com>: user unknown", "campaign": "spring" },
            { "recipient": "c@yahoo.com", "reply": "554 5.7.9 Message not accepted for policy reasons", "campaign": "summer" },
            { "recipient": "d@outlook.com", "reply": "452 4.2.2 Mailbox full", "stream": "news" },
            { "recipient": "d@outlook.com", "kind": "delivered" },
            // A spam-trap report suppresses but is no delivery outcome: no rate counts it.
            { "recipient": "trap@gmail.com", "spam_trap": true, "campaign": "spring" }
        ]))
        .await;

    let (status, overview) = admin.get("/api/v1/metrics/overview").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let total = &overview["total"];
    assert_eq!(total["rates"]["attempts"], 150, "sends are the denominator: {total}");
    assert!(close(&total["rates"]["bounce_rate"], 2.0), "2 hard + 1 soft of 150, the spam trap not counted: {total}");
    assert_eq!(total["counts"]["hard"], 2, "{total}");
    assert!(close(&total["rates"]["block_rate"], 100.0 / 150.0), "{total}");
    assert!(close(&total["rates"]["retry_success_rate"], 100.0), "the soft bounce was followed by a delivery: {total}");
    assert_eq!(overview["list"]["added"], 3, "two hard bounces and the spam trap suppressed: {overview}");

    let (_, isps) = admin.get("/api/v1/metrics/breakdown?by=isp").await;
    let row = |name: &str| isps["rows"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned().unwrap();
    assert!(close(&row("Google")["rates"]["hard_rate"], 2.0), "{isps}");
    assert!(close(&row("Yahoo")["rates"]["block_rate"], 2.0), "{isps}");
    assert_eq!(row("Microsoft")["rates"]["attempts"], 2, "outcomes stand in for unreported sends: {isps}");
    assert_eq!(row("Microsoft")["enough_volume"], false);

    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let names: Vec<&str> = campaigns["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["spring", "summer"]);

    let (_, streams) = admin.get("/api/v1/metrics/breakdown?by=stream").await;
    assert_eq!(streams["rows"][0]["name"], "news", "{streams}");
    assert_eq!(streams["rows"][0]["counts"]["soft"], 1, "{streams}");
    let (_, series) = admin.get("/api/v1/metrics/series?hours=2&step=600").await;
    let hard: u64 = series["points"].as_array().unwrap().iter().map(|p| p["counts"]["hard"].as_u64().unwrap()).sum();
    assert_eq!(hard, 2, "{series}");
    let (_, google) = admin.get("/api/v1/metrics/series?hours=1&isp=Google").await;
    let sent: u64 = google["points"].as_array().unwrap().iter().map(|p| p["counts"]["sent"].as_u64().unwrap()).sum();
    assert_eq!(sent, 100);

    let (_, growth) = admin.get("/api/v1/metrics/suppressions?days=7").await;
    let today = growth["days"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(today["added_by_reason"]["hard_bounce"], 2, "{growth}");
    assert_eq!(today["added_by_reason"]["spam_trap"], 1, "{growth}");
    assert_eq!(today["active"], 3);

    let (status, error) = admin.post("/api/v1/sends", json!({ "sends": [{ "count": 0 }] })).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("sends[0].count")));
    let (status, error) = admin.get("/api/v1/metrics/series?step=301").await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("step")));

    // Prometheus: needs a key that may read; counts this process's events.
    let anonymous = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let token = server.api_key("prometheus", &["suppressions:read"]).await;
    let text = reqwest::Client::new()
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("rebound_events_total{kind=\"hard\",reason=\"user_unknown\",isp=\"Google\"} 2"), "{text}");
    assert!(text.contains("rebound_suppressions_active 3"), "{text}");
    assert!(!text.contains("reason=\"undefined\",isp=\"Google\""), "the spam trap is no event of the rates: {text}");
    assert!(text.contains("rebound_sends_total 150"), "{text}");
}

/// Verifies a webhook request's signature header against its secret.
fn signed_by(request: &Recorded, secret: &str) -> bool {
    let timestamp = request.headers["x-rebound-timestamp"].to_str().unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", request.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    request.headers["x-rebound-signature"].to_str().unwrap() == expected
}

async fn alerts_notify_pause_and_resolve_and_kumo_follows(db: &TestDatabase) {
    let (recorder, receiver) = Recorder::start().await;
    let recorder = &recorder;
    let kumo_url = receiver.clone();
    let server = TestServer::start_with(db, move |config| {
        config.monitor_interval = Duration::from_secs(1);
        config.kumo = Some(rebound_server::config::KumoConfig {
            urls: vec![kumo_url],
            username: Some("rebound".into()),
            password: Some("kumo-secret".into()),
            duration: "7d".into(),
        });
    })
    .await;
    let admin = &Api::admin(&server).await;
    let (status, hook) =
        admin.post("/api/v1/webhooks", json!({ "name": "ops", "url": format!("{receiver}/hook") })).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let hook_id = hook["webhook"]["id"].as_i64().unwrap();

    // 1,000 sends; 25 soft bounces make 2.5%: over the 2% warning, under the 3% critical.
    admin.post("/api/v1/sends", json!({ "sends": [{ "count": 1000, "domain": "gmail.com" }] })).await;
    admin.events(soft_bounces("gmail.com", 0, 25)).await;
    let first = eventually("the warning", move || async move {
        let t = transitions(admin).await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!((first[0]["metric"].as_str(), first[0]["scope"].as_str()), (Some("bounce_rate"), Some("all")));
    assert_eq!((first[0]["from"].as_str(), first[0]["to"].as_str()), (Some("ok"), Some("warning")));

    // 10 more: 3.5% is critical, and the overall bounce rate's action is to pause everything.
    admin.events(soft_bounces("gmail.com", 25, 10)).await;
    let critical = eventually("the critical level", move || async move {
        transitions(admin).await.into_iter().find(|t| t["to"] == "critical")
    })
    .await;
    let pause_id = critical["pause_id"].as_i64().expect("the critical transition paused sending");
    let check = eventually("the pause to hold checks", move || async move {
        let (_, check) = admin.get("/api/v1/check?email=someone%40gmail.com").await;
        check.get("paused").is_some().then_some(check)
    })
    .await;
    assert_eq!(check["suppressed"], false, "a pause says nothing about the address");
    assert_eq!(check["paused"]["pause_id"], pause_id, "{check}");

    // KumoMTA was asked to suspend (everything: no domain), with HTTP Basic credentials.
    let suspend = eventually("the KumoMTA suspension", move || async move {
        recorder.requests("/api/admin/suspend/v1").into_iter().find(|r| r.method == Method::POST)
    })
    .await;
    let body: Value = serde_json::from_str(&suspend.body).unwrap();
    assert!(body["reason"].as_str().unwrap().contains("bounce_rate"), "{body}");
    assert_eq!(body["duration"], "7d");
    assert!(body.get("domain").is_none(), "{body}");
    assert!(suspend.headers["authorization"].to_str().unwrap().starts_with("Basic "));

    // More sends bring the rate down to 35/3,000 = 1.2%, under 80% of the warning level: resolved.
    admin.post("/api/v1/sends", json!({ "sends": [{ "count": 2000, "domain": "yahoo.com" }] })).await;
    eventually("the resolution", move || async move {
        transitions(admin).await.into_iter().find(|t| t["to"] == "resolved")
    })
    .await;
    let (_, check) = admin.get("/api/v1/check?email=someone%40gmail.com").await;
    assert_eq!(check["paused"]["pause_id"], pause_id, "a resolved alert leaves the pause to staff");

    // Staff resume with a reason; the suspension is lifted on KumoMTA.
    let (status, error) = admin.post(&format!("/api/v1/pauses/{pause_id}/resume"), json!({ "reason": " " })).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, resumed) =
        admin.post(&format!("/api/v1/pauses/{pause_id}/resume"), json!({ "reason": "list cleaned" })).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    let (_, check) = admin.get("/api/v1/check?email=someone%40gmail.com").await;
    assert!(check.get("paused").is_none(), "{check}");
    let lift = eventually("the KumoMTA lift", move || async move {
        recorder.requests("/api/admin/suspend/v1").into_iter().find(|r| r.method == Method::DELETE)
    })
    .await;
    assert_eq!(serde_json::from_str::<Value>(&lift.body).unwrap(), json!({ "id": "susp-0" }));
    let (_, pauses) = admin.get("/api/v1/pauses").await;
    let pause = pauses.as_array().unwrap().iter().find(|p| p["id"] == pause_id).cloned().unwrap();
    eventually("the mirrored state", move || async move {
        let (_, pauses) = admin.get("/api/v1/pauses").await;
        pauses.as_array().unwrap().iter().find(|p| p["id"] == pause_id && p["mta_state"] == "resumed").cloned()
    })
    .await;
    assert_eq!(pause["resume_reason"], "list cleaned");

    // Every transition went to the webhook, signed; the first attempt failed and was retried.
    let deliveries = eventually("three delivered notifications", move || async move {
        let (_, log) = admin.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).await;
        let log = log.as_array().unwrap().clone();
        (log.len() == 3 && log.iter().all(|d| d["state"] == "delivered")).then_some(log)
    })
    .await;
    let retried = deliveries.iter().find(|d| d["event"] == "alert.warning").unwrap();
    assert_eq!(retried["attempts"], 2, "{retried}");
    assert_eq!(retried["last_status"], 200);
    let received = recorder.requests("/hook");
    assert!(received.len() >= 4, "three notifications, one of them twice: {received:?}");
    assert!(received.iter().all(|r| signed_by(r, &secret)), "every request is signed with the secret");
    assert!(!received.iter().any(|r| signed_by(r, "whsec_wrong")));
    let events: Vec<String> = received
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    for event in ["alert.warning", "alert.critical", "alert.resolved"] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }

    // Transitions, the pause and its resumption are in the audit log.
    let (_, audit) = admin.get("/api/v1/audit?action=alert.transition").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3, "{audit}");
    let (_, audit) = admin.get("/api/v1/audit?action=pause.resume").await;
    assert_eq!(audit["items"][0]["reason"], "list cleaned", "{audit}");
}

async fn pauses_hold_checks_and_are_staff_actions(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = &Api::admin(&server).await;
    let (status, pause) =
        admin.post("/api/v1/pauses", json!({ "scope": "campaign:spring", "reason": "bad list" })).await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    let (status, again) = admin.post("/api/v1/pauses", json!({ "scope": "campaign:spring", "reason": "x" })).await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_paused")));
    let (_, held) = admin.get("/api/v1/check?email=a%40example.com&campaign=spring").await;
    assert_eq!(held["paused"]["scope"], "campaign:spring", "{held}");
    let (_, other) = admin.get("/api/v1/check?email=a%40example.com&campaign=autumn").await;
    assert!(other.get("paused").is_none(), "{other}");
    let (_, batch) =
        admin.post("/api/v1/check", json!({ "emails": ["a@example.com", "b@gmail.com"], "campaign": "spring" })).await;
    assert!(batch["results"].as_array().unwrap().iter().all(|r| r["paused"]["scope"] == "campaign:spring"));

    let (status, provider) =
        admin.post("/api/v1/pauses", json!({ "scope": "isp:Microsoft", "reason": "blocked" })).await;
    assert_eq!(status, StatusCode::CREATED, "{provider}");
    let (_, held) = admin.get("/api/v1/check?email=a%40hotmail.co.uk").await;
    assert_eq!(held["paused"]["scope"], "isp:Microsoft", "{held}");
    let (status, error) = admin.post("/api/v1/pauses", json!({ "scope": "region:eu", "reason": "x" })).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("scope")));

    let viewer = Api {
        server: &server,
        client: server.client_with_role("vera", rebound_api::v1::Role::Viewer).await,
        token: None,
    };
    let (status, _) = viewer.get("/api/v1/pauses").await;
    assert_eq!(status, StatusCode::OK);
    let id = pause["id"].as_i64().unwrap();
    let (status, _) = viewer.post(&format!("/api/v1/pauses/{id}/resume"), json!({ "reason": "x" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = viewer.put("/api/v1/settings/monitoring", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Settings are validated whole, with the field named.
    let (_, mut settings) = admin.get("/api/v1/settings/monitoring").await;
    settings["thresholds"][0]["critical"] = json!(0.5);
    let (status, error) = admin.put("/api/v1/settings/monitoring", settings.clone()).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("thresholds[0].critical")));
    settings["thresholds"][0]["critical"] = json!(4.0);
    settings["isp_domains"] = json!({ "corp.example": "Corp" });
    let (status, saved) = admin.put("/api/v1/settings/monitoring", settings).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, audit) = admin.get("/api/v1/audit?action=settings.update").await;
    assert_eq!(audit["items"][0]["target"], "monitoring", "{audit}");
    admin.post("/api/v1/pauses", json!({ "scope": "isp:Corp", "reason": "test" })).await;
    let held = eventually("the new provider map", move || async move {
        let (_, held) = admin.get("/api/v1/check?email=x%40corp.example").await;
        held.get("paused").is_some().then_some(held)
    })
    .await;
    assert_eq!(held["paused"]["scope"], "isp:Corp");
}

/// A KumoMTA log record as its log hook ships it, about a session with a remote host.
fn kumo_record(kind: &str, id: &str, recipient: Value, response: Value) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    json!({
        "type": kind, "id": id, "sender": "bounces@sender.example", "recipient": recipient,
        "queue": "spring:acme@gmail.com", "site": "", "size": 2048, "response": response,
        "peer_address": { "name": "gmail-smtp-in.l.google.com.", "addr": "192.0.2.25" }, "timestamp": now, "created": now,
        "event_time": "2023-11-14T22:13:20Z", "num_attempts": 1, "bounce_classification": "Uncategorized",
        "egress_pool": null, "egress_source": null, "feedback_report": null, "meta": {}, "headers": {},
        "delivery_protocol": "ESMTP", "reception_protocol": "ESMTP", "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173"
    })
}

/// A Reception's key is kept three days, longer than any retry of the hook's batch, then the
/// monitor forgets it, so the keys do not pile up: the same record counts again only after that.
async fn reception_keys_are_kept_three_days(db: &TestDatabase) {
    let server = TestServer::start_with(db, |config| config.monitor_interval = Duration::from_secs(1)).await;
    let kumo = Api::key(&server, server.api_key("kumomta", &["events:write"]).await);
    let reception = kumo_record("Reception", "r1", json!("x@gmail.com"), json!(null));
    let send = || async { kumo.post("/api/v1/integrations/kumomta", reception.clone()).await.1["sends"].as_u64() };
    assert_eq!(send().await, Some(1));
    server.state.clock.advance(2 * 86_400);
    assert_eq!(send().await, Some(0), "two days later the key is still held");
    server.state.clock.advance(2 * 86_400);
    eventually("the monitor to forget the four-day-old key", || async { (send().await == Some(1)).then_some(()) })
        .await;
}

async fn kumomta_log_records_feed_events_and_sends(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = &Api::admin(&server).await;
    let token = server.api_key("kumomta", &["events:write", "check"]).await;
    let kumo = Api::key(&server, token);
    let ok = json!({ "code": 250, "enhanced_code": null, "content": "", "command": null });
    let unknown = json!({ "code": 550, "enhanced_code": { "class": 5, "subject": 1, "detail": 1 },
        "content": "The email account that you tried to reach does not exist.", "command": "RCPT TO" });
    let later = json!({ "code": 421, "enhanced_code": { "class": 4, "subject": 7, "detail": 0 },
        "content": "Try again later, closing connection.", "command": "MAIL FROM" });
    // A Feedback record's recipient is the feedback-loop mailbox the report came to; the person
    // who complained is in the X-KumoRef trace KumoMTA decoded from the original message.
    let mut feedback = kumo_record("Feedback", "f1", json!("fbl@sender.example"), ok.clone());
    feedback["feedback_report"] = json!({ "feedback_type": "abuse", "user_agent": "ISP/1.0", "version": 1,
        "original_rcpto_to": ["not-this@gmail.com"],
        "supplemental_trace": { "_@_": "\\_/", "recipient": "angry@gmail.com" } });
    let batch = json!([
        kumo_record("Reception", "m1", json!(["a@gmail.com", "gone@gmail.com", "slow@gmail.com"]), ok.clone()),
        kumo_record("Delivery", "m1", json!("a@gmail.com"), ok.clone()),
        kumo_record("Bounce", "m1", json!("gone@gmail.com"), unknown),
        kumo_record("TransientFailure", "m1", json!("slow@gmail.com"), later),
        kumo_record("Delayed", "m1", json!("slow@gmail.com"), ok.clone()),
        kumo_record("Delivery", "m2", json!("not an address"), ok),
        feedback,
    ]);
    let (status, body) = kumo.post("/api/v1/integrations/kumomta", batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["events"].as_u64(), body["sends"].as_u64(), body["ignored"].as_u64()),
        (Some(4), Some(3), Some(2))
    );
    assert!(body["problems"][0].as_str().unwrap().contains("not an address"), "{body}");

    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let spring = &campaigns["rows"][0];
    assert_eq!(spring["name"], "spring", "the campaign comes from the queue name: {campaigns}");
    let counts = &spring["counts"];
    let seen = ["sent", "delivered", "hard", "soft", "complaint"].map(|k| counts[k].as_u64().unwrap());
    assert_eq!(seen, [3, 1, 1, 1, 1], "{counts}");

    assert!(kumo.suppressed("gone@gmail.com", None).await, "a user-unknown at RCPT TO is a hard bounce");
    assert!(!kumo.suppressed("slow@gmail.com", None).await, "a deferral is never hard");
    assert!(kumo.suppressed("angry@gmail.com", None).await, "an abuse report is a complaint");
    assert!(!kumo.suppressed("fbl@sender.example", None).await, "the feedback-loop mailbox did not complain");
    assert!(!kumo.suppressed("not-this@gmail.com", None).await, "the trace outranks Original-Rcpt-To");

    // The hook sending the same batch again records no event twice, and counts no attempt again.
    let (_, again) = kumo.post("/api/v1/integrations/kumomta", batch).await;
    assert_eq!((again["events"].as_u64(), again["sends"].as_u64()), (Some(4), Some(0)), "{again}");
    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let counts = &campaigns["rows"][0]["counts"];
    let seen = ["sent", "delivered", "hard", "soft", "complaint"].map(|k| counts[k].as_u64().unwrap());
    assert_eq!(seen, [3, 1, 1, 1, 1], "the same after the batch came again: {counts}");
    let (_, events) = admin.get("/api/v1/suppressions?q=gone").await;
    assert_eq!(events["items"][0]["source"], "kumomta", "{events}");

    // One record (not an array) is accepted too.
    let (status, one) = kumo
        .post("/api/v1/integrations/kumomta", kumo_record("Reception", "m3", json!("b@yahoo.com"), json!(null)))
        .await;
    assert_eq!((status, one["sends"].as_u64()), (StatusCode::OK, Some(1)), "{one}");
}

/// What KumoMTA's records mean, read against its sources: who complained, which failures are its
/// own, and one bad record never holding up a batch.
async fn kumomta_records_are_read_for_what_they_mean(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = &Api::admin(&server).await;
    let token = server.api_key("kumomta", &["events:write", "check"]).await;
    let kumo = Api::key(&server, token);
    let ok = json!({ "code": 250, "enhanced_code": null, "content": "", "command": null });
    let unknown = json!({ "code": 550, "enhanced_code": { "class": 5, "subject": 1, "detail": 1 },
        "content": "No such user", "command": "RCPT TO" });
    let report = |extra: Value| {
        let mut report = json!({ "feedback_type": "abuse", "user_agent": "ISP/1.0", "version": 1 });
        report.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        report
    };
    let feedback = |id: &str, extra: Value| {
        let mut record = kumo_record("Feedback", id, json!("fbl@sender.example"), ok.clone());
        record["feedback_report"] = report(extra);
        record
    };
    // Without a trace: the report's Original-Rcpt-To, else the To: of the attached original message
    // (as text, or as bytes when it is not UTF-8); with none of them, nobody.
    let original = "From: news@sender.example\r\nTo: \"Bytes\" <bytes@gmail.com>\r\nSubject: x\r\n\r\nhello";
    let as_bytes: Vec<u8> = original.bytes().collect();
    // KumoMTA's own deferral for a suspended queue: no remote host said anything.
    let mut internal = kumo_record(
        "TransientFailure",
        "m1",
        json!("held@gmail.com"),
        json!({ "code": 451, "enhanced_code": { "class": 4, "subject": 4, "detail": 4 },
            "content": "KumoMTA internal: queue is suspended", "command": null }),
    );
    internal["peer_address"] = Value::Null;
    let mut future = kumo_record("Bounce", "m2", json!("future@gmail.com"), unknown.clone());
    future["timestamp"] = json!(4_102_444_800_u64);
    let batch = json!([
        feedback("f1", json!({ "original_rcpto_to": ["rcpt@gmail.com"] })),
        feedback("f2", json!({ "original_message": "From: a@sender.example\nTo: text@gmail.com\n\nhi" })),
        feedback("f3", json!({ "original_message": as_bytes })),
        feedback("f4", json!({})),
        internal,
        future,
        kumo_record("Bounce", "m3", json!("gone@gmail.com"), unknown),
    ]);
    let (status, body) = kumo.post("/api/v1/integrations/kumomta", batch).await;
    assert_eq!(status, StatusCode::OK, "one bad record does not refuse the batch: {body}");
    assert_eq!((body["events"].as_u64(), body["ignored"].as_u64()), (Some(4), Some(3)), "{body}");
    let problems = body["problems"].to_string();
    assert!(problems.contains("record 3") && problems.contains("no complainer"), "{body}");
    assert!(problems.contains("record 5") && problems.contains("occurred_at"), "{body}");
    for complainer in ["rcpt@gmail.com", "text@gmail.com", "bytes@gmail.com"] {
        assert!(kumo.suppressed(complainer, None).await, "{complainer} complained");
    }
    assert!(kumo.suppressed("gone@gmail.com", None).await, "the good record after the bad one is stored");
    for untouched in ["fbl@sender.example", "held@gmail.com", "future@gmail.com"] {
        assert!(!kumo.suppressed(untouched, None).await, "{untouched}");
    }
    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let counts = &campaigns["rows"][0]["counts"];
    let seen = ["hard", "soft", "complaint"].map(|k| counts[k].as_u64().unwrap());
    assert_eq!(seen, [1, 0, 3], "an internal deferral is no soft bounce: {counts}");
    let metrics = admin.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    for (why, n) in [("unreadable", 1), ("internal", 1), ("no_complainer", 1)] {
        let line = format!("rebound_log_records_skipped_total{{why=\"{why}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

/// kumod keeps suspensions in memory, each node its own: a pause is suspended on every node; after
/// a node's restart Rebound creates again there those of the pauses in force, and resuming lifts
/// them on every node; a pause resumed and made again gets suspensions again.
async fn kumomta_suspensions_survive_a_kumod_restart(db: &TestDatabase) {
    // Two nodes of a KumoMTA cluster, each with suspensions of its own.
    let (recorder, url) = Recorder::start().await;
    let (other, other_url) = Recorder::start().await;
    let (recorder, other) = (&recorder, &other);
    let server = TestServer::start_with(db, move |config| {
        config.monitor_interval = Duration::from_secs(1);
        config.kumo = Some(rebound_server::config::KumoConfig {
            urls: vec![url, other_url],
            username: None,
            password: None,
            duration: "7d".into(),
        });
    })
    .await;
    let admin = &Api::admin(&server).await;
    let pause = |reason: &'static str| async move {
        let (status, pause) =
            admin.post("/api/v1/pauses", json!({ "scope": "campaign:spring", "reason": reason })).await;
        assert_eq!(status, StatusCode::CREATED, "{pause}");
        pause["id"].as_i64().unwrap()
    };
    let mirrored = |id: i64, state: &'static str| {
        move || async move {
            let (_, list) = admin.get("/api/v1/pauses").await;
            list.as_array().unwrap().iter().any(|p| p["id"] == id && p["mta_state"] == state).then_some(())
        }
    };
    let suspensions = |expected: [Vec<&'static str>; 2]| {
        move || {
            let expected = expected.clone();
            async move { ([recorder.suspension_ids(), other.suspension_ids()] == expected).then_some(()) }
        }
    };
    let first = pause("complaints from the spring campaign").await;
    eventually("the pause suspended on KumoMTA", mirrored(first, "suspended")).await;
    assert_eq!([recorder.suspension_ids(), other.suspension_ids()], [["susp-0"], ["susp-0"]], "one on each node");

    recorder.restart();
    eventually("the lost suspension created again on its node only", suspensions([vec!["susp-1"], vec!["susp-0"]]))
        .await;
    let (status, _) = admin.post(&format!("/api/v1/pauses/{first}/resume"), json!({ "reason": "done" })).await;
    assert_eq!(status, StatusCode::OK);
    eventually("the suspensions lifted on both nodes", suspensions([vec![], vec![]])).await;
    eventually("the pause resumed on KumoMTA", mirrored(first, "resumed")).await;

    let second = pause("again").await;
    eventually("a new pause suspended", mirrored(second, "suspended")).await;
    assert_eq!([recorder.suspension_ids(), other.suspension_ids()], [["susp-2"], ["susp-1"]]);
}

/// PowerMTA's accounting records, in the CSV its `<acct-file>` writes (the field list of its
/// documentation, a combined file's union of columns): deliveries and bounces are attempts, a
/// bounce's status and diagnostic are classified, its category only helps a reply nothing
/// explains, a temporary failure is never hard, a feedback record is a complaint; a file sent
/// again records nothing twice, and a bad record is named while the rest are stored.
async fn powermta_accounting_files_feed_events_and_sends(db: &TestDatabase) {
    let server = TestServer::start(db, None).await;
    let admin = &Api::admin(&server).await;
    let token = server.api_key("powermta", &["events:write", "check"]).await;
    let pmta = &Api::key(&server, token);
    let template = "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,\
dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,envId,queue,vmtaPool,feedbackType\r\n\
d,@NOW@,@NOW@,news@sender.example,ok@gmail.com,,relayed,2.0.0 (success),\
smtp;250 2.0.0 OK,gmail-smtp-in.l.google.com (192.0.2.25),,smtp,,smtp,198.51.100.7,192.0.2.25,yes,2048,vmta-a,spring,,gmail.com/vmta-a,,\r\n\
b,@NOW@,,news@sender.example,gone@gmail.com,,failed,5.1.1 (bad destination mailbox address),\
\"smtp;550-5.1.1 The email account that you tried to reach does not exist, please check it\",gmail-smtp-in.l.google.com,bad-mailbox,smtp,,smtp,198.51.100.7,,,,vmta-a,spring,,,,\r\n\
b,@NOW@,,news@sender.example,blocked@yahoo.com,,failed,5.7.1 (delivery not authorized),\
\"smtp;553 5.7.1 [BL21] Connections will not be accepted from 198.51.100.7, because the ip is in Spamhaus's list\",mta5.am0.yahoodns.net,bad-mailbox,smtp,,smtp,198.51.100.7,,,,vmta-a,spring,,,,\r\n\
b,@NOW@,,news@sender.example,hinted@example.net,,failed,5.0.0 (undefined status),smtp;550 xyzzy,mx.example.net,bad-mailbox,smtp,,smtp,198.51.100.7,,,,vmta-a,spring,,,,\r\n\
t,@NOW@,,news@sender.example,later@gmail.com,,delayed,4.2.2 (mailbox full),smtp;452 4.2.2 Mailbox full,gmail-smtp-in.l.google.com,quota-issues,smtp,,smtp,198.51.100.7,,,,vmta-a,spring,,,,\r\n\
f,@NOW@,,news@sender.example,angry@yahoo.com,,,,,,,,,,,,,,vmta-a,spring,,,,abuse\r\n\
b,yesterday-ish,,news@sender.example,not an address,,failed,5.1.1,smtp;550 5.1.1 unknown,,,smtp,,smtp,,,,,vmta-a,spring,,,,\r\n";
    // Logged a minute ago, as Unix seconds (the other form PowerMTA writes is read by the unit tests).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 60;
    let file = template.replace("@NOW@", &now.to_string());
    let post = |body: String| async move {
        Api::send(
            pmta.request(reqwest::Method::POST, "/api/v1/integrations/powermta")
                .header("Content-Type", "text/csv")
                .body(body),
        )
        .await
    };
    let (status, body) = post(file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["events"].as_u64(), body["sends"].as_u64(), body["ignored"].as_u64()),
        (Some(6), Some(4), Some(1)),
        "{body}"
    );
    assert!(body["problems"][0].as_str().unwrap().starts_with("line 8:"), "{body}");

    assert!(pmta.suppressed("gone@gmail.com", None).await, "a user unknown is hard");
    assert!(!pmta.suppressed("blocked@yahoo.com", None).await, "a block stays a block whatever the category says");
    assert!(pmta.suppressed("hinted@example.net", None).await, "bad-mailbox helps a reply nothing explains");
    assert!(!pmta.suppressed("later@gmail.com", None).await, "a temporary failure is never hard");
    assert!(pmta.suppressed("angry@yahoo.com", None).await, "a feedback record is a complaint");
    assert!(!pmta.suppressed("ok@gmail.com", None).await);

    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let counts = &campaigns["rows"][0]["counts"];
    assert_eq!(campaigns["rows"][0]["name"], "spring", "the campaign comes from jobId: {campaigns}");
    let seen = ["sent", "delivered", "hard", "soft", "block", "complaint"].map(|k| counts[k].as_u64().unwrap());
    assert_eq!(seen, [4, 1, 2, 1, 1, 1], "{counts}");
    let (_, streams) = admin.get("/api/v1/metrics/breakdown?by=stream").await;
    assert_eq!(streams["rows"][0]["name"], "vmta-a", "the VMTA is the stream: {streams}");

    // The same file again: every event is a repeat, and no attempt is counted again.
    let (_, again) = post(file.clone()).await;
    assert_eq!((again["events"].as_u64(), again["sends"].as_u64()), (Some(6), Some(0)), "{again}");
    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    let counts = &campaigns["rows"][0]["counts"];
    let seen = ["sent", "delivered", "hard", "soft", "block", "complaint"].map(|k| counts[k].as_u64().unwrap());
    assert_eq!(seen, [4, 1, 2, 1, 1, 1], "the same after the file came again: {counts}");

    // A delivery read from the log (marked, not stored as an event) starts the address's
    // soft-bounce count again in the files that follow: four mailbox-full deferrals around one
    // delivery stay under the policy's three.
    let header = template.lines().next().unwrap();
    let record = |kind: &str, ago: u64| {
        let (status, diag) = if kind == "d" {
            ("2.0.0 (success)", "smtp;250 ok")
        } else {
            ("4.2.2 (mailbox full)", "smtp;452 4.2.2 Mailbox full")
        };
        format!(
            "{kind},{},,news@sender.example,full@gmail.com,,,{status},{diag},,,smtp,,smtp,,,,,vmta-a,spring,,,,\r\n",
            now - ago
        )
    };
    let first = format!("{header}\r\n{}{}{}", record("t", 50), record("t", 40), record("d", 30));
    let (status, body) = post(first).await;
    assert_eq!((status, body["events"].as_u64(), body["sends"].as_u64()), (StatusCode::OK, Some(3), Some(1)), "{body}");
    let second = format!("{header}\r\n{}{}", record("t", 20), record("t", 10));
    let (status, body) = post(second).await;
    assert_eq!((status, body["events"].as_u64()), (StatusCode::OK, Some(2)), "{body}");
    assert!(!pmta.suppressed("full@gmail.com", None).await, "the delivery restarted the count");
    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    assert_eq!(campaigns["rows"][0]["counts"]["delivered"], 2, "{campaigns}");
    let third = format!("{header}\r\n{}", record("t", 5));
    post(third).await;
    assert!(pmta.suppressed("full@gmail.com", None).await, "three deferrals after the delivery");

    for (bad, why) in [("", "empty"), ("a,b,c\r\nd,e,f\r\n", "type")] {
        let (status, error) = Api::send(
            pmta.request(reqwest::Method::POST, "/api/v1/integrations/powermta")
                .header("Content-Type", "text/csv")
                .body(bad),
        )
        .await;
        assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("body")), "{error}");
        assert!(error["error"]["message"].as_str().unwrap().contains(why), "{error}");
    }
}

async fn provider_and_campaign_thresholds_alert_on_their_own_scope(db: &TestDatabase) {
    let server = TestServer::start_with(db, |config| config.monitor_interval = Duration::from_secs(1)).await;
    let admin = &Api::admin(&server).await;
    let settings = json!({
        "min_volume": 50,
        "thresholds": [
            { "metric": "hard_rate", "scope": "isp:*", "warning": 1.0, "critical": 2.0, "action": "notify" },
            { "metric": "block_rate", "scope": "campaign:*", "warning": 1.0, "critical": 5.0, "action": "notify" },
            { "metric": "bounce_rate", "scope": "campaign:autumn", "warning": 10.0, "critical": 20.0, "action": "pause" }
        ]
    });
    let (status, saved) = admin.put("/api/v1/settings/monitoring", settings).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    admin
        .post(
            "/api/v1/sends",
            json!({ "sends": [
                { "count": 100, "domain": "gmail.com", "campaign": "spring" },
                { "count": 100, "domain": "yahoo.com", "campaign": "summer" }
            ]}),
        )
        .await;
    // Google: 3 hard bounces of 100 (critical for hard_rate at each provider); Yahoo: none.
    // Campaign summer: 2 blocks of 100 (a warning for block_rate at each campaign).
    let hard: Vec<Value> = (0..3)
        .map(|i| json!({ "recipient": format!("gone{i}@gmail.com"), "reply": "550 5.1.1 User unknown", "campaign": "spring" }))
        .collect();
    let blocks: Vec<Value> = (0..2)
        .map(|i| json!({ "recipient": format!("b{i}@yahoo.com"), "reply": "554 5.7.1 Rejected by policy: spam", "campaign": "summer" }))
        .collect();
    admin.events(json!(hard)).await;
    admin.events(json!(blocks)).await;
    let found = eventually("both scoped alerts", move || async move {
        let t = transitions(admin).await;
        let google = t.iter().find(|t| t["metric"] == "hard_rate" && t["scope"] == "isp:Google").cloned();
        let summer = t.iter().find(|t| t["metric"] == "block_rate" && t["scope"] == "campaign:summer").cloned();
        google.zip(summer)
    })
    .await;
    assert_eq!(found.0["to"], "critical", "{:?}", found.0);
    assert_eq!(found.1["to"], "warning", "{:?}", found.1);
    let t = transitions(admin).await;
    assert!(!t.iter().any(|t| t["scope"] == "isp:Yahoo" && t["metric"] == "hard_rate"), "Yahoo had no hard bounce");
    assert!(!t.iter().any(|t| t["scope"] == "all"), "no threshold watches everything in these settings: {t:?}");
    assert!(t.iter().all(|t| t["pause_id"].is_null()), "only notify actions were reached: {t:?}");
}
