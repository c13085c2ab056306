//! `/api/v1/imports`: bulk imports as jobs. `POST /imports` declares one (format, default scope
//! and reason) and answers its id; `PUT /imports/{id}/data` streams the file into it and answers
//! the final report; meanwhile `GET /imports/{id}` shows the committed progress (a console polls
//! it to draw a progress bar). `GET /suppressions/export` streams the list back out.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rebound_api::v1::{CreateImport, ImportFormat, ImportJob, SuppressionReason};
use rebound_policy::GLOBAL_SCOPE;
use rebound_store::NewImport;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::export::{self, ExportFilter};
use crate::extract::{ApiJson, ApiQuery};
use crate::import;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/imports", post(create).get(list))
        .route("/imports/{id}", get(show))
        .route("/suppressions/export", get(export_list))
}

/// The upload, kept apart so that the request timeout does not cut a long file short.
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/imports/{id}/data", put(upload).layer(DefaultBodyLimit::disable()))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateImport>,
) -> Result<(StatusCode, Json<ImportJob>), ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let scope = names::optional_label("scope", request.scope.as_deref())?.unwrap_or_else(|| GLOBAL_SCOPE.to_owned());
    let created_by = principal.actor().to_string();
    let job = state
        .store
        .create_import(&NewImport {
            format: request.format,
            scope: &scope,
            reason: request.reason.unwrap_or(SuppressionReason::Manual),
            created_by: &created_by,
            now: state.clock.now(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}

async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<ImportJob>>, ApiError> {
    principal.require(Permission::Read)?;
    Ok(Json(state.store.import_jobs(50).await?))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ImportJob>, ApiError> {
    principal.require(Permission::Read)?;
    Ok(Json(state.store.import_job(id).await?.ok_or_else(|| ApiError::NotFound(format!("import {id}")))?))
}

async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportJob>, ApiError> {
    principal.require(Permission::SuppressionsWrite)?;
    let Some(mut job) = state.store.claim_import(id, state.clock.now()).await? else {
        return match state.store.import_job(id).await? {
            None => Err(ApiError::NotFound(format!("import {id}"))),
            Some(job) => Err(ApiError::State {
                code: "import_started",
                message: format!(
                    "import {id} is {}: each import takes its data once (an interrupted one again, to resume it)",
                    job.state
                ),
            }),
        };
    };
    job.bytes_total = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    // The import runs in its own task: if the client goes away, the task still sees the body end
    // with an error and records the job as failed, rather than leaving it `running` forever.
    let actor = principal.actor();
    let task = tokio::spawn(async move {
        import::run(state.store.as_ref(), Some(&state.index), &state.clock, job, &actor, body.into_data_stream()).await
    });
    let job = task.await.map_err(|e| ApiError::Internal(format!("the import task failed: {e}")))??;
    Ok(Json(job))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportParams {
    format: Option<ImportFormat>,
    scope: Option<String>,
    reason: Option<SuppressionReason>,
    #[serde(default)]
    include_lifted: bool,
}

async fn export_list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    principal.require(Permission::Read)?;
    let format = p.format.unwrap_or(ImportFormat::Text);
    let filter = ExportFilter {
        scope: names::optional_label("scope", p.scope.as_deref())?,
        reason: p.reason,
        include_lifted: p.include_lifted,
    };
    let (mime, extension) = match format {
        ImportFormat::Text => ("text/plain; charset=utf-8", "txt"),
        ImportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let now = state.clock.now();
    let body = Body::from_stream(export::stream(state.store.clone(), format, filter, now));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
    let name = format!("attachment; filename=\"suppressions-{now}.{extension}\"");
    if let Ok(value) = HeaderValue::try_from(name) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
