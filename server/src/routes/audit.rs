//! `/api/v1/audit`: the append-only change log (filtered, newest first) and its chain check.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::{AuditEntry, AuditVerification, Page};
use rebound_store::AuditQuery;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::{page_by_id, page_limit};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list)).route("/audit/verify", get(verify))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<i64>,
    until: Option<i64>,
    cursor: Option<i64>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    principal.require(Permission::Read)?;
    let limit = page_limit(p.limit)?;
    let query = AuditQuery {
        actor: p.actor,
        action: p.action,
        target: p.target.map(|t| t.to_lowercase()),
        from: p.from,
        until: p.until,
        before_id: p.cursor,
        limit: limit + 1,
    };
    let items = state.store.audit(&query).await?;
    Ok(Json(page_by_id(items, limit, |e| e.id)))
}

async fn verify(State(state): State<AppState>, principal: Principal) -> Result<Json<AuditVerification>, ApiError> {
    principal.require(Permission::Read)?;
    let mut verification = rebound_store::audit::verify(state.store.as_ref()).await?;
    verification.missing_guards = state.store.missing_guards().await?.into_iter().map(str::to_owned).collect();
    verification.ok &= verification.missing_guards.is_empty();
    Ok(Json(verification))
}
