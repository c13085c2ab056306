//! The REST API over a real socket. Each behaviour runs against SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, error_of};

on_both_backends!(
    health_reports_the_backend,
    endpoints_require_authentication,
    sign_in_classify_and_sign_out,
    wrong_credentials_are_refused_alike,
    bad_bodies_get_errors_naming_the_field,
    cookie_writes_need_the_csrf_header,
    unknown_api_paths_are_json_404s,
    logins_are_throttled_after_repeated_failures,
);

async fn health_reports_the_backend(server: &TestServer) {
    let body: Value = reqwest::get(server.url("/api/v1/health")).await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], server.state.store.backend());
}

async fn endpoints_require_authentication(server: &TestServer) {
    let client = server.client();
    let response =
        client.post(server.url("/api/v1/classify")).json(&json!({"reply": "550 5.1.1 x"})).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], "unauthenticated");
    let me = client.get(server.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn sign_in_classify_and_sign_out(server: &TestServer) {
    let client = server.admin_client().await;
    let me: Value = client.get(server.url("/api/v1/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me, json!({"username": "admin", "role": "admin"}));

    let classify = |reply: &'static str| {
        client
            .post(server.url("/api/v1/classify"))
            .header("X-Rebound-Csrf", "1")
            .json(&json!({ "reply": reply }))
            .send()
    };
    let response =
        classify("smtp; 550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let verdict = response.json::<Value>().await.unwrap()["verdict"].clone();
    assert_eq!(verdict["kind"], "hard");
    assert_eq!(verdict["reason"], "user_unknown");
    assert_eq!(verdict["action"], "suppress");
    assert_eq!(verdict["reply_code"], 550);
    assert_eq!(verdict["status"], "5.1.1");

    let block: Value = classify("550 5.7.1 Message rejected as spam").await.unwrap().json().await.unwrap();
    assert_eq!(block["verdict"]["kind"], "block");

    let out = client.post(server.url("/api/v1/auth/logout")).header("X-Rebound-Csrf", "1").send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = client.get(server.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn wrong_credentials_are_refused_alike(server: &TestServer) {
    let client = server.client();
    for (username, password) in [("admin", "wrong password"), ("nobody", "correct horse battery staple")] {
        let response = client
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["code"], "bad_credentials");
    }
}

async fn bad_bodies_get_errors_naming_the_field(server: &TestServer) {
    let client = server.admin_client().await;
    let post = |body: &'static str, content_type: &'static str| {
        client
            .post(server.url("/api/v1/classify"))
            .header("X-Rebound-Csrf", "1")
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (r#"{"reply": 550}"#, StatusCode::BAD_REQUEST, "invalid_field", json!("reply")),
        (r#"{}"#, StatusCode::BAD_REQUEST, "invalid_field", json!("reply")),
        (r#"{"reply": "  "}"#, StatusCode::BAD_REQUEST, "invalid_field", json!("reply")),
        (r#"{"reply": "x", "recipient": "a@b"}"#, StatusCode::BAD_REQUEST, "invalid_field", json!("recipient")),
        (r#"{"reply": "#, StatusCode::BAD_REQUEST, "malformed_json", Value::Null),
    ];
    for (body, status, code, field) in cases {
        let (got_status, error) = error_of(post(body, "application/json").await.unwrap()).await;
        assert_eq!((got_status, &error["code"], &error["field"]), (status, &json!(code), &field), "{body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    let (status, error) = error_of(post(r#"{"reply": "550"}"#, "text/plain").await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));

    let huge = format!(r#"{{"reply": "{}"}}"#, "x".repeat(rebound_server::MAX_JSON_BODY));
    let response = client
        .post(server.url("/api/v1/classify"))
        .header("X-Rebound-Csrf", "1")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    assert!(error["message"].as_str().is_some_and(|m| m.contains("1 MiB for other JSON bodies")), "{error}");

    // A request target or headers past the limits get the same JSON shape (hyper's own refusals have no body).
    let response = client.get(server.url(&format!("/api/v1/health?pad={}", "a".repeat(20_000)))).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::URI_TOO_LONG, Some("uri_too_long")), "{error}");
    let response = client.get(server.url("/api/v1/health")).header("X-Pad", "a".repeat(70_000)).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, Some("headers_too_large")),
        "{error}"
    );
}

async fn cookie_writes_need_the_csrf_header(server: &TestServer) {
    let client = server.admin_client().await;
    let response =
        client.post(server.url("/api/v1/classify")).json(&json!({"reply": "550 5.1.1 x"})).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf_header_missing")));
}

async fn unknown_api_paths_are_json_404s(server: &TestServer) {
    let client = server.admin_client().await;
    let (status, error) = error_of(client.get(server.url("/api/v1/nothing-here")).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let wrong_method = client.delete(server.url("/api/v1/suppressions")).send().await.unwrap();
    assert!(wrong_method.headers().get("allow").is_some());
    let (status, error) = error_of(wrong_method).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    let (status, error) = error_of(client.get(server.url("/api/v1/suppressions/abc")).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
    assert!(error["message"].as_str().unwrap().contains("abc"), "{error}");
}

/// A guesser at one address is made to wait after a few failures; the account's owner, at
/// another address, signs in meanwhile: failed guesses cannot lock the owner out.
async fn logins_are_throttled_after_repeated_failures(server: &TestServer) {
    let from =
        |address: [u8; 4]| reqwest::Client::builder().local_address(std::net::IpAddr::from(address)).build().unwrap();
    let (guesser, owner) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
    let attempt = |client: &reqwest::Client, password: &str| {
        client.post(server.url("/api/v1/auth/login")).json(&json!({ "username": "admin", "password": password })).send()
    };
    for _ in 0..5 {
        assert_eq!(attempt(&guesser, "guess").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let refused = attempt(&guesser, crate::support::ADMIN_PASSWORD).await.unwrap();
    assert!(refused.headers().get("retry-after").is_some());
    let (status, error) = error_of(refused).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    let signed_in = attempt(&owner, crate::support::ADMIN_PASSWORD).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK, "the owner, elsewhere, is not locked out");
}
