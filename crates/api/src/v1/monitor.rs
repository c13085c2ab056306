//! Wire types of monitoring: sends reported in bulk, the dashboards' figures, alert states and
//! transitions, outbound webhooks with their delivery log, and pauses. The rules behind them
//! (thresholds, presets, provider grouping) are `rebound_monitor`'s and re-exported here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use rebound_monitor::{
    AlertAction, AlertLevel, AlertScope, Counts, Metric, MonitoringSettings, PRESETS, Preset, Rates, Threshold,
};

/// `POST /api/v1/sends`: attempts an MTA reports in bulk, the denominators of every rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendReport {
    pub sends: Vec<SendCount>,
}

/// Messages sent to one provider (by a recipient `domain`, or the provider's name as `isp`) for
/// one campaign and stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendCount {
    pub count: u64,
    /// When, in Unix seconds (default: when received).
    #[serde(default)]
    pub at: Option<i64>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub isp: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub stream: Option<String>,
}

/// The answer to `POST /api/v1/sends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendsRecorded {
    pub recorded: u64,
}

/// Counts and rates of one provider, one campaign, or everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub name: String,
    pub counts: Counts,
    pub rates: Rates,
    /// Enough attempts for the rates to alert (see `min_volume`).
    pub enough_volume: bool,
}

/// The list's size and growth over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListGrowth {
    pub active: u64,
    pub added: u64,
    pub lifted: u64,
    /// Added over the window, in percent of the active entries at its start.
    pub growth_rate: f64,
}

/// `GET /api/v1/metrics/overview`: the headline figures over the rolling window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsOverview {
    pub from: i64,
    pub until: i64,
    pub total: MetricRow,
    pub list: ListGrowth,
    pub alerts: Vec<AlertState>,
    pub pauses: Vec<Pause>,
}

/// `GET /api/v1/metrics/breakdown`: per provider, campaign or stream, most attempts first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsBreakdown {
    pub from: i64,
    pub until: i64,
    pub rows: Vec<MetricRow>,
}

/// One point of a time series: the bucket starting at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub at: i64,
    pub counts: Counts,
    pub rates: Rates,
}

/// `GET /api/v1/metrics/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSeries {
    pub step: i64,
    pub points: Vec<SeriesPoint>,
}

/// One UTC day of the list's growth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthDay {
    /// The day's start, Unix seconds.
    pub day: i64,
    pub added: u64,
    pub added_by_reason: BTreeMap<String, u64>,
    pub lifted: u64,
    /// Active entries at the day's end.
    pub active: u64,
    /// Added that day, in percent of the active entries at its start.
    pub growth_rate: f64,
}

/// `GET /api/v1/metrics/suppressions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressionGrowth {
    pub days: Vec<GrowthDay>,
}

/// An alert's current state at one concrete scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub metric: Metric,
    /// `all`, `isp:NAME` or `campaign:NAME`.
    pub scope: String,
    pub level: AlertLevel,
    pub value: f64,
    pub volume: u64,
    /// Since when it has been at this level.
    pub since: i64,
    pub updated_at: i64,
}

/// A level change, as stored (and audited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    pub id: i64,
    pub at: i64,
    pub metric: Metric,
    pub scope: String,
    pub from: AlertLevel,
    pub to: AlertLevel,
    pub value: f64,
    pub volume: u64,
    pub threshold: f64,
    /// The pause this transition started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_id: Option<i64>,
}

/// `GET /api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsResponse {
    pub states: Vec<AlertState>,
    pub transitions: Vec<AlertTransition>,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"event": "alert.critical", "at": ..., "alert": {...}}`.
    Json,
    /// A Slack incoming-webhook message (`{"text": ...}`), also understood by Mattermost and Rocket.Chat.
    Slack,
}

/// An outbound webhook. Its secret is shown once, when created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub format: WebhookFormat,
    pub enabled: bool,
    pub created_at: i64,
    pub created_by: String,
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub name: String,
    pub url: String,
    #[serde(default = "json_format")]
    pub format: WebhookFormat,
}

fn json_format() -> WebhookFormat {
    WebhookFormat::Json
}

/// A new webhook and the secret its requests are signed with (shown only here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// `PATCH /api/v1/webhooks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One notification to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub created_at: i64,
    pub event: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub body: String,
}

/// How the MTA mirroring a pause is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtaState {
    Suspending,
    Suspended,
    Resuming,
    Resumed,
    Failed,
}

/// A paused scope: checks of matching recipients answer `paused` until staff resume it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub id: i64,
    /// `all`, `isp:NAME` or `campaign:NAME`.
    pub scope: String,
    pub reason: String,
    pub created_at: i64,
    pub created_by: String,
    /// The alert transition that paused it (none for a staff pause).
    pub transition_id: Option<i64>,
    pub resumed_at: Option<i64>,
    pub resumed_by: Option<String>,
    pub resume_reason: Option<String>,
    /// The KumoMTA suspension mirroring it, when an MTA is configured.
    pub mta_state: Option<MtaState>,
    pub mta_error: Option<String>,
}

/// `POST /api/v1/pauses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePause {
    pub scope: String,
    pub reason: String,
}

/// `POST /api/v1/pauses/{id}/resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePause {
    pub reason: String,
}

/// The answer to `POST /api/v1/integrations/kumomta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecordsIngested {
    /// Events stored (deliveries, bounces, deferrals, expirations, out-of-band bounces, complaints).
    pub events: u64,
    /// Attempts counted from reception records.
    pub sends: u64,
    /// Records of types Rebound does not use, or that could not be read.
    pub ignored: u64,
    /// Why records could not be read (the first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}
