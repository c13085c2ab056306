//! `/api/v1/webhooks` (admin only): where alert notifications go. Each webhook gets a secret,
//! shown once, that signs its requests; its delivery log lists every notification with its
//! attempts and the receiver's answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use rand::RngCore;
use rebound_api::v1::{CreateWebhook, UpdateWebhook, Webhook, WebhookDelivery, WebhookWithSecret};
use rebound_store::monitor as ops;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page_limit;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", patch(update))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/test", post(test))
}

async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<Webhook>>, ApiError> {
    principal.require(Permission::Admin)?;
    Ok(Json(state.store.webhooks().await?))
}

/// An absolute `http` or `https` URL.
fn url(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let parsed =
        reqwest::Url::parse(value).map_err(|e| ApiError::invalid_field("url", format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || value.len() > 2_000 {
        return Err(ApiError::invalid_field("url", "must be an http or https URL of at most 2,000 characters"));
    }
    Ok(value.to_owned())
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    principal.require(Permission::Admin)?;
    let name = names::label("name", &request.name)?;
    let url = url(&request.url)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("whsec_{}", hex::encode(bytes));
    let webhook = ops::create_webhook(
        state.store.as_ref(),
        &name,
        &url,
        &secret,
        request.format,
        &principal.actor(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook, secret })))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<UpdateWebhook>,
) -> Result<Json<Webhook>, ApiError> {
    principal.require(Permission::Admin)?;
    ops::set_webhook_enabled(state.store.as_ref(), id, request.enabled, &principal.actor(), state.clock.now())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("webhook {id}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    limit: Option<u32>,
}

async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    principal.require(Permission::Admin)?;
    let limit = page_limit(params.limit)?;
    Ok(Json(state.store.webhook_deliveries(id, limit).await?))
}

/// Queues a test notification and wakes the worker.
async fn test(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    principal.require(Permission::Admin)?;
    if !state.store.webhooks().await?.iter().any(|w| w.id == id) {
        return Err(ApiError::NotFound(format!("webhook {id}")));
    }
    ops::queue_test(state.store.as_ref(), id, state.clock.now()).await?;
    state.monitor.wake.notify_one();
    Ok(StatusCode::ACCEPTED)
}
