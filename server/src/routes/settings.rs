//! `/api/v1/settings/policy`: the suppression policy and reason → kind table, and
//! `/api/v1/settings/monitoring`: alert thresholds and the provider map. Saving validates
//! the whole policy first and is audited with its before and after values; it applies to events
//! received afterwards, never retroactively.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{MonitoringSettings, Policy, PolicyPreview, Reevaluate, ReevaluateResult};
use rebound_store::monitor::MONITORING_SETTING;
use rebound_store::ops;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::reclassify;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/policy", get(read).put(save))
        .route("/settings/policy/preview", post(preview))
        .route("/settings/monitoring", get(read_monitoring).put(save_monitoring))
        .route("/reevaluate", post(reevaluate))
}

async fn read_monitoring(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<MonitoringSettings>, ApiError> {
    principal.require(Permission::Read)?;
    Ok(Json(state.monitoring().await?.settings.clone()))
}

/// Saves alert thresholds, the minimum volume, the hysteresis and the provider map; validated
/// whole first, audited, and evaluated at once.
async fn save_monitoring(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(settings): ApiJson<MonitoringSettings>,
) -> Result<Json<MonitoringSettings>, ApiError> {
    principal.require(Permission::Admin)?;
    settings.validate().map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    let store = state.store.as_ref();
    ops::save_setting(store, MONITORING_SETTING, &settings, &principal.actor(), None, state.clock.now()).await?;
    state.monitoring().await?;
    state.monitor.wake.notify_one();
    Ok(Json(settings))
}

/// What saving `proposed` would change in the verdicts of the latest stored events.
async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(proposed): ApiJson<Policy>,
) -> Result<Json<PolicyPreview>, ApiError> {
    principal.require(Permission::Read)?;
    let candidate = proposed.classifier().map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    proposed.validate().map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    let engine = state.engine().await?;
    let events = state.store.reclassifiable_events(None, None, reclassify::PREVIEW_EVENTS).await?;
    let result = tokio::task::spawn_blocking(move || reclassify::preview(&engine.classifier, &candidate, &events))
        .await
        .map_err(|e| ApiError::Internal(format!("preview failed: {e}")))?;
    Ok(Json(result))
}

async fn read(State(state): State<AppState>, principal: Principal) -> Result<Json<Policy>, ApiError> {
    principal.require(Permission::Read)?;
    Ok(Json(ops::policy(state.store.as_ref()).await?))
}

async fn save(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(policy): ApiJson<Policy>,
) -> Result<Json<Policy>, ApiError> {
    principal.require(Permission::Admin)?;
    policy.validate().map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    ops::set_policy(state.store.as_ref(), &policy, &principal.actor(), None, state.clock.now()).await?;
    Ok(Json(policy))
}

/// Classifies stored events again under the current policy and, confirmed, applies the
/// difference to the list (see `ops::reevaluate`).
async fn reevaluate(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<Reevaluate>,
) -> Result<Json<ReevaluateResult>, ApiError> {
    principal.require(Permission::Admin)?;
    let reason = match (&request.reason, request.confirm) {
        (Some(r), _) => names::text("reason", r, 500)?,
        (None, true) => return Err(ApiError::invalid_field("reason", "say why the list is re-evaluated")),
        (None, false) => String::new(),
    };
    let engine = state.engine().await?;
    let events = state.store.reclassifiable_events(request.from, request.until, reclassify::REEVALUATE_EVENTS).await?;
    let classify = engine.clone();
    let (verdicts, changes) = tokio::task::spawn_blocking(move || {
        let (summary, changed) = reclassify::compare(&events, |e| Some(e.event.verdict.clone()), &classify.classifier);
        let changed: Vec<_> = changed.into_iter().map(|(e, v)| (e.clone(), v)).collect();
        (summary, changed)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("re-evaluation failed: {e}")))?;
    let pairs: Vec<_> = changes.iter().map(|(e, v)| (e, v.clone())).collect();
    let done = ops::reevaluate(
        state.store.as_ref(),
        &pairs,
        &engine.policy,
        &principal.actor(),
        &reason,
        state.clock.now(),
        request.confirm,
    )
    .await?;
    state.index.publish_suppressions(done.feed, &done.changed).await;
    Ok(Json(ReevaluateResult {
        verdicts,
        would_suppress: done.would_suppress,
        would_lift: done.would_lift,
        suppressed: done.suppressed,
        lifted: done.lifted,
    }))
}
