//! The OpenAPI document (`server/openapi.json`) against the real router, in both directions: every
//! documented operation is answered by a route of a real server, with the authentication the
//! document claims, and every route declared in `server/src/routes` is documented.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Backend, TestDatabase, TestServer};

/// The operation keys of an OpenAPI path item.
const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Where `server/src/lib.rs` nests `routes::router()`.
const API_PREFIX: &str = "/api/v1";

/// `(path, method)` of every operation, the path as written in the document (`/imports/{id}`)
/// and the method in lower case.
type Operations = BTreeSet<(String, String)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_matches_the_router() {
    let db = TestDatabase::create(Backend::Sqlite).await.expect("SQLite is always available");
    let server = TestServer::start(&db, None).await;
    let client = server.client();

    let response = client.get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the document is served without authentication");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], API_PREFIX, "paths are relative to the API prefix");

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').filter(|p| p.starts_with("/components/"));
        let target = pointer.and_then(|p| doc.pointer(p));
        assert!(target.is_some_and(Value::is_object), "`$ref: {reference}` does not resolve in components");
    }

    let documented = documented_operations(&doc);
    for (path, method) in &documented {
        let operation = &doc["paths"][path.as_str()][method.as_str()];
        let public = operation.get("security").and_then(Value::as_array).is_some_and(Vec::is_empty);
        // A session's requirement names the least staff role; a key's, its scope.
        for requirement in operation.get("security").and_then(Value::as_array).into_iter().flatten() {
            for role in requirement.get("cookieAuth").and_then(Value::as_array).into_iter().flatten() {
                let role = role.as_str().unwrap_or_default();
                assert!(["viewer", "operator", "admin"].contains(&role), "{method} {path}: cookieAuth names `{role}`");
            }
        }
        let url = format!("{API_PREFIX}{}", path.replace("{id}", "1"));
        assert!(!url.contains('{'), "{path}: give the test a value for this path parameter");
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client.request(http_method, server.url(&url)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let error = serde_json::from_str::<Value>(&body).map(|v| v["error"].clone()).unwrap_or(Value::Null);
        let what = format!("{} {path} answered {status} {body}", method.to_uppercase());
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}: the path is routed, but not this method");
        let unrouted = status == StatusCode::NOT_FOUND
            && error["code"] == "not_found"
            && error["message"].as_str().is_some_and(|m| m.ends_with(&url));
        assert!(!unrouted, "{what}: documented, but no route serves it");
        if public {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}: documented as needing no authentication");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: documented as needing authentication");
            assert_eq!(error["code"], "unauthenticated", "{what}");
        }
    }

    let routed = routed_operations();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed in server/src/routes but not documented: {undocumented:?}; documented but declared by no route: \
         {unrouted:?}"
    );

    drop(server);
    db.drop_database().await;
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn documented_operations(doc: &Value) -> Operations {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = Operations::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for method in item.keys().filter(|k| HTTP_METHODS.contains(&k.as_str())) {
            operations.insert((path.clone(), method.clone()));
        }
    }
    operations
}

/// The routes as the router modules declare them: every `.route("PATH", get(..).post(..))` in
/// `server/src/routes/*.rs`. Anything this reading does not understand fails the test, so a new way
/// of declaring routes cannot slip past it unseen.
fn routed_operations() -> Operations {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server");
    let lib = std::fs::read_to_string(server.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains(&format!(".nest(\"{API_PREFIX}\", routes::router()")),
        "this test assumes server/src/lib.rs nests routes::router() at {API_PREFIX}"
    );
    let mut operations = Operations::new();
    let mut files: Vec<_> = std::fs::read_dir(server.join("src/routes")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let code: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        for other in [".nest(", ".nest_service(", ".route_service(", ".fallback("] {
            assert!(!code.contains(other), "{}: teach this test about `{other}`", file.display());
        }
        for declaration in code.split(".route(").skip(1) {
            let (path, methods) = parse_route(declaration)
                .unwrap_or_else(|| panic!("{}: cannot read the route `.route({declaration:.60}`", file.display()));
            for method in methods {
                operations.insert((path.clone(), method));
            }
        }
    }
    operations
}

/// Reads `"PATH", get(handler).post(other).layer(..))` into the path and its methods.
fn parse_route(declaration: &str) -> Option<(String, Vec<String>)> {
    let rest = declaration.trim_start().strip_prefix('"')?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.trim_start().strip_prefix(',')?;
    let mut methods = Vec::new();
    let mut depth = 0usize;
    let mut name = String::new();
    for c in rest.chars() {
        match c {
            '(' if depth == 0 => {
                match name.as_str() {
                    "layer" => {}
                    m if HTTP_METHODS.contains(&m) => methods.push(m.to_owned()),
                    _ => return None,
                }
                name.clear();
                depth += 1;
            }
            '(' => depth += 1,
            ')' if depth == 0 => return (!methods.is_empty()).then(|| (path.to_owned(), methods)),
            ')' => depth -= 1,
            c if depth == 0 && (c.is_alphanumeric() || c == '_') => name.push(c),
            c if depth == 0 && (c == '.' || c.is_whitespace()) => name.clear(),
            _ if depth == 0 => return None,
            _ => {}
        }
    }
    None
}
