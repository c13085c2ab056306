//! The `/api/v1` router, one module per resource.

mod auth;
mod classify;
mod health;

use axum::Router;
use axum::http::Uri;

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().merge(health::router()).merge(auth::router()).merge(classify::router())
}

/// Any `/api/...` path no route claims: a JSON 404, never the console's `index.html`.
pub async fn unknown_api_path(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}
