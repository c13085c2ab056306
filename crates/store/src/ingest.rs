//! Ingesting a batch of events under the policy, in a handful of statements.
//!
//! Each event is decided in order, exactly as if they were applied one by one, but the database
//! is asked only a few questions up front (which idempotency keys were seen, the recent soft
//! bounces and deliveries of the batch's soft-bounced recipients, the existing entries of all its
//! recipients), the decisions are made in memory while the batch's own effects are tracked (a
//! second soft bounce in the same batch counts the first; a second hard bounce finds the entry the
//! first created), and the results are written back with multi-row inserts: new entries, their
//! audit rows (hash-chained in memory from the last stored hash), then the events. Reopening or
//! escalating an existing entry, which is rare, is one `UPDATE` each. All of it is one
//! transaction: a batch is stored with its consequences, or not at all.

use std::collections::HashMap;

use rebound_api::v1::{Outcome, Policy, Suppression, SuppressionReason, Verdict};
use rebound_core::Kind;
use rebound_monitor::{Counts, OTHER_ISP};
use rebound_policy::{Decision, EventFacts, History, Target, decide};
use serde_json::Value;

use crate::audit::{self, AuditAction, Change};
use crate::monitor::{CountedAt, DailyDelta, count_event};
use crate::ops::{audit_target, in_force, snapshot};
use crate::{Actor, EventRow, FeedSpan, HistoryMark, KeyedEvent, NewEvent, NewSuppression, Store, StoreError};

const DAY: i64 = 86_400;
/// This batch's events sort after every stored event in a recipient's history.
const BATCH_SEQ: i64 = i64::MAX / 2;

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

/// The result of an ingest: per event, in order, and the entries whose state changed.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub events: Vec<Ingested>,
    pub changed: Vec<Suppression>,
    /// The change-feed rows the changes wrote.
    pub feed: Option<FeedSpan>,
}

/// A soft bounce, delivery or unexplained permanent failure in a recipient's history, ordered by
/// (at, seq).
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: i64,
    seq: i64,
    delivered: bool,
    unexplained: bool,
}

/// Failures at or after `since` (and, when deliveries reset the count, after the last one): soft
/// bounces, and unexplained permanent failures when `with_unexplained`.
fn soft_count(marks: &[Mark], since: i64, reset_on_delivery: bool, with_unexplained: bool) -> u32 {
    let last_delivery = marks.iter().filter(|m| m.delivered).map(|m| (m.at, m.seq)).max();
    let counted = marks.iter().filter(|m| {
        !m.delivered
            && (with_unexplained || !m.unexplained)
            && m.at >= since
            && (!reset_on_delivery || last_delivery.is_none_or(|d| (m.at, m.seq) > d))
    });
    u32::try_from(counted.count()).unwrap_or(u32::MAX)
}

/// An entry as the batch sees it: stored, or to be created by this batch.
enum Slot {
    Stored(Box<Suppression>),
    Pending(usize),
}

/// An entry this batch creates.
struct Pending<'e> {
    target: &'e Target,
    scope: String,
    reason: SuppressionReason,
    event: &'e NewEvent,
}

/// What an event will be answered with, once ids are known.
enum Plan {
    Ready {
        outcome: Outcome,
        suppression_id: Option<i64>,
    },
    /// Suppressed by an entry this batch creates (`already`: an earlier event created it).
    NewEntry {
        pending: usize,
        already: bool,
    },
    /// A repeat of a stored event's idempotency key.
    Stored(Ingested),
    /// A repeat of a key first seen at this index of the batch.
    RepeatOf(usize),
}

/// An audit row to write once its entry exists.
struct AuditPlan {
    at: i64,
    action: AuditAction,
    before: Option<Value>,
    subject: AuditSubject,
    /// The event that caused it, by its index in the batch.
    event: usize,
}

enum AuditSubject {
    Known(Box<Suppression>),
    Pending(usize),
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt { what: "json", detail: e.to_string() })
}

/// The counters one event adds (episodes are decided with the recipient's history).
fn kind_counts(kind: Kind) -> Counts {
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
    c
}

/// What the policy looks at in an event.
fn facts_of(e: &NewEvent) -> EventFacts<'_> {
    EventFacts {
        kind: e.verdict.kind,
        reason: e.verdict.reason,
        spam_trap: e.spam_trap,
        stream: e.stream.as_deref(),
        permanent: e.verdict.is_permanent_failure(),
    }
}

/// What an audit row says caused a change: the event (its id and source) and its verdict.
fn cause(event: &NewEvent, id: i64) -> String {
    let verdict = &event.verdict;
    format!("event {id} from {}: {} {} ({})", event.source, verdict.kind, verdict.reason, verdict.rule)
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

    let idempotency_keys: Vec<&str> = events.iter().filter_map(|e| e.idempotency_key.as_deref()).collect();
    let mut stored_repeats: HashMap<String, (Ingested, Option<Vec<u8>>)> = HashMap::new();
    if !idempotency_keys.is_empty() {
        for KeyedEvent { key, event: first, payload_digest } in tx.events_by_idempotency_keys(&idempotency_keys).await?
        {
            let ingested = Ingested {
                event_id: first.id,
                duplicate: true,
                recipient: first.recipient,
                verdict: first.verdict,
                outcome: first.outcome,
            };
            stored_repeats.insert(key, (ingested, payload_digest));
        }
    }
    // The same key with another payload is a different event, not a repeat: refuse it rather than
    // drop it (an event stored before digests were kept matches any payload).
    let reused = |i: usize, first: Option<&[u8]>| match (first, &events[i].payload_digest) {
        (Some(first), Some(digest)) if first != digest.as_slice() => Err(StoreError::KeyReused { event: i }),
        _ => Ok(()),
    };

    // Soft bounces and deliveries of the same recipients: for soft-bounce counts, and for the
    // retry-success counters (an episode begins with a soft bounce and ends with a delivery).
    let soft_window = |e: &NewEvent| {
        let window_days = match e.verdict.kind {
            Kind::Soft | Kind::Unknown => policy.soft_limits(e.verdict.reason).1,
            _ => policy.soft_window_days,
        };
        e.at.saturating_sub(i64::from(window_days) * DAY)
    };
    let tracked = || {
        events.iter().filter(|e| {
            let counts = e.verdict.kind == Kind::Delivered || facts_of(e).counts_as_soft(policy);
            counts && !e.spam_trap && e.recipient.is_some()
        })
    };
    let mut marks: HashMap<&str, Vec<Mark>> =
        tracked().filter_map(|e| Some((e.recipient.as_ref()?.key(), Vec::new()))).collect();
    if let Some(since) = tracked().map(soft_window).min() {
        let keys: Vec<&str> = marks.keys().copied().collect();
        for HistoryMark { recipient_key, at, id, delivered, unexplained } in tx.soft_history(&keys, since).await? {
            if let Some(list) = marks.get_mut(recipient_key.as_str()) {
                list.push(Mark { at, seq: id, delivered, unexplained });
            }
        }
    }

    let mut recipient_keys: Vec<&str> = events.iter().filter_map(|e| Some(e.recipient.as_ref()?.key())).collect();
    recipient_keys.sort_unstable();
    recipient_keys.dedup();
    let mut slots: HashMap<(String, String), Slot> = HashMap::new();
    if !recipient_keys.is_empty() {
        for (key, entry) in tx.suppressions_by_keys(&recipient_keys).await? {
            slots.insert((entry.scope.clone(), key), Slot::Stored(Box::new(entry)));
        }
    }

    // A spam-trap report is the sender's own knowledge of an address, not a delivery's outcome: it
    // suppresses, but no rate counts it (as a hard bounce it would inflate the hard-bounce rate).
    let mut counts: Vec<Counts> =
        events.iter().map(|e| if e.spam_trap { Counts::default() } else { kind_counts(e.verdict.kind) }).collect();
    let mut plans = Vec::with_capacity(events.len());
    let mut batch_keys: HashMap<&str, usize> = HashMap::new();
    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut audits: Vec<AuditPlan> = Vec::new();
    let mut daily: Vec<DailyDelta> = Vec::new();
    let mut report = IngestReport::default();
    for (i, event) in events.iter().enumerate() {
        if let Some(key) = event.idempotency_key.as_deref() {
            if let Some((first, digest)) = stored_repeats.get(key) {
                reused(i, digest.as_deref())?;
                counts[i] = Counts::default();
                plans.push(Plan::Stored(first.clone()));
                continue;
            }
            if let Some(&first) = batch_keys.get(key) {
                reused(i, events[first].payload_digest.as_ref().map(<[u8; 32]>::as_slice))?;
                counts[i] = Counts::default();
                plans.push(Plan::RepeatOf(first));
                continue;
            }
            batch_keys.insert(key, i);
        }
        let Some(target) = &event.recipient else {
            let outcome = Outcome::Nothing { why: "the event names no recipient".to_owned() };
            plans.push(Plan::Ready { outcome, suppression_id: None });
            continue;
        };
        let facts = facts_of(event);
        let counts_as_soft = facts.counts_as_soft(policy);
        let history = match marks.get_mut(target.key()) {
            Some(list) => {
                let soft_in_window = if counts_as_soft {
                    soft_count(list, soft_window(event), policy.soft_reset_on_delivery, policy.count_unknown_failures)
                } else {
                    0
                };
                // Retry-success episodes are about soft bounces alone.
                let open_episode = soft_count(list, soft_window(event), true, false) > 0;
                match facts.kind {
                    Kind::Soft if !open_episode => counts[i].soft_started = 1,
                    Kind::Delivered if open_episode => counts[i].soft_recovered = 1,
                    _ => {}
                }
                if counts_as_soft || facts.kind == Kind::Delivered {
                    let seq = BATCH_SEQ.saturating_add(i as i64);
                    let (delivered, unexplained) = (facts.kind == Kind::Delivered, facts.kind == Kind::Unknown);
                    list.push(Mark { at: event.at, seq, delivered, unexplained });
                }
                History { soft_in_window }
            }
            None => History::default(),
        };
        let plan = match decide(policy, facts, history) {
            Decision::CountSoft { count, threshold, window_days } => {
                Plan::Ready { outcome: Outcome::Counted { count, threshold, window_days }, suppression_id: None }
            }
            Decision::Nothing { why } => {
                Plan::Ready { outcome: Outcome::Nothing { why: why.to_owned() }, suppression_id: None }
            }
            Decision::Suppress { reason, scope } => {
                let slot_key = (scope.clone(), target.key().to_owned());
                let now = event.received_at;
                match slots.get_mut(&slot_key) {
                    Some(Slot::Pending(j)) => {
                        let j = *j;
                        if reason == SuppressionReason::Complaint {
                            pending[j].reason = reason;
                        }
                        Plan::NewEntry { pending: j, already: true }
                    }
                    Some(Slot::Stored(old))
                        if in_force(old, now)
                            && !(reason == SuppressionReason::Complaint
                                && old.reason != SuppressionReason::Complaint) =>
                    {
                        let outcome = Outcome::AlreadySuppressed {
                            suppression_id: old.id,
                            reason: old.reason,
                            scope: old.scope.clone(),
                        };
                        Plan::Ready { outcome, suppression_id: Some(old.id) }
                    }
                    Some(Slot::Stored(old)) => {
                        let reopened = !in_force(old, now);
                        let new = NewSuppression {
                            target,
                            scope: &scope,
                            reason,
                            source: &event.source,
                            added_by: &added_by,
                            rule: Some(&event.verdict.rule),
                            note: None,
                            expires_at: None,
                            now,
                        };
                        let entry = tx.reopen_suppression(old.id, &new).await?;
                        audits.push(AuditPlan {
                            at: now,
                            action: if reopened {
                                AuditAction::SuppressionReopen
                            } else {
                                AuditAction::SuppressionEscalate
                            },
                            before: snapshot(old),
                            subject: AuditSubject::Known(Box::new(entry.clone())),
                            event: i,
                        });
                        let outcome = Outcome::Suppressed {
                            suppression_id: entry.id,
                            reason: entry.reason,
                            scope: entry.scope.clone(),
                            reopened,
                        };
                        if reopened {
                            daily.push(DailyDelta::added(now, entry.reason.as_str(), 1));
                        }
                        let id = entry.id;
                        report.changed.push(entry.clone());
                        **old = entry;
                        Plan::Ready { outcome, suppression_id: Some(id) }
                    }
                    None => {
                        let j = pending.len();
                        pending.push(Pending { target, scope, reason, event });
                        slots.insert(slot_key, Slot::Pending(j));
                        audits.push(AuditPlan {
                            at: now,
                            action: AuditAction::SuppressionAdd,
                            before: None,
                            subject: AuditSubject::Pending(j),
                            event: i,
                        });
                        Plan::NewEntry { pending: j, already: false }
                    }
                }
            }
        };
        plans.push(plan);
    }

    let new_rows: Vec<NewSuppression<'_>> = pending
        .iter()
        .map(|p| NewSuppression {
            target: p.target,
            scope: &p.scope,
            reason: p.reason,
            source: &p.event.source,
            added_by: &added_by,
            rule: Some(&p.event.verdict.rule),
            note: None,
            expires_at: None,
            now: p.event.received_at,
        })
        .collect();
    let created = if new_rows.is_empty() { Vec::new() } else { tx.insert_suppressions(&new_rows).await? };
    report.changed.extend(created.iter().cloned());
    daily.extend(created.iter().map(|entry| DailyDelta::added(entry.created_at, entry.reason.as_str(), 1)));
    if !daily.is_empty() {
        tx.add_suppression_daily(&DailyDelta::merged(daily)).await?;
    }
    let mut deltas = Vec::new();
    for (event, c) in events.iter().zip(&counts) {
        if !c.is_empty() {
            let place = CountedAt {
                at: event.at,
                isp: event.isp.as_deref().unwrap_or(OTHER_ISP),
                campaign: event.campaign.as_deref(),
                stream: event.stream.as_deref(),
            };
            count_event(&mut deltas, place, *c);
        }
    }
    if !deltas.is_empty() {
        tx.add_metric_counts(&deltas).await?;
    }

    let mut resolved: Vec<Option<(Outcome, Option<i64>)>> = Vec::with_capacity(plans.len());
    for plan in &plans {
        resolved.push(match plan {
            Plan::Ready { outcome, suppression_id } => Some((outcome.clone(), *suppression_id)),
            Plan::NewEntry { pending: j, already } => {
                let entry = created
                    .get(*j)
                    .ok_or_else(|| StoreError::Corrupt { what: "inserted suppressions", detail: "too few".into() })?;
                let outcome = if *already {
                    Outcome::AlreadySuppressed {
                        suppression_id: entry.id,
                        reason: entry.reason,
                        scope: entry.scope.clone(),
                    }
                } else {
                    Outcome::Suppressed {
                        suppression_id: entry.id,
                        reason: entry.reason,
                        scope: entry.scope.clone(),
                        reopened: false,
                    }
                };
                Some((outcome, Some(entry.id)))
            }
            Plan::Stored(_) | Plan::RepeatOf(_) => None,
        });
    }
    let mut texts: Vec<(usize, String, String)> = Vec::with_capacity(resolved.len());
    for (i, r) in resolved.iter().enumerate() {
        if let Some((outcome, _)) = r {
            texts.push((i, to_json(&events[i].verdict)?, to_json(outcome)?));
        }
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

    fn subject<'a>(s: &'a AuditSubject, created: &'a [Suppression]) -> Option<&'a Suppression> {
        match s {
            AuditSubject::Known(entry) => Some(entry),
            AuditSubject::Pending(j) => created.get(*j),
        }
    }
    let targets: Vec<String> = audits.iter().filter_map(|a| subject(&a.subject, &created)).map(audit_target).collect();
    let causes: Vec<String> = audits
        .iter()
        .filter(|a| subject(&a.subject, &created).is_some())
        .map(|a| cause(&events[a.event], id_of[a.event]))
        .collect();
    let changes: Vec<Change<'_>> = audits
        .iter()
        .filter_map(|a| Some((a, subject(&a.subject, &created)?)))
        .zip(targets.iter().zip(&causes))
        .map(|((a, entry), (target, cause))| Change {
            at: a.at,
            actor,
            action: a.action,
            target,
            before: a.before.clone(),
            after: snapshot(entry),
            reason: Some(cause.as_str()),
        })
        .collect();
    audit::append_many(tx.as_mut(), changes).await?;

    for (i, plan) in plans.into_iter().enumerate() {
        let (first, duplicate) = match plan {
            Plan::Stored(first) => {
                report.events.push(first);
                continue;
            }
            Plan::RepeatOf(first) => (first, true),
            Plan::Ready { .. } | Plan::NewEntry { .. } => (i, false),
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
