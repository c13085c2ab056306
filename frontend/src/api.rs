//! Every HTTP request the console makes goes through here: one place for the base path, the CSRF
//! header on writes, and turning the server's `ErrorBody` into a message a person can read.

use gloo_net::http::{Request, RequestBuilder, Response};
use rebound_api::v1::{
    AddSuppression, ApiKey, AuditEntry, AuditVerification, CreateApiKey, CreateImport, CreateUser, CreatedApiKey,
    ErrorBody, EventBatch, EventInput, EventsResponse, ImportFormat, ImportJob, LiftSuppression, LoginRequest, Me,
    Page, Policy, PolicyPreview, ResumePause, Suppression, SuppressionChange, SuppressionDetail, SuppressionReason,
    UpdateUser, UserInfo, UserWithPassword,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

const BASE: &str = "/api/v1";
const CSRF_HEADER: &str = "X-Rebound-Csrf";

/// A failed request, with the server's message (or the network's) and the request field to
/// blame, when the server named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: Option<u16>,
    pub message: String,
    pub field: Option<String>,
}

impl ApiFailure {
    fn network(e: gloo_net::Error) -> Self {
        Self { status: None, message: format!("the server could not be reached ({e})"), field: None }
    }

    /// The message when the failure is about `field`, for showing it next to that control.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

async fn failure(response: Response) -> ApiFailure {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ApiFailure { status: Some(status), message: body.error.message, field: body.error.field },
        Err(_) => ApiFailure { status: Some(status), message: format!("the server answered {status}"), field: None },
    }
}

/// Sends a request and reads a JSON answer, or the server's error.
async fn fetch<T: DeserializeOwned>(request: Result<Request, gloo_net::Error>) -> Result<T, ApiFailure> {
    let response = request.map_err(ApiFailure::network)?.send().await.map_err(ApiFailure::network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    response.json::<T>().await.map_err(ApiFailure::network)
}

/// Sends a request whose answer the console does not need, beyond its success or error.
async fn send(request: Result<Request, gloo_net::Error>) -> Result<(), ApiFailure> {
    let response = request.map_err(ApiFailure::network)?.send().await.map_err(ApiFailure::network)?;
    if response.ok() { Ok(()) } else { Err(failure(response).await) }
}

fn url(path: &str) -> String {
    format!("{BASE}{path}")
}

/// A write: cookie-authenticated writes must carry the CSRF header.
fn write(builder: RequestBuilder) -> RequestBuilder {
    builder.header(CSRF_HEADER, "1")
}

/// Signs in; the server sets the session cookie.
pub async fn login(username: String, password: String) -> Result<Me, ApiFailure> {
    fetch(Request::post(&url("/auth/login")).json(&LoginRequest { username, password })).await
}

/// The signed-in user, or `None` when the session is missing or expired.
pub async fn me() -> Result<Option<Me>, ApiFailure> {
    let response = Request::get(&url("/auth/me")).send().await.map_err(ApiFailure::network)?;
    match response.status() {
        401 => Ok(None),
        _ if response.ok() => response.json::<Me>().await.map(Some).map_err(ApiFailure::network),
        _ => Err(failure(response).await),
    }
}

pub async fn logout() -> Result<(), ApiFailure> {
    send(write(Request::post(&url("/auth/logout"))).build()).await
}

/// The filters of the suppression list, as the console's controls set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuppressionFilter {
    /// Address prefix; empty for none.
    pub q: String,
    pub reason: Option<SuppressionReason>,
    /// Scope label; empty for any.
    pub scope: String,
    pub active: Option<bool>,
}

/// One page of the suppression list; `cursor` continues the page before it.
pub async fn suppressions(filter: &SuppressionFilter, cursor: Option<&str>) -> Result<Page<Suppression>, ApiFailure> {
    let mut params: Vec<(&str, String)> = vec![("limit", "50".to_owned())];
    if !filter.q.trim().is_empty() {
        params.push(("q", filter.q.trim().to_owned()));
    }
    if let Some(reason) = filter.reason {
        params.push(("reason", reason.as_str().to_owned()));
    }
    if !filter.scope.trim().is_empty() {
        params.push(("scope", filter.scope.trim().to_owned()));
    }
    if let Some(active) = filter.active {
        params.push(("active", active.to_string()));
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor.to_owned()));
    }
    fetch(Request::get(&url("/suppressions")).query(params).build()).await
}

/// One entry with its events and audit history.
pub async fn suppression(id: i64) -> Result<SuppressionDetail, ApiFailure> {
    fetch(Request::get(&url(&format!("/suppressions/{id}"))).build()).await
}

pub async fn add_suppression(request: &AddSuppression) -> Result<SuppressionChange, ApiFailure> {
    fetch(write(Request::post(&url("/suppressions"))).json(request)).await
}

pub async fn lift_suppression(id: i64, request: &LiftSuppression) -> Result<Suppression, ApiFailure> {
    fetch(write(Request::post(&url(&format!("/suppressions/{id}/lift")))).json(request)).await
}

/// The address of the list's download in `format`: a link the browser follows, not a fetch.
pub fn export_url(format: ImportFormat) -> String {
    url(&format!("/suppressions/export?format={}", format.as_str()))
}

/// Declares an import job; its file follows with [`upload_import`].
pub async fn create_import(request: &CreateImport) -> Result<ImportJob, ApiFailure> {
    fetch(write(Request::post(&url("/imports"))).json(request)).await
}

/// Streams the file into the job; answers the finished job once the whole file is processed.
pub async fn upload_import(id: i64, format: ImportFormat, file: &web_sys::File) -> Result<ImportJob, ApiFailure> {
    let content_type = match format {
        ImportFormat::Text => "text/plain",
        ImportFormat::Csv => "text/csv",
    };
    fetch(
        write(Request::put(&url(&format!("/imports/{id}/data"))))
            .header("Content-Type", content_type)
            .body(file.clone()),
    )
    .await
}

/// The most recent import jobs, newest first.
pub async fn import_jobs() -> Result<Vec<ImportJob>, ApiFailure> {
    fetch(Request::get(&url("/imports")).build()).await
}

/// The job's committed progress.
pub async fn import_job(id: i64) -> Result<ImportJob, ApiFailure> {
    fetch(Request::get(&url(&format!("/imports/{id}"))).build()).await
}

/// The filters of the audit log; empty strings are no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub target: String,
}

/// One page of the audit log, newest first.
pub async fn audit(filter: &AuditFilter, cursor: Option<&str>) -> Result<Page<AuditEntry>, ApiFailure> {
    let mut params: Vec<(&str, String)> = vec![("limit", "50".to_owned())];
    for (name, value) in [("actor", &filter.actor), ("action", &filter.action), ("target", &filter.target)] {
        if !value.trim().is_empty() {
            params.push((name, value.trim().to_owned()));
        }
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor.to_owned()));
    }
    fetch(Request::get(&url("/audit")).query(params).build()).await
}

/// The audit log's hash-chain check.
pub async fn verify_audit() -> Result<AuditVerification, ApiFailure> {
    fetch(Request::get(&url("/audit/verify")).build()).await
}

/// The policy in force: thresholds, the reason → kind table and the staff rules.
pub async fn policy() -> Result<Policy, ApiFailure> {
    fetch(Request::get(&url("/settings/policy")).build()).await
}

/// Saves a policy; the server validates it and names the field at fault.
pub async fn save_policy(policy: &Policy) -> Result<Policy, ApiFailure> {
    fetch(write(Request::put(&url("/settings/policy"))).json(policy)).await
}

/// What `policy` would change in the verdicts of recent stored events.
pub async fn preview_policy(policy: &Policy) -> Result<PolicyPreview, ApiFailure> {
    fetch(write(Request::post(&url("/settings/policy/preview"))).json(policy)).await
}

/// The verdicts no rule explained over the last `hours`, grouped by the shape of their text, as
/// JSON (see `pages::unclassified`).
pub async fn unclassified(hours: u32) -> Result<Value, ApiFailure> {
    fetch(Request::get(&url(&format!("/unclassified?hours={hours}"))).build()).await
}

/// Alert thresholds, the minimum volume, the hysteresis and the provider map, as JSON (see
/// `pages::policy_alerts` for why not as `MonitoringSettings`).
pub async fn monitoring() -> Result<Value, ApiFailure> {
    fetch(Request::get(&url("/settings/monitoring")).build()).await
}

/// Saves the monitoring settings; the server validates them and names the field at fault. The
/// body is written with `Value`'s `Display`, which the console has anyway (the audit page).
pub async fn save_monitoring(settings: &Value) -> Result<Value, ApiFailure> {
    let request = write(Request::put(&url("/settings/monitoring"))).header("Content-Type", "application/json");
    fetch(request.body(settings.to_string())).await
}

/// Records bounces as events, in one batch; the answer says what the policy did with each recipient.
pub async fn record_events(events: Vec<EventInput>) -> Result<EventsResponse, ApiFailure> {
    fetch(write(Request::post(&url("/events"))).json(&EventBatch { events })).await
}

/// A page of staff accounts (admin only), newest first; `cursor` continues the page before it.
pub async fn users(cursor: Option<String>) -> Result<Page<UserInfo>, ApiFailure> {
    fetch(Request::get(&url("/users")).query(cursor.map(|c| ("cursor", c))).build()).await
}

/// Creates an account; a generated password is in the answer, and only there.
pub async fn create_user(request: &CreateUser) -> Result<UserWithPassword, ApiFailure> {
    fetch(write(Request::post(&url("/users"))).json(request)).await
}

/// Changes an account's role or disables (or enables) it.
pub async fn update_user(id: i64, request: &UpdateUser) -> Result<UserInfo, ApiFailure> {
    fetch(write(Request::patch(&url(&format!("/users/{id}")))).json(request)).await
}

/// Replaces an account's password with a generated one, shown once.
pub async fn reset_password(id: i64) -> Result<UserWithPassword, ApiFailure> {
    fetch(write(Request::post(&url(&format!("/users/{id}/reset-password")))).build()).await
}

/// A page of API keys (admin only), newest first, revoked ones included; never their tokens.
pub async fn keys(cursor: Option<String>) -> Result<Page<ApiKey>, ApiFailure> {
    fetch(Request::get(&url("/keys")).query(cursor.map(|c| ("cursor", c))).build()).await
}

/// Creates a key; the token is in the answer, and only there.
pub async fn create_key(request: &CreateApiKey) -> Result<CreatedApiKey, ApiFailure> {
    fetch(write(Request::post(&url("/keys"))).json(request)).await
}

pub async fn revoke_key(id: i64) -> Result<ApiKey, ApiFailure> {
    fetch(write(Request::post(&url(&format!("/keys/{id}/revoke")))).build()).await
}

/// What the dashboard reads. Its answers are taken as JSON values and only the figures drawn are
/// picked out: deriving deserialisers for every monitoring type (counts, rates, rows, states,
/// transitions, pauses, days) costs tens of kilobytes of wasm, more than the whole page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Totals, the list's growth, alert states and pauses, over the last `hours`.
    Overview { hours: u32 },
    /// Figures per `by` (`isp` or `campaign`), most attempts first.
    Breakdown { by: &'static str, hours: u32 },
    /// Everything's counts and rates, one point per `step` seconds that counted something.
    Series { hours: u32, step: u32 },
    /// The list's growth per UTC day.
    Growth { days: u32 },
    /// Every alert's state and the latest `limit` transitions.
    Alerts { limit: u32 },
    /// The newest `limit` entries of the suppression list.
    Newest { limit: u32 },
}

impl Reading {
    fn path(self) -> String {
        match self {
            Reading::Overview { hours } => format!("/metrics/overview?hours={hours}"),
            Reading::Breakdown { by, hours } => format!("/metrics/breakdown?by={by}&hours={hours}&limit=20"),
            Reading::Series { hours, step } => format!("/metrics/series?hours={hours}&step={step}"),
            Reading::Growth { days } => format!("/metrics/suppressions?days={days}"),
            Reading::Alerts { limit } => format!("/alerts?limit={limit}"),
            Reading::Newest { limit } => format!("/suppressions?limit={limit}"),
        }
    }
}

/// One of the dashboard's reads, as JSON.
pub async fn read(reading: Reading) -> Result<Value, ApiFailure> {
    fetch(Request::get(&url(&reading.path())).build()).await
}

/// Resumes a paused scope; the reason is required and audited.
pub async fn resume_pause(id: i64, request: &ResumePause) -> Result<(), ApiFailure> {
    send(write(Request::post(&url(&format!("/pauses/{id}/resume")))).json(request)).await
}
