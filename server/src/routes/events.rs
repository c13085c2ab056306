//! `POST /api/v1/events`: delivery results in, classified, recorded, and acted on by the policy
//! (`service::events` does the work).
//!
//! The body is one `EventInput`, an `EventBatch` (`{"events": [...]}`, up to `MAX_BATCH` items),
//! or a raw bounce email sent as `Content-Type: message/rfc822` (with `recipient`, `source`,
//! `idempotency_key`, `campaign`, `stream` as query parameters). Every item is checked before
//! anything is written; one bad item refuses the whole batch with the item's path in `field`
//! (`events[3].recipient`), and a valid batch is committed in one transaction before the 200.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use base64::Engine as _;
use rebound_api::v1::{EventBatch, EventInput, EventsResponse};
use serde::Deserialize;

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiQuery, is_json, parse_json};
use crate::service::events::ingest_items;
use crate::{AppState, MAX_EVENTS_BODY};

pub fn router() -> Router<AppState> {
    Router::new().route("/events", post(ingest).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY)))
}

/// Query parameters of a `message/rfc822` upload.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    recipient: Option<String>,
    source: Option<String>,
    idempotency_key: Option<String>,
    campaign: Option<String>,
    stream: Option<String>,
}

/// Whether a JSON body is a batch (`{"events": [...]}`), read without building the document: every
/// value is skipped, so the body is parsed into events once.
#[derive(Deserialize)]
struct Shape {
    events: Option<serde::de::IgnoredAny>,
}

async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<RawParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EventsResponse>, ApiError> {
    principal.require(Permission::EventsWrite)?;
    let body = body.map_err(crate::extract::body_error)?;
    let is_email = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("message/rfc822"));
    let (items, single) = if is_email {
        let item = EventInput {
            recipient: params.recipient,
            message_base64: Some(base64::engine::general_purpose::STANDARD.encode(&body)),
            source: params.source,
            idempotency_key: params.idempotency_key,
            campaign: params.campaign,
            stream: params.stream,
            ..EventInput::default()
        };
        (vec![item], true)
    } else if is_json(&headers) {
        match serde_json::from_slice::<Shape>(&body) {
            Ok(Shape { events: Some(_) }) => (parse_json::<EventBatch>(&body)?.events, false),
            // One event, or a body that is no JSON object: the typed parse says what is wrong.
            _ => (vec![parse_json::<EventInput>(&body)?], true),
        }
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    Ok(Json(ingest_items(&state, &principal, &items, single).await?))
}
