//! `POST /api/v1/integrations/powermta`: a stretch of a PowerMTA accounting file (its header line
//! first), read by `service::powermta`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use rebound_api::v1::LogRecordsIngested;

use crate::AppState;
use crate::MAX_EVENTS_BODY;
use crate::auth::{Permission, Principal};
use crate::csv::CsvRecords;
use crate::error::ApiError;
use crate::service::events::MAX_BATCH;
use crate::service::powermta::{Columns, MAX_FIELDS, MAX_RECORD, ingest_records};

pub fn router() -> Router<AppState> {
    Router::new().route("/integrations/powermta", post(ingest).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY)))
}

async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Json<LogRecordsIngested>, ApiError> {
    principal.require(Permission::EventsWrite)?;
    let mut records = CsvRecords::new(MAX_RECORD, MAX_FIELDS, false).all(&body).into_iter();
    let columns = match records.next() {
        Some((Ok(header), _)) => Columns::read(&header).map_err(|e| ApiError::invalid_field("body", e))?,
        Some((Err(e), _)) => return Err(ApiError::invalid_field("body", format!("the header line is {e}"))),
        None => return Err(ApiError::invalid_field("body", "the body is empty: send an accounting file")),
    };
    let records: Vec<(Result<Vec<String>, String>, u64)> = records.collect();
    if records.len() > MAX_BATCH {
        return Err(ApiError::invalid_field("body", format!("at most {MAX_BATCH} records per request")));
    }
    let outcome = ingest_records(&state, &principal, &columns, &records).await?;
    Ok(Json(LogRecordsIngested {
        events: outcome.events,
        sends: outcome.sends,
        ignored: outcome.ignored + outcome.errors,
        problems: outcome.problems,
    }))
}
