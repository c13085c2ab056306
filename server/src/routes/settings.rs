//! `/api/v1/settings/policy`: the suppression policy and reason → kind table. Saving validates
//! the whole policy first and is audited with its before and after values; it applies to events
//! received afterwards, never retroactively.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{Policy, PolicyPreview};
use rebound_store::ops;

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::reclassify;

pub fn router() -> Router<AppState> {
    Router::new().route("/settings/policy", get(read).put(save)).route("/settings/policy/preview", post(preview))
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
    let events = state.store.reclassifiable_events(reclassify::PREVIEW_EVENTS).await?;
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
    ops::set_policy(state.store.as_ref(), &policy, &principal.actor(), None, auth::now()).await?;
    Ok(Json(policy))
}
