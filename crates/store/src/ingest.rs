//! Ingesting a batch of events under the policy, in a handful of statements.
//!
//! The store reads what the batch's decisions depend on in a few queries (which idempotency keys
//! were seen, the recent soft bounces and deliveries of the recipients it counts, the existing
//! entries of all its recipients), `rebound_policy::plan::plan_batch` decides every event in
//! memory exactly as if they were stored one by one, and the plan is written back: new entries in
//! one multi-row insert, each reopened or escalated entry (rare) with one `UPDATE`, their audit
//! rows (hash-chained in memory from the last stored hash), the counters, then the events. All of
//! it is one transaction: a batch is stored with its consequences, or not at all.

use std::collections::HashMap;

use rebound_api::v1::{Outcome, Policy, Suppression, SuppressionReason, Verdict};
use rebound_core::Kind;
use rebound_monitor::{Counts, OTHER_ISP};
use rebound_policy::EventFacts;
use rebound_policy::plan::{
    Entry, EntryRef, Episode, KeyReused, Mark, PlanEvent, Prior, Step, Write, history_needed, plan_batch,
};
use serde_json::Value;

use crate::audit::{self, AuditAction, Change};
use crate::monitor::{CountedAt, DailyDelta, MetricDeltas};
use crate::ops::{audit_target, snapshot};
use crate::{Actor, EventRow, FeedSpan, HistoryMark, KeyedEvent, NewEvent, NewSuppression, Store, StoreError};

/// What ingesting one event did.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub event_id: i64,
    /// The idempotency key had been seen: `outcome` is the first delivery's, nothing changed.
    pub duplicate: bool,
    /// The recipient as stored (for a repeat, the first delivery's).
    pub recipient: Option<String>,
    pub verdict: Verdict,
    pub outcome: Outcome,
}

/// The result of an ingest: per event, in order, and the entries whose state changed (in the
/// order they changed: an entry created and then escalated by the same batch comes twice).
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub events: Vec<Ingested>,
    pub changed: Vec<Suppression>,
    /// The change-feed rows the changes wrote.
    pub feed: Option<FeedSpan>,
}

/// An audit row to write once the events (which it names) have ids.
struct AuditPlan {
    at: i64,
    action: AuditAction,
    before: Option<Value>,
    after: Option<Value>,
    target: String,
    /// The event that caused it, by its index in the batch.
    event: usize,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt { what: "json", detail: e.to_string() })
}

/// The counters one event adds.
fn kind_counts(kind: Kind, episode: Option<Episode>) -> Counts {
    let mut c = Counts::default();
    match kind {
        Kind::Delivered => c.delivered = 1,
        Kind::Hard => c.hard = 1,
        Kind::Soft => c.soft = 1,
        Kind::Block => c.block = 1,
        Kind::Complaint => c.complaint = 1,
        Kind::Unsubscribe => c.unsubscribe = 1,
        _ => {}
    }
    match episode {
        Some(Episode::Started) => c.soft_started = 1,
        Some(Episode::Recovered) => c.soft_recovered = 1,
        None => {}
    }
    c
}

/// What the plan looks at in an event.
fn plan_event(e: &NewEvent) -> PlanEvent<'_> {
    PlanEvent {
        facts: EventFacts {
            kind: e.verdict.kind,
            reason: e.verdict.reason,
            spam_trap: e.spam_trap,
            stream: e.stream.as_deref(),
            permanent: e.verdict.is_permanent_failure(),
        },
        recipient: e.recipient.as_ref(),
        idempotency_key: e.idempotency_key.as_deref(),
        payload_digest: e.payload_digest.as_ref(),
        at: e.at,
        received_at: e.received_at,
    }
}

/// What an audit row says caused a change: the event (its id and source) and its verdict.
fn cause(event: &NewEvent, id: i64) -> String {
    let verdict = &event.verdict;
    format!("event {id} from {}: {} {} ({})", event.source, verdict.kind, verdict.reason, verdict.rule)
}

/// The entry an event puts on the list (or back in force).
fn new_suppression<'a>(
    event: &'a NewEvent,
    scope: &'a str,
    reason: SuppressionReason,
    added_by: &'a str,
) -> Result<NewSuppression<'a>, StoreError> {
    let target = event.recipient.as_ref().ok_or_else(|| StoreError::Corrupt {
        what: "plan",
        detail: "an entry for an event without recipient".into(),
    })?;
    Ok(NewSuppression {
        target,
        scope,
        reason,
        source: &event.source,
        added_by,
        rule: Some(&event.verdict.rule),
        note: None,
        expires_at: None,
        now: event.received_at,
    })
}

/// Records a batch of events and applies the policy to each, in one transaction. `actor` is who
/// sent them (a staff user or an API key), named by the audit rows of the changes they cause.
pub async fn ingest(
    store: &dyn Store,
    events: &[NewEvent],
    policy: &Policy,
    actor: &Actor,
) -> Result<IngestReport, StoreError> {
    let mut tx = store.begin().await?;
    let added_by = actor.to_string();
    let planned: Vec<PlanEvent<'_>> = events.iter().map(plan_event).collect();

    // What the plan depends on, read up front.
    let mut prior = Prior::default();
    let mut stored_repeats: HashMap<String, Ingested> = HashMap::new();
    let idempotency_keys: Vec<&str> = events.iter().filter_map(|e| e.idempotency_key.as_deref()).collect();
    if !idempotency_keys.is_empty() {
        for KeyedEvent { key, event: first, payload_digest } in tx.events_by_idempotency_keys(&idempotency_keys).await?
        {
            // A digest of another length cannot match any payload: it is kept, never matched.
            let digest = payload_digest.map(|d| <[u8; 32]>::try_from(d.as_slice()).unwrap_or([0; 32]));
            prior.seen_keys.insert(key.clone(), digest);
            let ingested = Ingested {
                event_id: first.id,
                duplicate: true,
                recipient: first.recipient,
                verdict: first.verdict,
                outcome: first.outcome,
            };
            stored_repeats.insert(key, ingested);
        }
    }
    // A delivery only marked (an MTA log's) keeps its key among the counted records: one claimed
    // before is a repeat, answered as a delivery that changed nothing.
    let marked_keys: Vec<(usize, &str)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.mark_only)
        .filter_map(|(i, e)| Some((i, e.idempotency_key.as_deref()?)))
        .filter(|(_, key)| !prior.seen_keys.contains_key(*key))
        .collect();
    if !marked_keys.is_empty() {
        let keys: Vec<&str> = marked_keys.iter().map(|(_, key)| *key).collect();
        let new = tx.claim_records(&keys, events[0].received_at).await?;
        let mut batch_first: HashMap<&str, usize> = HashMap::new();
        for ((i, key), new) in marked_keys.iter().zip(new) {
            let first = *batch_first.entry(key).or_insert(*i);
            if !new && first == *i {
                prior.seen_keys.insert((*key).to_owned(), None);
                let repeat = Ingested {
                    event_id: 0,
                    duplicate: true,
                    recipient: events[*i].recipient.as_ref().map(|t| t.display().to_owned()),
                    verdict: events[*i].verdict.clone(),
                    outcome: Outcome::Nothing { why: "a delivery read before: counted once".to_owned() },
                };
                stored_repeats.insert((*key).to_owned(), repeat);
            }
        }
    }
    if let Some((keys, since)) = history_needed(policy, &planned) {
        for HistoryMark { recipient_key, at, id, delivered, unexplained } in tx.soft_history(&keys, since).await? {
            prior.history.entry(recipient_key).or_default().push(Mark { at, seq: id, delivered, unexplained });
        }
    }
    let mut recipient_keys: Vec<&str> = events.iter().filter_map(|e| Some(e.recipient.as_ref()?.key())).collect();
    recipient_keys.sort_unstable();
    recipient_keys.dedup();
    let mut entries: HashMap<i64, Suppression> = HashMap::new();
    if !recipient_keys.is_empty() {
        for (key, entry) in tx.suppressions_by_keys(&recipient_keys).await? {
            let state = Entry { reason: entry.reason, active: entry.active, expires_at: entry.expires_at };
            prior.entries.insert((entry.scope.clone(), key), (entry.id, state));
            entries.insert(entry.id, entry);
        }
    }

    let plan = plan_batch(policy, prior, &planned).map_err(|KeyReused { event }| StoreError::KeyReused { event })?;

    // The list: new entries in one insert, then every write in the order the events caused it.
    let new_rows = plan
        .new_entries
        .iter()
        .map(|n| new_suppression(&events[n.event], &n.scope, n.reason, &added_by))
        .collect::<Result<Vec<_>, _>>()?;
    let created = if new_rows.is_empty() { Vec::new() } else { tx.insert_suppressions(&new_rows).await? };
    if created.len() != new_rows.len() {
        return Err(StoreError::Corrupt { what: "inserted suppressions", detail: "too few".into() });
    }
    let id_of_entry = |entry: EntryRef| match entry {
        EntryRef::Stored(id) => id,
        EntryRef::New(j) => created[j].id,
    };
    entries.extend(created.iter().map(|e| (e.id, e.clone())));
    let mut report = IngestReport::default();
    let mut audits: Vec<AuditPlan> = Vec::new();
    let mut daily: Vec<DailyDelta> = Vec::new();
    for write in &plan.writes {
        match write {
            Write::Add(j) => {
                let entry = &created[*j];
                daily.push(DailyDelta::added(entry.created_at, entry.reason.as_str(), 1));
                audits.push(AuditPlan {
                    at: entry.created_at,
                    action: AuditAction::SuppressionAdd,
                    before: None,
                    after: snapshot(entry),
                    target: audit_target(entry),
                    event: plan.new_entries[*j].event,
                });
                report.changed.push(entry.clone());
            }
            Write::Update { event, entry, scope, reason, reopened } => {
                let id = id_of_entry(*entry);
                let new = new_suppression(&events[*event], scope, *reason, &added_by)?;
                let updated = tx.reopen_suppression(id, &new).await?;
                let before = entries.insert(id, updated.clone());
                if *reopened {
                    daily.push(DailyDelta::added(new.now, updated.reason.as_str(), 1));
                }
                audits.push(AuditPlan {
                    at: new.now,
                    action: if *reopened { AuditAction::SuppressionReopen } else { AuditAction::SuppressionEscalate },
                    before: before.as_ref().and_then(snapshot),
                    after: snapshot(&updated),
                    target: audit_target(&updated),
                    event: *event,
                });
                report.changed.push(updated);
            }
        }
    }
    if !daily.is_empty() {
        tx.add_suppression_daily(&DailyDelta::merged(daily)).await?;
    }

    // The counters: a repeat counts nothing; a spam-trap report is the sender's own knowledge of an
    // address, not a delivery's outcome (as a hard bounce it would inflate the hard-bounce rate).
    let mut deltas = MetricDeltas::default();
    for ((event, step), episode) in events.iter().zip(&plan.steps).zip(&plan.episodes) {
        if event.spam_trap || matches!(step, Step::Stored | Step::RepeatOf(_)) {
            continue;
        }
        let counts = kind_counts(event.verdict.kind, *episode);
        if !counts.is_empty() {
            let place = CountedAt {
                at: event.at,
                isp: event.isp.as_deref().unwrap_or(OTHER_ISP),
                campaign: event.campaign.as_deref(),
                stream: event.stream.as_deref(),
            };
            deltas.count(place, counts);
        }
    }
    if !deltas.is_empty() {
        tx.add_metric_counts(deltas.as_slice()).await?;
    }

    // The events: each new one with its outcome, then the audit rows that name them.
    let resolved: Vec<Option<(Outcome, Option<i64>)>> = plan
        .steps
        .iter()
        .map(|step| {
            Some(match step {
                Step::Stored | Step::RepeatOf(_) => return None,
                Step::NoRecipient => (Outcome::Nothing { why: "the event names no recipient".to_owned() }, None),
                Step::Counted { count, threshold, window_days } => {
                    (Outcome::Counted { count: *count, threshold: *threshold, window_days: *window_days }, None)
                }
                Step::Nothing { why } => (Outcome::Nothing { why: (*why).to_owned() }, None),
                Step::Already { entry, reason, scope } => {
                    let suppression_id = id_of_entry(*entry);
                    let outcome = Outcome::AlreadySuppressed { suppression_id, reason: *reason, scope: scope.clone() };
                    (outcome, Some(suppression_id))
                }
                Step::Suppressed { entry, reason, scope, reopened } => {
                    let suppression_id = id_of_entry(*entry);
                    let outcome = Outcome::Suppressed {
                        suppression_id,
                        reason: *reason,
                        scope: scope.clone(),
                        reopened: *reopened,
                    };
                    (outcome, Some(suppression_id))
                }
            })
        })
        .collect();
    let mut texts: Vec<(usize, String, String)> = Vec::with_capacity(resolved.len());
    let mut marks: HashMap<&str, i64> = HashMap::new();
    for (i, r) in resolved.iter().enumerate() {
        match (r, &events[i].recipient) {
            (Some(_), Some(target)) if events[i].mark_only => {
                let at = marks.entry(target.key()).or_insert(events[i].at);
                *at = (*at).max(events[i].at);
            }
            (Some((outcome, _)), _) => texts.push((i, to_json(&events[i].verdict)?, to_json(outcome)?)),
            (None, _) => {}
        }
    }
    if !marks.is_empty() {
        let mut marks: Vec<(&str, i64)> = marks.into_iter().collect();
        marks.sort_unstable();
        tx.mark_deliveries(&marks).await?;
    }
    let rows: Vec<EventRow<'_>> = texts
        .iter()
        .filter_map(|(i, verdict_json, outcome_json)| {
            let (outcome, suppression_id) = resolved[*i].as_ref()?;
            Some(EventRow { event: &events[*i], verdict_json, outcome, outcome_json, suppression_id: *suppression_id })
        })
        .collect();
    let ids = tx.insert_events(&rows).await?;
    let mut id_of = vec![0i64; events.len()];
    for ((i, _, _), id) in texts.iter().zip(&ids) {
        id_of[*i] = *id;
    }
    let causes: Vec<String> = audits.iter().map(|a| cause(&events[a.event], id_of[a.event])).collect();
    let changes: Vec<Change<'_>> = audits
        .iter()
        .zip(&causes)
        .map(|(a, cause)| Change {
            at: a.at,
            actor,
            action: a.action,
            target: &a.target,
            before: a.before.clone(),
            after: a.after.clone(),
            reason: Some(cause.as_str()),
        })
        .collect();
    audit::append_many(tx.as_mut(), changes).await?;

    for (i, step) in plan.steps.iter().enumerate() {
        let (first, duplicate) = match step {
            Step::Stored => {
                let key = events[i].idempotency_key.as_deref().unwrap_or_default();
                let first = stored_repeats
                    .get(key)
                    .ok_or_else(|| StoreError::Corrupt { what: "plan", detail: "a repeat of an unseen key".into() })?;
                report.events.push(first.clone());
                continue;
            }
            Step::RepeatOf(first) => (*first, true),
            _ => (i, false),
        };
        if let Some((outcome, _)) = resolved[first].clone() {
            let verdict = events[first].verdict.clone();
            let recipient = events[first].recipient.as_ref().map(|t| t.display().to_owned());
            report.events.push(Ingested { event_id: id_of[first], duplicate, recipient, verdict, outcome });
        }
    }
    report.feed = tx.commit().await?.feed();
    Ok(report)
}
