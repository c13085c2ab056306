//! The `/api/v1` router, one module per resource.

mod audit;
mod auth;
pub(crate) mod check;
mod classify;
pub(crate) mod events;
mod health;
mod imports;
mod keys;
mod kumomta;
pub(crate) mod metrics;
mod openapi;
mod pauses;
pub(crate) mod powermta;
mod settings;
mod suppressions;
mod unclassified;
pub(crate) mod users;
mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use rebound_api::v1::Page;
use serde::Deserialize;
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::error::ApiError;

/// How long a request may take, except an import's upload, which streams as long as it lasts.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn router() -> Router<AppState> {
    let timed = Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(classify::router())
        .merge(events::router())
        .merge(check::router())
        .merge(imports::router())
        .merge(suppressions::router())
        .merge(audit::router())
        .merge(settings::router())
        .merge(keys::router())
        .merge(users::router())
        .merge(metrics::router())
        .merge(kumomta::router())
        .merge(powermta::router())
        .merge(pauses::router())
        .merge(webhooks::router())
        .merge(unclassified::router())
        .merge(openapi::router())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT));
    timed.merge(imports::upload_router())
}

/// Any `/api/...` path no route claims: a JSON 404, never the console's `index.html`.
pub async fn unknown_api_path(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

/// A list's `limit` parameter: 50 by default, at most `MAX_PAGE`.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(_) => Err(ApiError::Invalid {
            code: "invalid_parameter",
            message: format!("must be between 1 and {MAX_PAGE}"),
            field: Some("limit".to_owned()),
        }),
    }
}

/// The paging parameters of a list that has no filters (accounts, keys): newest first, `cursor`
/// being the previous page's `next_cursor`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub cursor: Option<i64>,
    pub limit: Option<u32>,
}

/// The page of a list read newest first with one row more than `limit`: that extra row, when
/// present, says there is a next page, which continues below the id of the last row kept.
pub fn page_by_id<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|item| id(item).to_string())
    } else {
        None
    };
    Page { items, next_cursor }
}
