//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 description, unauthenticated, so that
//! integrators and client generators can read it from the server they talk to.
//!
//! The document is hand-written in `server/openapi.json` and compiled in, so every build serves the
//! description of its own routes; the integration test `openapi` fails when the two drift apart.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The document, as written.
const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}
