//! `POST /api/v1/classify`: the classifier as a service, for integrations that can't run it.
//! Any signed-in staff member or API key may call it: it reads nothing and changes nothing.

use axum::routing::post;
use axum::{Json, Router};
use rebound_api::v1::{ClassifyRequest, ClassifyResponse};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Longest reply text accepted; real multi-line replies are a few kilobytes at most.
const MAX_REPLY_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/classify", post(classify))
}

async fn classify(
    _caller: Principal,
    ApiJson(request): ApiJson<ClassifyRequest>,
) -> Result<Json<ClassifyResponse>, ApiError> {
    if request.reply.trim().is_empty() {
        return Err(ApiError::invalid_field("reply", "the reply is empty"));
    }
    if request.reply.len() > MAX_REPLY_BYTES {
        return Err(ApiError::invalid_field("reply", format!("the reply is longer than {MAX_REPLY_BYTES} bytes")));
    }
    Ok(Json(ClassifyResponse { verdict: rebound_core::classify_reply(&request.reply) }))
}
