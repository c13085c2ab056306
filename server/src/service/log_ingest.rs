//! What an MTA's log gives, stored: the events of a stretch of records (a bad one left out and
//! named, the rest stored) and the attempts among them counted as sends. The KumoMTA and PowerMTA
//! endpoints and `rebound ingest` write through here.

use rebound_api::v1::{EventInput, SendCount};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::monitor::prometheus::SkippedRecord;
use crate::service::events::{BadItems, Mode, ingest_checked};
use crate::service::sends::record_sends_checked;

/// How many problems an outcome lists.
const MAX_PROBLEMS: usize = 10;

/// What a stretch of a log gave.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Events stored (a record read again is recognised by its idempotency key: its event is
    /// answered, not stored twice).
    pub events: u64,
    /// Attempts counted.
    pub sends: u64,
    /// Records that stand for nothing Rebound keeps (other types, no recipient, no reply).
    pub ignored: u64,
    /// Records that could not be read or failed a check, each left out.
    pub errors: u64,
    /// The first few errors, by line.
    pub problems: Vec<String>,
}

impl Outcome {
    /// Counts a record left out, naming it while the list has room.
    pub fn problem(&mut self, text: String) {
        self.errors += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// Stores `items` as `principal`, leaving out each that fails its checks and naming it in
/// `outcome` by `place(i)` (`line 7`, `record 3`); answers the indices of the items left out and
/// of those whose event was stored before (a record read or sent again).
pub(crate) async fn store_events(
    state: &AppState,
    principal: &Principal,
    items: &[EventInput],
    place: impl Fn(usize) -> String,
    outcome: &mut Outcome,
) -> Result<(Vec<usize>, Vec<usize>), ApiError> {
    if items.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let (response, skipped) = ingest_checked(
        state,
        principal,
        items,
        Mode { single: false, bad: BadItems::Skip, given_recipient_first: false },
    )
    .await?;
    let mut left_out = Vec::with_capacity(skipped.len());
    for (item, error) in skipped {
        state.monitor.metrics.skipped_record(SkippedRecord::Unreadable);
        let field = match &error {
            ApiError::Invalid { field: Some(field), .. } => field.rsplit('.').next().unwrap_or(field).to_owned(),
            _ => String::new(),
        };
        outcome.problem(format!("{}: {field} {error}", place(item)));
        left_out.push(item);
    }
    outcome.events += response.results.len() as u64;
    let repeated = response.results.iter().filter(|r| r.duplicate).map(|r| r.item).collect();
    Ok((left_out, repeated))
}

/// Stores `items` (each from the record ending on `line_of[i]`) as `principal`, and counts as a
/// send each whose `attempts[i]` is set and whose event was stored now (not before).
pub(crate) async fn store(
    state: &AppState,
    principal: &Principal,
    items: &[EventInput],
    attempts: &mut [bool],
    line_of: &[u64],
    outcome: &mut Outcome,
) -> Result<(), ApiError> {
    // An attempt is counted with its event: not when the event was left out, nor when it had been
    // stored before (the same line read again).
    let (left_out, repeated) =
        store_events(state, principal, items, |i| format!("line {}", line_of[i]), outcome).await?;
    for item in left_out.into_iter().chain(repeated) {
        attempts[item] = false;
    }
    let sends: Vec<SendCount> = items
        .iter()
        .zip(attempts.iter())
        .filter(|(_, attempt)| **attempt)
        .map(|(item, _)| SendCount {
            count: 1,
            at: item.occurred_at,
            domain: item.recipient.as_deref().and_then(|r| r.rsplit_once('@')).map(|(_, d)| d.to_owned()),
            isp: None,
            campaign: item.campaign.clone(),
            stream: item.stream.clone(),
        })
        .collect();
    if !sends.is_empty() {
        outcome.sends += record_sends_checked(state, &sends, |i, name| format!("sends[{i}].{name}")).await?;
    }
    Ok(())
}
