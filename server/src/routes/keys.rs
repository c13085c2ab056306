//! `/api/v1/keys`: API keys for integrations (admin only). A key's token is shown once, in the
//! answer that creates it; only its SHA-256 digest is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{ApiKey, CreateApiKey, CreatedApiKey, Page};
use rebound_store::ops;

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{PageParams, page_by_id, page_limit};

pub fn router() -> Router<AppState> {
    Router::new().route("/keys", get(list).post(create)).route("/keys/{id}/revoke", post(revoke))
}

/// A page of keys, newest first, revoked ones included.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    principal.require(Permission::Admin)?;
    let limit = page_limit(p.limit)?;
    let keys = state.store.api_keys(p.cursor, limit + 1).await?;
    Ok(Json(page_by_id(keys, limit, |k| k.id)))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    principal.require(Permission::Admin)?;
    let (key, token) = auth::create_api_key(
        state.store.as_ref(),
        &request.name,
        request.scopes,
        &principal.actor(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, token })))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ApiKey>, ApiError> {
    principal.require(Permission::Admin)?;
    let key = ops::revoke_api_key(state.store.as_ref(), id, &principal.actor(), state.clock.now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("key {id}")))?;
    state.keys.clear();
    Ok(Json(key))
}
