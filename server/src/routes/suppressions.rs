//! `/api/v1/suppressions`: the list (filtered, cursor-paginated), one entry with its history,
//! adding, and lifting. Entries are never deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{
    AddSuppression, LiftByCause, LiftByCauseResult, LiftSuppression, ListChanges, Page, Suppression, SuppressionChange,
    SuppressionDetail, SuppressionReason,
};
use rebound_policy::GLOBAL_SCOPE;
use rebound_store::ops::{self, LiftRefusal, SuppressChange};
use rebound_store::{AuditQuery, Lift, NewSuppression, SuppressionCursor, SuppressionQuery};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page_limit;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/suppressions", get(list).post(add))
        .route("/suppressions/{id}", get(detail))
        .route("/suppressions/{id}/lift", post(lift))
        .route("/suppressions/lift-by-cause", post(lift_by_cause))
        .route("/suppressions/changes", get(changes))
}

/// The longest a change-feed request may wait for a change.
const MAX_WAIT_SECONDS: u64 = 60;
/// The most changes one answer holds.
const MAX_CHANGES: u32 = 1_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesParams {
    after: Option<i64>,
    limit: Option<u32>,
    wait: Option<u64>,
}

/// `GET /suppressions/changes`: the list's changes after `after`, in commit order; with `wait`, an
/// answer with none waits up to that many seconds for the next.
async fn changes(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<ChangesParams>,
) -> Result<Json<ListChanges>, ApiError> {
    principal.require(Permission::Read)?;
    let after = p.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid_field("after", "must be 0 or a sequence number"));
    }
    let limit = match p.limit {
        None => 100,
        Some(n @ 1..=MAX_CHANGES) => n,
        Some(_) => return Err(ApiError::invalid_field("limit", format!("must be between 1 and {MAX_CHANGES}"))),
    };
    let wait = match p.wait {
        None => 0,
        Some(s @ 0..=MAX_WAIT_SECONDS) => s,
        Some(_) => return Err(ApiError::invalid_field("wait", format!("must be 0 to {MAX_WAIT_SECONDS} seconds"))),
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    loop {
        let next_change = state.index.next_change();
        let items = state.store.list_changes(after, limit).await?;
        if !items.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = items.last().map_or(after, |c| c.sequence);
            return Ok(Json(ListChanges { items, next }));
        }
        // A change elsewhere wakes this; the deadline ends the wait in any case.
        let _ = tokio::time::timeout_at(deadline, next_change).await;
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Address prefix (search as you type).
    q: Option<String>,
    domain: Option<String>,
    reason: Option<SuppressionReason>,
    scope: Option<String>,
    source: Option<String>,
    rule: Option<String>,
    active: Option<bool>,
    from: Option<i64>,
    until: Option<i64>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Cursors are opaque to clients: `i<id>` (newest first) or `k<scope>|<key>` (by address; scopes
/// never contain `|`).
fn parse_cursor(text: &str) -> Option<SuppressionCursor> {
    if let Some(id) = text.strip_prefix('i') {
        return id.parse().ok().map(SuppressionCursor::BeforeId);
    }
    let (scope, key) = text.strip_prefix('k')?.split_once('|')?;
    Some(SuppressionCursor::AfterKey(key.to_owned(), scope.to_owned()))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Page<Suppression>>, ApiError> {
    principal.require(Permission::Read)?;
    let limit = page_limit(p.limit)?;
    let key_prefix = p.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let cursor = p
        .cursor
        .as_deref()
        .map(|c| parse_cursor(c).ok_or_else(|| ApiError::invalid_field("cursor", "is not a cursor from this list")))
        .transpose()?;
    if matches!(cursor, Some(SuppressionCursor::AfterKey(..))) != key_prefix.is_some() && cursor.is_some() {
        return Err(ApiError::invalid_field("cursor", "belongs to a list with a different order"));
    }
    let domain = p.domain.as_deref().map(|d| names::target("domain", d)).transpose()?.map(|t| t.domain().to_owned());
    let now = state.clock.now();
    let query = SuppressionQuery {
        key_prefix: key_prefix.clone(),
        domain,
        reason: p.reason,
        scope: names::optional_label("scope", p.scope.as_deref())?,
        source: names::optional_label("source", p.source.as_deref())?,
        rule: p.rule,
        active: p.active,
        now,
        created_from: p.from,
        created_until: p.until,
        changed_from: None,
        changed_until: None,
        cursor,
        limit: limit + 1,
    };
    let mut items: Vec<Suppression> =
        state.store.suppressions(&query).await?.into_iter().map(|s| ops::as_of(s, now)).collect();
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| {
            if key_prefix.is_some() {
                let key = crate::index::index_entry(last).map(|e| e.key).unwrap_or_default();
                format!("k{}|{key}", last.scope)
            } else {
                format!("i{}", last.id)
            }
        })
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<SuppressionDetail>, ApiError> {
    principal.require(Permission::Read)?;
    let suppression =
        state.store.suppression(id).await?.ok_or_else(|| ApiError::NotFound(format!("suppression {id}")))?;
    let suppression = ops::as_of(suppression, state.clock.now());
    let events = state.store.suppression_events(id, 50).await?;
    let mut history = state
        .store
        .audit(&AuditQuery { target: Some(ops::audit_target(&suppression)), limit: 200, ..AuditQuery::default() })
        .await?;
    if suppression.source.starts_with("import:") {
        let import = AuditQuery { target: Some(suppression.source.clone()), limit: 20, ..AuditQuery::default() };
        history.extend(state.store.audit(&import).await?);
        history.sort_by_key(|entry| std::cmp::Reverse(entry.id));
    }
    Ok(Json(SuppressionDetail { suppression, events, history }))
}

async fn add(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<AddSuppression>,
) -> Result<(StatusCode, Json<SuppressionChange>), ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let target = names::target("address", &request.address)?;
    let scope = names::optional_label("scope", request.scope.as_deref())?.unwrap_or_else(|| GLOBAL_SCOPE.to_owned());
    let note = request.note.as_deref().map(|n| names::text("note", n, 1_000)).transpose()?;
    let now = state.clock.now();
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::invalid_field("expires_at", "must be in the future"));
    }
    let actor = principal.actor();
    let added_by = actor.to_string();
    let new = NewSuppression {
        target: &target,
        scope: &scope,
        reason: request.reason.unwrap_or(SuppressionReason::Manual),
        source: principal.default_source(),
        added_by: &added_by,
        rule: None,
        note: note.as_deref(),
        expires_at: request.expires_at,
        now,
    };
    let (suppression, change, feed) = ops::suppress(state.store.as_ref(), &new, &actor).await?;
    state.index.publish_suppressions(feed, std::slice::from_ref(&suppression)).await;
    let status = match change {
        SuppressChange::Created | SuppressChange::Reopened => StatusCode::CREATED,
        SuppressChange::Escalated | SuppressChange::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(SuppressionChange { suppression, change: change.as_str().to_owned() })))
}

async fn lift(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<LiftSuppression>,
) -> Result<Json<Suppression>, ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let reason = names::text("reason", &request.reason, 500)?;
    let actor = principal.actor();
    let by = actor.to_string();
    let lift = Lift { by: &by, reason: &reason, now: state.clock.now() };
    match ops::lift(state.store.as_ref(), id, &lift, &actor, request.confirm_complaint).await? {
        Ok((entry, feed)) => {
            state.index.publish_suppressions(feed, std::slice::from_ref(&entry)).await;
            Ok(Json(entry))
        }
        Err(LiftRefusal::NotFound) => Err(ApiError::NotFound(format!("suppression {id}"))),
        Err(LiftRefusal::NotActive(_)) => {
            Err(ApiError::State { code: "not_active", message: format!("suppression {id} is already lifted") })
        }
        Err(LiftRefusal::NeedsConfirmation(_)) => Err(ApiError::Invalid {
            code: "confirmation_required",
            message: "this address complained: lifting it needs `confirm_complaint: true`".to_owned(),
            field: Some("confirm_complaint".to_owned()),
        }),
    }
}

async fn lift_by_cause(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<LiftByCause>,
) -> Result<Json<LiftByCauseResult>, ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    if request.rule.is_none() && request.source.is_none() && request.from.is_none() && request.until.is_none() {
        return Err(ApiError::invalid_field("rule", "name a cause: a rule, a source or a time range"));
    }
    let query = SuppressionQuery {
        rule: request.rule.clone(),
        source: names::optional_label("source", request.source.as_deref())?,
        changed_from: request.from,
        changed_until: request.until,
        active: Some(true),
        limit: 20,
        ..SuppressionQuery::default()
    };
    if !request.confirm {
        let matched = ops::matching_ids(state.store.as_ref(), &query).await?.len() as u64;
        let sample = state.store.suppressions(&query).await?;
        let complaints_skipped = if request.include_complaints {
            0
        } else {
            let complaints = SuppressionQuery { reason: Some(SuppressionReason::Complaint), ..query.clone() };
            ops::matching_ids(state.store.as_ref(), &complaints).await?.len() as u64
        };
        return Ok(Json(LiftByCauseResult { matched, lifted: 0, complaints_skipped, sample }));
    }
    let reason = names::text("reason", request.reason.as_deref().unwrap_or(""), 500)?;
    let actor = principal.actor();
    let by = actor.to_string();
    let lift = Lift { by: &by, reason: &reason, now: state.clock.now() };
    let target = format!(
        "cause:rule={},source={},from={},until={}",
        request.rule.as_deref().unwrap_or("*"),
        request.source.as_deref().unwrap_or("*"),
        request.from.map_or_else(|| "*".to_owned(), |t| t.to_string()),
        request.until.map_or_else(|| "*".to_owned(), |t| t.to_string()),
    );
    let done =
        ops::lift_by_cause(state.store.as_ref(), &query, &lift, &actor, request.include_complaints, &target).await?;
    state.index.publish_suppressions(done.feed, &done.lifted).await;
    Ok(Json(LiftByCauseResult {
        matched: done.matched,
        lifted: done.lifted.len() as u64,
        complaints_skipped: done.complaints_skipped,
        sample: done.lifted.into_iter().take(20).collect(),
    }))
}
