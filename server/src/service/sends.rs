//! Bulk send counts in (`POST /metrics/sends`, MTA logs' attempts): the denominators of every
//! rate, checked and added to the counters by ISP, campaign and stream. Attempts that come as log
//! records without an event of their own (KumoMTA's Reception records) carry the record's key and
//! are counted once however often the record is sent.

use rebound_api::v1::{Counts, SendCount};
use rebound_monitor::OTHER_ISP;
use rebound_store::monitor::{CountedAt, MetricDeltas, record_sends, record_sends_once};

use crate::AppState;
use crate::error::ApiError;
use crate::service::names;

/// How long a counted record's key is kept: a log hook retries a batch within hours, not days.
pub const RECORD_KEYS_KEPT: i64 = 3 * 86_400;

/// A send count that passed its checks: where it is counted.
struct Checked {
    at: i64,
    isp: String,
    campaign: Option<String>,
    stream: Option<String>,
    count: u64,
}

impl Checked {
    fn place(&self) -> CountedAt<'_> {
        CountedAt { at: self.at, isp: &self.isp, campaign: self.campaign.as_deref(), stream: self.stream.as_deref() }
    }
}

/// Checks send counts; `field(i, name)` names a bad field in errors.
async fn check<'a>(
    state: &AppState,
    sends: impl Iterator<Item = &'a SendCount>,
    field: impl Fn(usize, &str) -> String,
) -> Result<Vec<Checked>, ApiError> {
    let monitoring = state.monitoring().await?;
    let now = state.clock.now();
    let mut checked = Vec::new();
    for (i, s) in sends.enumerate() {
        let field = |name: &str| field(i, name);
        if s.count == 0 || s.count > 1_000_000_000 {
            return Err(ApiError::invalid_field(field("count"), "must be between 1 and 1,000,000,000"));
        }
        let isp = match (&s.isp, &s.domain) {
            (Some(isp), _) => names::text(&field("isp"), isp, 64)?,
            (None, Some(domain)) => {
                let target = names::target(&field("domain"), domain)?;
                monitoring.isps.isp_of(target.domain()).to_owned()
            }
            (None, None) => OTHER_ISP.to_owned(),
        };
        let campaign = names::optional_label(&field("campaign"), s.campaign.as_deref())?;
        let stream = names::optional_label(&field("stream"), s.stream.as_deref())?;
        let at = s.at.unwrap_or(now);
        if at > now + 3600 {
            return Err(ApiError::invalid_field(field("at"), "is in the future"));
        }
        checked.push(Checked { at, isp, campaign, stream, count: s.count });
    }
    Ok(checked)
}

/// Checks and records bulk attempts; `field(i, name)` names a bad field in errors.
pub async fn record_sends_checked(
    state: &AppState,
    sends: &[SendCount],
    field: impl Fn(usize, &str) -> String,
) -> Result<u64, ApiError> {
    let checked = check(state, sends.iter(), field).await?;
    let mut deltas = MetricDeltas::default();
    for send in &checked {
        deltas.count(send.place(), Counts { sent: send.count, ..Counts::default() });
    }
    if !deltas.is_empty() {
        record_sends(state.store.as_ref(), deltas.as_slice()).await?;
    }
    let recorded = checked.iter().map(|s| s.count).sum();
    state.monitor.metrics.sends(recorded);
    Ok(recorded)
}

/// Checks and records attempts that each come with their record's key, counting each key once
/// ever; answers how many were counted (not those sent before).
pub async fn record_keyed_sends(
    state: &AppState,
    sends: &[(String, SendCount)],
    field: impl Fn(usize, &str) -> String,
) -> Result<u64, ApiError> {
    let checked = check(state, sends.iter().map(|(_, send)| send), field).await?;
    let keyed: Vec<(&str, CountedAt<'_>, u64)> =
        sends.iter().zip(&checked).map(|((key, _), send)| (key.as_str(), send.place(), send.count)).collect();
    let counted = record_sends_once(state.store.as_ref(), &keyed, state.clock.now()).await?;
    state.monitor.metrics.sends(counted);
    Ok(counted)
}
