//! `/api/v1/pauses`: paused scopes. A critical alert whose action is `pause` creates one; staff
//! can pause by hand too. Resuming is always a staff action with a reason, audited; a KumoMTA
//! suspension mirroring the pause is lifted by the monitor's worker afterwards.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{AlertScope, CreatePause, Pause, ResumePause};
use rebound_store::monitor::{self as ops, ResumeRefusal};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page_limit;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new().route("/pauses", get(list).post(create)).route("/pauses/{id}/resume", post(resume))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    active: Option<bool>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Vec<Pause>>, ApiError> {
    principal.require(Permission::Read)?;
    let limit = page_limit(params.limit)?;
    Ok(Json(state.store.pauses(params.active.unwrap_or(false), limit).await?))
}

/// A concrete scope: `all`, `isp:NAME` or `campaign:NAME`.
fn concrete_scope(text: &str) -> Result<String, ApiError> {
    match AlertScope::parse(text.trim()) {
        Some(scope @ (AlertScope::All | AlertScope::Isp(_) | AlertScope::Campaign(_))) if text.len() <= 100 => {
            Ok(scope.to_string())
        }
        _ => Err(ApiError::invalid_field("scope", "must be `all`, `isp:NAME` or `campaign:NAME`")),
    }
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreatePause>,
) -> Result<(StatusCode, Json<Pause>), ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let scope = concrete_scope(&request.scope)?;
    let reason = names::text("reason", &request.reason, 500)?;
    let mirror = state.config.kumo.is_some();
    let pause = ops::pause(state.store.as_ref(), &scope, &reason, &principal.actor(), state.clock.now(), mirror)
        .await?
        .ok_or_else(|| ApiError::State { code: "already_paused", message: format!("{scope} is paused already") })?;
    state.refresh_pauses().await?;
    state.monitor.wake.notify_one();
    Ok((StatusCode::CREATED, Json(pause)))
}

async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ResumePause>,
) -> Result<Json<Pause>, ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let reason = names::text("reason", &request.reason, 500)?;
    let pause = match ops::resume(state.store.as_ref(), id, &reason, &principal.actor(), state.clock.now()).await? {
        Ok(pause) => pause,
        Err(ResumeRefusal::NotFound) => return Err(ApiError::NotFound(format!("pause {id}"))),
        Err(ResumeRefusal::AlreadyResumed(_)) => {
            return Err(ApiError::State { code: "not_paused", message: format!("pause {id} was resumed already") });
        }
    };
    state.refresh_pauses().await?;
    state.monitor.wake.notify_one();
    Ok(Json(pause))
}
