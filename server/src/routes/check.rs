//! `GET /api/v1/check` and `POST /api/v1/check`: may this address be sent to? Answered from the
//! in-memory index (`crate::index`), never from the database, because every outgoing message
//! asks. In a batch, an address that cannot be read is answered as suppressed (with its error):
//! sending to it cannot succeed. A single check of an unreadable address is a 400 naming `email`.
//! A recipient in a paused scope (everything, its mailbox provider, or the `campaign` asked about)
//! is answered with `paused`: hold the message, the address itself is fine.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::{CheckRequest, CheckResponse, CheckResult};
use std::time::Instant;

use rebound_policy::{GLOBAL_SCOPE, Target};
use serde::Deserialize;

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::monitor::Monitoring;
use crate::monitor::prometheus::CheckAnswer;
use crate::service::names;
use crate::{AppState, MAX_CHECK_BODY};

/// Most addresses in one `POST /check`.
pub const MAX_CHECK_BATCH: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/check", get(check_one).post(check_many).layer(DefaultBodyLimit::max(MAX_CHECK_BODY)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckParams {
    email: String,
    scope: Option<String>,
    campaign: Option<String>,
}

fn scope(value: Option<&str>) -> Result<String, ApiError> {
    Ok(names::optional_label("scope", value)?.unwrap_or_else(|| GLOBAL_SCOPE.to_owned()))
}

/// Answers one readable address.
fn answer(
    state: &AppState,
    monitoring: &Monitoring,
    email: String,
    target: &Target,
    scope: &str,
    campaign: Option<&str>,
    now: i64,
) -> CheckResult {
    let hits = state.index.check(target, scope, now);
    let paused = state.monitor.pause_for(&monitoring.isps, target.domain(), campaign);
    let answer = match (&paused, hits.is_empty()) {
        (_, false) => CheckAnswer::Suppressed,
        (Some(_), true) => CheckAnswer::Paused,
        (None, true) => CheckAnswer::Send,
    };
    state.monitor.metrics.check(answer);
    CheckResult { email, suppressed: !hits.is_empty(), hits, error: None, paused }
}

async fn check_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CheckParams>,
) -> Result<Json<CheckResult>, ApiError> {
    let started = Instant::now();
    principal.require(Permission::Check)?;
    let scope = scope(params.scope.as_deref())?;
    let target = names::target("email", &params.email)?;
    let monitoring = state.monitor.current();
    let email = target.display().to_owned();
    let result = answer(&state, &monitoring, email, &target, &scope, params.campaign.as_deref(), state.clock.now());
    state.monitor.metrics.check_latency(started.elapsed());
    Ok(Json(result))
}

async fn check_many(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    let started = Instant::now();
    principal.require(Permission::Check)?;
    if request.emails.len() > MAX_CHECK_BATCH {
        return Err(ApiError::invalid_field("emails", format!("at most {MAX_CHECK_BATCH} addresses per request")));
    }
    let scope = scope(request.scope.as_deref())?;
    let monitoring = state.monitor.current();
    let campaign = request.campaign.as_deref();
    let now = state.clock.now();
    let results = request
        .emails
        .into_iter()
        .map(|email| match rebound_policy::normalize(&email) {
            Ok(target) => answer(&state, &monitoring, email, &target, &scope, campaign, now),
            Err(e) => {
                CheckResult { email, suppressed: true, hits: Vec::new(), error: Some(e.to_string()), paused: None }
            }
        })
        .collect();
    state.monitor.metrics.check_latency(started.elapsed());
    Ok(Json(CheckResponse { results }))
}
