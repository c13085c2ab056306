//! Events in: each item checked and classified under the current policy, the batch stored with
//! what the policy made of it (`rebound_store::ingest`), then published (the pre-send index, the
//! counters, the monitor's wake-up). `POST /events`, the MTA integrations and `rebound ingest` all
//! come through here; one bad item refuses the batch, or (`BadItems::Skip`, for MTA logs) is left
//! out and named.

use std::sync::Arc;

use base64::Engine as _;
use rebound_api::v1::{EventInput, EventResult, EventsResponse, Verdict};
use rebound_core::{Confidence, Kind, Reason};
use rebound_monitor::OTHER_ISP;
use rebound_store::ops::Ingested;
use rebound_store::{NewEvent, StoreError, ops};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::names;
use crate::state::Engine;

/// Most items in one request.
pub const MAX_BATCH: usize = 5_000;
/// Most records of an MTA's log stored in one transaction by `rebound ingest`: larger than a
/// request's batch, as a file read on the server's machine has no client waiting on each
/// answer, and every transaction costs a commit.
pub const LOG_BATCH: usize = 20_000;
/// Most of an event's raw input kept with it.
pub const MAX_RAW_STORED: usize = 64 * 1024;
/// Longest SMTP reply accepted.
const MAX_REPLY: usize = 64 * 1024;
/// An event may not claim to have happened later than this after it was received.
const MAX_CLOCK_SKEW: i64 = 24 * 3600;

/// Classifies and stores items (a batch unless `single`), answering each event's verdict and what
/// the policy did. Field paths in errors are `events[i].field` in a batch. One bad item refuses
/// the whole batch, and nothing of it is written.
pub async fn ingest_items(
    state: &AppState,
    principal: &Principal,
    items: &[EventInput],
    single: bool,
) -> Result<EventsResponse, ApiError> {
    let mode =
        Mode { single, bad: BadItems::Refuse, given_recipient_first: false, mark_deliveries: false, limit: MAX_BATCH };
    ingest_checked(state, principal, items, mode).await.map(|(response, _)| response)
}

/// What a batch does with an item that fails its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadItems {
    /// The whole batch is refused (the API's contract: a client fixes its request).
    Refuse,
    /// The item is left out and named in the answer (an MTA's log stream: a batch refused for
    /// one record would be sent again and again, holding up every good record behind it).
    Skip,
}

/// How a batch is taken.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    /// One item, not a batch: field paths in errors are `field`, not `events[i].field`.
    pub single: bool,
    pub bad: BadItems,
    /// A bounce email's given `recipient` decides over the address its report names, when the report
    /// is about one recipient: the bounce mailbox's VERP address names the recipient the bounced copy
    /// was sent to, whatever the report says (an alias expanded further on, a report without one).
    pub given_recipient_first: bool,
    /// A delivery is marked and counted, not stored as an event (an MTA's log: see
    /// `NewEvent::mark_only`).
    pub mark_deliveries: bool,
    /// Most items taken at once.
    pub limit: usize,
}

/// An item left out of a batch, by its index and the error that refused it.
pub type SkippedItem = (usize, ApiError);

/// `ingest_items`, with a choice of what a bad item does; answers the items left out too.
pub async fn ingest_checked(
    state: &AppState,
    principal: &Principal,
    items: &[EventInput],
    mode: Mode,
) -> Result<(EventsResponse, Vec<SkippedItem>), ApiError> {
    let prepared = prepare_batch(state.engine().await?, principal, state.clock.now(), items, mode)?;
    store_prepared(state, principal, items, prepared).await
}

/// A batch checked and classified, waiting to be stored.
pub struct Prepared {
    engine: Arc<Engine>,
    mode: Mode,
    events: Vec<NewEvent>,
    /// The item each event came from.
    item_of: Vec<usize>,
    skipped: Vec<SkippedItem>,
}

/// Checks and classifies a batch with `engine` (the policy in force), received at `now`: the
/// part of an ingest that needs no database, so a log reader can do it for one batch while the
/// one before is being stored.
pub fn prepare_batch(
    engine: Arc<Engine>,
    principal: &Principal,
    now: i64,
    items: &[EventInput],
    mode: Mode,
) -> Result<Prepared, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid_field("events", "the batch is empty"));
    }
    if items.len() > mode.limit {
        return Err(ApiError::invalid_field("events", format!("at most {} events per request", mode.limit)));
    }
    let mut events = Vec::with_capacity(items.len());
    let mut item_of = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = |field: &str| if mode.single { field.to_owned() } else { format!("events[{i}].{field}") };
        match prepare(item, &engine, principal, now, &path, mode) {
            Ok(prepared) => {
                for event in prepared {
                    events.push(event);
                    item_of.push(i);
                }
            }
            Err(e) if mode.bad == BadItems::Skip => skipped.push((i, e)),
            Err(e) => return Err(e),
        }
    }
    Ok(Prepared { engine, mode, events, item_of, skipped })
}

/// Stores a prepared batch of `items` under its policy, and publishes what changed.
pub async fn store_prepared(
    state: &AppState,
    principal: &Principal,
    items: &[EventInput],
    Prepared { engine, mode, mut events, item_of, skipped }: Prepared,
) -> Result<(EventsResponse, Vec<SkippedItem>), ApiError> {
    if events.is_empty() {
        return Ok((EventsResponse { results: Vec::new() }, skipped));
    }
    let monitoring = state.monitoring().await?;
    for event in &mut events {
        if event.isp.is_none() {
            let isp = event.recipient.as_ref().map_or(OTHER_ISP, |t| monitoring.isps.isp_of(t.domain()));
            event.isp = Some(isp.to_owned());
        }
    }
    let report = match ops::ingest(state.store.as_ref(), &events, &engine.policy, &principal.actor()).await {
        Err(StoreError::KeyReused { event }) => {
            let i = item_of.get(event).copied().unwrap_or_default();
            let field = if mode.single { "idempotency_key".to_owned() } else { format!("events[{i}].idempotency_key") };
            let key = items.get(i).and_then(|item| item.idempotency_key.clone()).unwrap_or_default();
            return Err(ApiError::KeyReused { field, key });
        }
        result => result?,
    };
    state.index.publish_suppressions(report.feed, &report.changed).await;
    let metrics = &state.monitor.metrics;
    metrics.ingest_request();
    let counted = |(done, event): &(&Ingested, &NewEvent)| !done.duplicate && !event.spam_trap;
    metrics.events(report.events.iter().zip(&events).filter(counted).map(|(done, event)| {
        (done.verdict.kind.as_str(), done.verdict.reason.as_str(), event.isp.as_deref().unwrap_or(OTHER_ISP))
    }));
    state.monitor.wake.notify_one();
    let results = report
        .events
        .into_iter()
        .zip(events)
        .zip(item_of)
        .map(|((done, _), item)| EventResult {
            item,
            event_id: done.event_id,
            duplicate: done.duplicate,
            recipient: done.recipient,
            verdict: done.verdict,
            outcome: done.outcome,
        })
        .collect();
    Ok((EventsResponse { results }, skipped))
}

/// Checks one item and turns it into the events it stands for (a bounce email may name several
/// recipients).
fn prepare(
    item: &EventInput,
    engine: &Engine,
    principal: &Principal,
    now: i64,
    path: &dyn Fn(&str) -> String,
    mode: Mode,
) -> Result<Vec<NewEvent>, ApiError> {
    let given = [item.reply.is_some(), item.message.is_some(), item.message_base64.is_some(), item.kind.is_some()]
        .into_iter()
        .filter(|&g| g)
        .count();
    if given > 1 || (given == 0 && !item.spam_trap) {
        return Err(ApiError::invalid_field(
            path("reply"),
            "give exactly one of `reply`, `message`, `message_base64` or `kind` (or `spam_trap: true`)",
        ));
    }
    if item.reason.is_some() && item.kind.is_none() {
        return Err(ApiError::invalid_field(path("reason"), "`reason` goes with a pre-classified `kind`"));
    }
    // A pre-classified pair must agree with the reason → kind table in force: `hard` with
    // `mailbox_full` would suppress for a reason the policy retries.
    if let (Some(kind), Some(reason)) = (item.kind, item.reason) {
        let expected = engine.classifier.kinds().kind(reason);
        if expected != kind {
            return Err(ApiError::invalid_field(
                path("reason"),
                format!("`{reason}` is a `{expected}` reason in the policy's reason → kind table, not `{kind}`"),
            ));
        }
    }
    let recipient = item.recipient.as_deref().map(|r| names::target(&path("recipient"), r)).transpose()?;
    if recipient.as_ref().is_some_and(|t| t.is_domain()) {
        return Err(ApiError::invalid_field(path("recipient"), "must be an address, not a domain"));
    }
    let source = match &item.source {
        Some(s) => names::label(&path("source"), s)?,
        None => principal.default_source().to_owned(),
    };
    let at = item.occurred_at.unwrap_or(now);
    if at <= 0 || at > now + MAX_CLOCK_SKEW {
        return Err(ApiError::invalid_field(path("occurred_at"), "must be Unix seconds, not in the future"));
    }
    let idempotency_key =
        item.idempotency_key.as_deref().map(|k| names::text(&path("idempotency_key"), k, 200)).transpose()?;
    let payload_digest = idempotency_key.is_some().then(|| payload_digest(item));
    let base = NewEvent {
        at,
        received_at: now,
        source,
        input: "event",
        idempotency_key,
        recipient: recipient.clone(),
        verdict: pre_classified(Kind::Unknown, None),
        spam_trap: item.spam_trap,
        campaign: names::optional_label(&path("campaign"), item.campaign.as_deref())?,
        stream: names::optional_label(&path("stream"), item.stream.as_deref())?,
        sending_ip: item.sending_ip.as_deref().map(|ip| ip_address(&path("sending_ip"), ip)).transpose()?,
        isp: names::optional_label(&path("isp"), item.isp.as_deref())?,
        raw: None,
        payload_digest,
        mark_only: false,
    };

    let needs_recipient = || ApiError::invalid_field(path("recipient"), "required with `reply` and `kind`");
    if let Some(reply) = &item.reply {
        if reply.trim().is_empty() || reply.len() > MAX_REPLY {
            return Err(ApiError::invalid_field(path("reply"), format!("must be 1 to {MAX_REPLY} bytes")));
        }
        let recipient = recipient.ok_or_else(needs_recipient)?;
        let mut verdict = engine.classifier.classify_reply(reply);
        verdict.recipient = Some(recipient.display().to_owned());
        return Ok(vec![NewEvent { verdict, input: "reply", raw: Some(cut(reply.as_bytes())), ..base }]);
    }
    let raw_message = match (&item.message, &item.message_base64) {
        (Some(text), _) => Some(text.as_bytes().to_vec()),
        (None, Some(b64)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| ApiError::invalid_field(path("message_base64"), format!("is not base64: {e}")))?,
        ),
        (None, None) => None,
    };
    if let Some(raw) = raw_message {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid_field(path("message"), "the message is empty"));
        }
        let stored = cut(&raw);
        let verdicts = engine.classifier.classify_message(&raw);
        let count = verdicts.len();
        return Ok(verdicts
            .into_iter()
            .enumerate()
            .map(|(n, mut verdict)| {
                // The address the sender mailed is the one the list holds: a report's
                // Original-Recipient when it gives one apart from the final, expanded recipient.
                let named = |r: &Option<String>| r.as_deref().and_then(|r| rebound_policy::normalize(r).ok());
                let original = named(&verdict.original_recipient).filter(|t| !t.is_domain());
                let found = original.clone().or_else(|| named(&verdict.recipient)).filter(|t| !t.is_domain());
                let given_decides = mode.given_recipient_first && count == 1 && recipient.is_some();
                let target = if given_decides { recipient.clone() } else { found.or_else(|| recipient.clone()) };
                if original.is_none() || given_decides {
                    verdict.recipient = target.as_ref().map(|t| t.display().to_owned());
                }
                let idempotency_key = match (&base.idempotency_key, count) {
                    (Some(key), c) if c > 1 => Some(format!("{key}#{}", n + 1)),
                    (key, _) => key.clone(),
                };
                let raw = Some(stored.clone());
                NewEvent { recipient: target, verdict, input: "message", idempotency_key, raw, ..base.clone() }
            })
            .collect());
    }
    let kind = item.kind.unwrap_or(Kind::Hard);
    if item.kind.is_some() && recipient.is_none() || item.spam_trap && recipient.is_none() {
        return Err(needs_recipient());
    }
    let mut verdict = pre_classified(kind, item.reason);
    verdict.recipient = recipient.as_ref().map(|t| t.display().to_owned());
    if item.spam_trap {
        verdict.rule = "event:spam_trap".into();
    }
    let mark_only = mode.mark_deliveries && kind == Kind::Delivered && !item.spam_trap;
    Ok(vec![NewEvent { verdict, mark_only, ..base }])
}

/// The verdict of an event the sender classified itself.
fn pre_classified(kind: Kind, reason: Option<Reason>) -> Verdict {
    let reason = reason.unwrap_or(match kind {
        Kind::Delivered => Reason::Delivered,
        Kind::Complaint | Kind::Unsubscribe => Reason::Feedback,
        Kind::AutoReply => Reason::Vacation,
        Kind::Suppressed => Reason::Suppressed,
        _ => Reason::Undefined,
    });
    Verdict {
        recipient: None,
        original_recipient: None,
        reply_code: None,
        status: None,
        status_derived: false,
        reason,
        kind,
        action: reason.action(kind),
        retry_after_secs: reason.retry_after_secs(kind),
        rule: format!("event:{kind}").into(),
        evidence: String::new(),
        confidence: Confidence::High,
        feedback_type: (kind == Kind::Unsubscribe).then(|| "opt-out".to_owned()),
    }
}

fn ip_address(field: &str, value: &str) -> Result<String, ApiError> {
    value
        .trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ApiError::invalid_field(field, "is not an IP address"))
}

/// The raw input as stored, byte for byte: at most `MAX_RAW_STORED` bytes, then a line saying so.
/// The cut falls at a character boundary when the input is UTF-8 there.
fn cut(raw: &[u8]) -> Vec<u8> {
    if raw.len() <= MAX_RAW_STORED {
        return raw.to_vec();
    }
    let mut end = MAX_RAW_STORED;
    while end > MAX_RAW_STORED - 3 && raw.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    let mut out = raw[..end].to_vec();
    out.extend_from_slice(format!("\n[... cut at {MAX_RAW_STORED} bytes]").as_bytes());
    out
}

/// The SHA-256 of a request item as parsed (so neither field order nor spacing changes it): what
/// tells a repeat of an idempotency key from a different event reusing it. Each field is fed to
/// the hash in a fixed order, tagged and length-prefixed, without building a copy of the item
/// (taken apart whole, so that a new field cannot be forgotten here).
fn payload_digest(item: &EventInput) -> [u8; 32] {
    let EventInput {
        recipient,
        reply,
        message,
        message_base64,
        kind,
        reason,
        spam_trap,
        source,
        idempotency_key,
        occurred_at,
        campaign,
        stream,
        sending_ip,
        isp,
    } = item;
    fn text(value: &Option<String>) -> Option<&[u8]> {
        value.as_deref().map(str::as_bytes)
    }
    let mut hash = Sha256::new();
    let mut field = |tag: u8, value: Option<&[u8]>| {
        hash.update([tag, u8::from(value.is_some())]);
        if let Some(value) = value {
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value);
        }
    };
    field(1, text(recipient));
    field(2, text(reply));
    field(3, text(message));
    field(4, text(message_base64));
    field(5, kind.map(|k| k.as_str().as_bytes()));
    field(6, reason.map(|r| r.as_str().as_bytes()));
    field(7, Some(&[u8::from(*spam_trap)]));
    field(8, text(source));
    field(9, text(idempotency_key));
    field(10, occurred_at.map(i64::to_le_bytes).as_ref().map(<[u8; 8]>::as_slice));
    field(11, text(campaign));
    field(12, text(stream));
    field(13, text(sending_ip));
    field(14, text(isp));
    hash.finalize().into()
}
