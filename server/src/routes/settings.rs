//! `/api/v1/settings/policy`: the suppression policy and reason → kind table. Saving validates
//! the whole policy first and is audited with its before and after values; it applies to events
//! received afterwards, never retroactively.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::Policy;
use rebound_store::ops;

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new().route("/settings/policy", get(read).put(save))
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
