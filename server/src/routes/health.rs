//! `GET /api/v1/health`: unauthenticated liveness and database check for load balancers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::Health;

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: state.store.backend().to_owned(),
    }))
}
