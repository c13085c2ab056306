//! Bulk send counts in (`POST /metrics/sends`, MTA logs' attempts): the denominators of every
//! rate, checked and added to the counters by ISP, campaign and stream.

use rebound_api::v1::{Counts, SendCount};
use rebound_monitor::OTHER_ISP;
use rebound_store::monitor::{CountedAt, MetricDelta, count_event, record_sends};

use crate::AppState;
use crate::error::ApiError;
use crate::service::names;

/// Checks and records bulk attempts; `field(i, name)` names a bad field in errors.
pub async fn record_sends_checked(
    state: &AppState,
    sends: &[SendCount],
    field: impl Fn(usize, &str) -> String,
) -> Result<u64, ApiError> {
    let monitoring = state.monitoring().await?;
    let now = state.clock.now();
    let mut deltas: Vec<MetricDelta> = Vec::new();
    let mut recorded = 0;
    for (i, s) in sends.iter().enumerate() {
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
        let place = CountedAt { at, isp: &isp, campaign: campaign.as_deref(), stream: stream.as_deref() };
        count_event(&mut deltas, place, Counts { sent: s.count, ..Counts::default() });
        recorded += s.count;
    }
    if !deltas.is_empty() {
        record_sends(state.store.as_ref(), &deltas).await?;
    }
    state.monitor.metrics.sends(recorded);
    Ok(recorded)
}
