//! `POST /api/v1/classify`: the classifier as a service, for integrations that can't run it.
//! Any signed-in staff member or API key may call it: it changes nothing. It classifies with the
//! saved policy's classifier (staff rules and kind overrides), the one `/events` and the console
//! use, so the three never disagree.

use axum::extract::State;
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
    State(state): State<AppState>,
    _caller: Principal,
    ApiJson(request): ApiJson<ClassifyRequest>,
) -> Result<Json<ClassifyResponse>, ApiError> {
    if request.reply.trim().is_empty() {
        return Err(ApiError::invalid_field("reply", "the reply is empty"));
    }
    if request.reply.len() > MAX_REPLY_BYTES {
        return Err(ApiError::invalid_field("reply", format!("the reply is longer than {MAX_REPLY_BYTES} bytes")));
    }
    let engine = state.engine().await?;
    Ok(Json(ClassifyResponse { verdict: engine.classifier.classify_reply(&request.reply) }))
}
