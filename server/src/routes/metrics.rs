//! `/api/v1/sends`, `/api/v1/metrics/...` and `/api/v1/alerts`: the attempts MTAs report in bulk,
//! the dashboards' figures (read from 5-minute bucket counters, so they answer in constant time
//! however many events are stored), and the alerts' states and transitions.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{
    AlertsResponse, MetricsBreakdown, MetricsOverview, MetricsSeries, SendReport, SendsRecorded, SeriesPoint,
    SuppressionGrowth,
};
use rebound_monitor::BUCKET_SECONDS;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::monitor::figures;
use crate::routes::page_limit;

/// Most counts in one `POST /sends`.
const MAX_SENDS: usize = 10_000;
/// The oldest data the dashboards read (the series keep at least this much).
const MAX_HOURS: u32 = 24 * 31;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sends", post(sends))
        .route("/metrics/overview", get(overview))
        .route("/metrics/breakdown", get(breakdown))
        .route("/metrics/series", get(series))
        .route("/metrics/suppressions", get(growth))
        .route("/alerts", get(alerts))
}

async fn sends(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(report): ApiJson<SendReport>,
) -> Result<Json<SendsRecorded>, ApiError> {
    principal.require(Permission::EventsWrite)?;
    if report.sends.is_empty() || report.sends.len() > MAX_SENDS {
        return Err(ApiError::invalid_field("sends", format!("send 1 to {MAX_SENDS} counts")));
    }
    let recorded =
        crate::service::sends::record_sends_checked(&state, &report.sends, |i, name| format!("sends[{i}].{name}"))
            .await?;
    Ok(Json(SendsRecorded { recorded }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowParams {
    hours: Option<u32>,
}

fn hours(value: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match value.unwrap_or(default) {
        h @ 1..=MAX_HOURS => Ok(h),
        _ => Err(ApiError::invalid_field("hours", format!("must be between 1 and {MAX_HOURS}"))),
    }
}

async fn overview(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<WindowParams>,
) -> Result<Json<MetricsOverview>, ApiError> {
    principal.require(Permission::Read)?;
    let monitoring = state.monitoring().await?;
    let hours = hours(params.hours, monitoring.settings.window_hours)?;
    let now = state.clock.now();
    let window = figures::window(now, hours);
    let store = state.store.as_ref();
    let (_, total) = figures::rows(store, "all", window, monitoring.settings.min_volume).await?;
    let list = figures::list_growth(store, state.index.len() as u64, now, hours).await?;
    Ok(Json(MetricsOverview {
        from: window.0,
        until: window.1,
        total: figures::row("all".to_owned(), total, monitoring.settings.min_volume),
        list,
        alerts: store.alert_states().await?,
        pauses: store.pauses(true, 100).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakdownParams {
    by: String,
    hours: Option<u32>,
    limit: Option<u32>,
}

async fn breakdown(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<Json<MetricsBreakdown>, ApiError> {
    principal.require(Permission::Read)?;
    let dimension = match params.by.as_str() {
        "isp" => "isp",
        "campaign" => "campaign",
        "stream" => "stream",
        _ => return Err(ApiError::invalid_field("by", "must be `isp`, `campaign` or `stream`")),
    };
    let monitoring = state.monitoring().await?;
    let hours = hours(params.hours, monitoring.settings.window_hours)?;
    let limit = page_limit(params.limit)? as usize;
    let window = figures::window(state.clock.now(), hours);
    let (mut rows, _) = figures::rows(state.store.as_ref(), dimension, window, monitoring.settings.min_volume).await?;
    rows.truncate(limit);
    Ok(Json(MetricsBreakdown { from: window.0, until: window.1, rows }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesParams {
    hours: Option<u32>,
    /// Seconds per point, a multiple of 300.
    step: Option<i64>,
    isp: Option<String>,
    campaign: Option<String>,
    stream: Option<String>,
}

/// Most points in one series.
const MAX_POINTS: i64 = 2_016;

async fn series(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> Result<Json<MetricsSeries>, ApiError> {
    principal.require(Permission::Read)?;
    let hours = hours(params.hours, 24)?;
    let step = params.step.unwrap_or(BUCKET_SECONDS);
    if step < BUCKET_SECONDS || step % BUCKET_SECONDS != 0 {
        return Err(ApiError::invalid_field("step", "must be a multiple of 300 seconds"));
    }
    if i64::from(hours) * 3600 / step > MAX_POINTS {
        return Err(ApiError::invalid_field(
            "step",
            format!("would give more than {MAX_POINTS} points: use a longer step"),
        ));
    }
    let (dimension, name) = match (&params.isp, &params.campaign, &params.stream) {
        (Some(isp), None, None) => ("isp", Some(isp.as_str())),
        (None, Some(campaign), None) => ("campaign", Some(campaign.as_str())),
        (None, None, Some(stream)) => ("stream", Some(stream.as_str())),
        (None, None, None) => ("all", None),
        _ => return Err(ApiError::invalid_field("isp", "give at most one of isp, campaign and stream")),
    };
    let (from, until) = figures::window(state.clock.now(), hours);
    let points = state
        .store
        .metric_series(dimension, name, from, until, step)
        .await?
        .into_iter()
        .map(|(at, counts)| SeriesPoint { at, rates: counts.rates(), counts })
        .collect();
    Ok(Json(MetricsSeries { step, points }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrowthParams {
    days: Option<u32>,
}

async fn growth(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<GrowthParams>,
) -> Result<Json<SuppressionGrowth>, ApiError> {
    principal.require(Permission::Read)?;
    let days = match params.days.unwrap_or(30) {
        d @ 1..=366 => d,
        _ => return Err(ApiError::invalid_field("days", "must be between 1 and 366")),
    };
    let days = figures::growth_days(state.store.as_ref(), state.index.len() as u64, state.clock.now(), days).await?;
    Ok(Json(SuppressionGrowth { days }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertParams {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn alerts(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<AlertParams>,
) -> Result<Json<AlertsResponse>, ApiError> {
    principal.require(Permission::Read)?;
    let limit = page_limit(params.limit)?;
    Ok(Json(AlertsResponse {
        states: state.store.alert_states().await?,
        transitions: state.store.alert_transitions(params.before, limit).await?,
    }))
}
