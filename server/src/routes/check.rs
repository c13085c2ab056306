//! `GET /api/v1/check` and `POST /api/v1/check`: may this address be sent to? Answered from the
//! in-memory index (`crate::index`), never from the database, because every outgoing message
//! asks. In a batch, an address that cannot be read is answered as suppressed (with its error):
//! sending to it cannot succeed. A single check of an unreadable address is a 400 naming `email`.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::{CheckRequest, CheckResponse, CheckResult};
use rebound_policy::GLOBAL_SCOPE;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::names;

/// Most addresses in one `POST /check`.
pub const MAX_CHECK_BATCH: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/check", get(check_one).post(check_many).layer(DefaultBodyLimit::max(4 * 1024 * 1024)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckParams {
    email: String,
    scope: Option<String>,
}

fn scope(value: Option<&str>) -> Result<String, ApiError> {
    Ok(names::optional_label("scope", value)?.unwrap_or_else(|| GLOBAL_SCOPE.to_owned()))
}

async fn check_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CheckParams>,
) -> Result<Json<CheckResult>, ApiError> {
    principal.require(Permission::Check)?;
    let scope = scope(params.scope.as_deref())?;
    let target = names::target("email", &params.email)?;
    let hits = state.index.check(&target, &scope, auth::now());
    Ok(Json(CheckResult { email: target.display().to_owned(), suppressed: !hits.is_empty(), hits, error: None }))
}

async fn check_many(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    principal.require(Permission::Check)?;
    if request.emails.len() > MAX_CHECK_BATCH {
        return Err(ApiError::invalid_field("emails", format!("at most {MAX_CHECK_BATCH} addresses per request")));
    }
    let scope = scope(request.scope.as_deref())?;
    let now = auth::now();
    let results = request
        .emails
        .into_iter()
        .map(|email| match rebound_policy::normalize(&email) {
            Ok(target) => {
                let hits = state.index.check(&target, &scope, now);
                CheckResult { email, suppressed: !hits.is_empty(), hits, error: None }
            }
            Err(e) => CheckResult { email, suppressed: true, hits: Vec::new(), error: Some(e.to_string()) },
        })
        .collect();
    Ok(Json(CheckResponse { results }))
}
