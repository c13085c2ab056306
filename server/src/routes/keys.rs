//! `/api/v1/keys`: API keys for integrations (admin only). A key's token is shown once, in the
//! answer that creates it; only its SHA-256 digest is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{ApiKey, CreateApiKey, CreatedApiKey};
use rebound_store::ops;

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new().route("/keys", get(list).post(create)).route("/keys/{id}/revoke", post(revoke))
}

async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<ApiKey>>, ApiError> {
    principal.require(Permission::Admin)?;
    Ok(Json(state.store.api_keys().await?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    principal.require(Permission::Admin)?;
    let (key, token) =
        auth::create_api_key(state.store.as_ref(), &request.name, request.scopes, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, token })))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ApiKey>, ApiError> {
    principal.require(Permission::Admin)?;
    let key = ops::revoke_api_key(state.store.as_ref(), id, &principal.actor(), auth::now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("key {id}")))?;
    state.keys.clear();
    Ok(Json(key))
}
