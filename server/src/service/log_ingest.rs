//! What an MTA's log gives, stored: the events of a stretch of records (a bad one left out and
//! named, the rest stored) and the attempts among them counted as sends. The KumoMTA and PowerMTA
//! endpoints and `rebound ingest` write through here.

use std::sync::Arc;

use rebound_api::v1::{EventInput, SendCount};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::monitor::prometheus::SkippedRecord;
use crate::service::events::{BadItems, LOG_BATCH, MAX_BATCH, Mode, Prepared, prepare_batch, store_prepared};
use crate::service::sends::record_sends_checked;
use crate::state::Engine;

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

/// A log record's idempotency key: `PREFIX:TIME:DIGEST`, the record's time (hex Unix seconds)
/// first, so that the keys of a log written in time order go into the index in order, then 128
/// bits of the SHA-256 of `parts` (each ended by a NUL).
pub(crate) fn record_key<'a>(prefix: &str, at: Option<i64>, parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
        hash.update([0]);
    }
    format!("{prefix}:{:010x}:{}", at.unwrap_or_default().max(0), hex::encode(&hash.finalize()[..16]))
}

/// How a log's records are taken: a bad record is left out (a batch refused for one record would
/// be sent again and again), a delivery is marked rather than stored as an event; a stretch may
/// hold `LOG_BATCH` records and what the last chunk read added.
const LOG_MODE: Mode = Mode {
    single: false,
    bad: BadItems::Skip,
    given_recipient_first: false,
    mark_deliveries: true,
    limit: LOG_BATCH + MAX_BATCH,
};

/// A stretch of a log's records, read, checked and classified, waiting to be stored.
pub(crate) struct Stretch {
    items: Vec<EventInput>,
    /// Whether each item's record is an attempt (counted as a send once its event is stored).
    attempts: Vec<bool>,
    /// None when the stretch has no item.
    prepared: Option<Prepared>,
    /// Where each item is, for the problems named (`line 7`, `record 3`): the unit, and the number
    /// of each item's record.
    unit: &'static str,
    place: Vec<u64>,
    /// What reading the records found (records ignored or unreadable).
    pub outcome: Outcome,
}

impl Stretch {
    /// Checks and classifies `items` (each with its place in the log and whether it is an
    /// attempt) with the policy in force: no database is involved.
    pub fn new(
        engine: Arc<Engine>,
        principal: &Principal,
        now: i64,
        items: Vec<EventInput>,
        attempts: Vec<bool>,
        (unit, place): (&'static str, Vec<u64>),
        outcome: Outcome,
    ) -> Result<Self, ApiError> {
        let prepared =
            if items.is_empty() { None } else { Some(prepare_batch(engine, principal, now, &items, LOG_MODE)?) };
        Ok(Self { items, attempts, prepared, unit, place, outcome })
    }
}

/// Stores a stretch as `principal`, leaving out each item that failed its checks (named in the
/// outcome by its place), and counts as a send each attempt whose event was stored now (not
/// before: the same record read again counts nothing).
pub(crate) async fn store(state: &AppState, principal: &Principal, stretch: Stretch) -> Result<Outcome, ApiError> {
    let Stretch { items, mut attempts, prepared, unit, place, mut outcome } = stretch;
    let Some(prepared) = prepared else { return Ok(outcome) };
    let (response, skipped) = store_prepared(state, principal, &items, prepared).await?;
    for (item, error) in skipped {
        state.monitor.metrics.skipped_record(SkippedRecord::Unreadable);
        let field = match &error {
            ApiError::Invalid { field: Some(field), .. } => field.rsplit('.').next().unwrap_or(field).to_owned(),
            _ => String::new(),
        };
        outcome.problem(format!("{unit} {}: {field} {error}", place[item]));
        attempts[item] = false;
    }
    outcome.events += response.results.len() as u64;
    for result in response.results.iter().filter(|r| r.duplicate) {
        attempts[result.item] = false;
    }
    let sends: Vec<SendCount> = items
        .iter()
        .zip(&attempts)
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
    Ok(outcome)
}
