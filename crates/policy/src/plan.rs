//! Planning a batch of events against the list: what each event does, decided in memory from the
//! state the store read before, so that the whole decision is a pure function that tests can run
//! without a database.
//!
//! The plan is exactly what applying the events one by one would do: a second soft bounce in the
//! batch counts the first, a second hard bounce finds the entry the first one created, a complaint
//! escalates an entry an earlier event of the batch created, a repeated idempotency key answers as
//! its first delivery. The store reads the prior state (`Prior`) in a few queries, calls
//! [`plan_batch`], and writes the plan's new entries and updates in one transaction.
//!
//! [`on_suppress`] is the one place that says what a "suppress" decision does to an entry that
//! may already exist (create, reopen, escalate to a complaint, or leave it): the batch plan and the
//! single-entry write path both use it. [`lift_check`] is the same for lifting (by hand or by
//! cause), [`reevaluate`] for a stored event whose verdict a new policy changed. Imports decide in
//! their `INSERT … ON CONFLICT` statement (create, or reopen a lifted entry), for their speed.

use std::collections::HashMap;

use rebound_core::Kind;

use crate::address::Target;
use crate::policy::{Decision, EventFacts, History, Policy, SuppressionReason, decide};

const DAY: i64 = 86_400;
/// The batch's events sort after every stored event in a recipient's history.
const BATCH_SEQ: i64 = i64::MAX / 2;

/// The state of a list entry that decides what a new cause does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub reason: SuppressionReason,
    pub active: bool,
    pub expires_at: Option<i64>,
}

impl Entry {
    /// Whether the entry applies at `now`: active and not past its expiry.
    pub fn in_force(&self, now: i64) -> bool {
        self.active && self.expires_at.is_none_or(|at| at > now)
    }
}

/// What a "suppress with `reason`" decision does to the entry of its address and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryChange {
    /// There is none: create it.
    Create,
    /// There is one, lifted or expired: put it back in force with the new reason.
    Reopen,
    /// There is one in force for another cause, and a complaint outranks every other cause.
    Escalate,
    /// There is one in force already.
    Unchanged,
}

/// The one rule for an existing entry: `existing` is its reason and whether it is in force.
pub fn on_suppress(existing: Option<(SuppressionReason, bool)>, reason: SuppressionReason) -> EntryChange {
    match existing {
        None => EntryChange::Create,
        Some((_, false)) => EntryChange::Reopen,
        Some((old, true)) if reason == SuppressionReason::Complaint && old != SuppressionReason::Complaint => {
            EntryChange::Escalate
        }
        Some(_) => EntryChange::Unchanged,
    }
}

/// Whether an entry may be lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiftCheck {
    Lift,
    /// It is lifted already.
    NotActive,
    /// A complaint: the person asked not to be mailed, so lifting it takes an explicit
    /// confirmation (staff) or an explicit choice (lift by cause).
    NeedsConfirmation,
}

/// The one rule for lifting an entry, by hand or by cause.
pub fn lift_check(entry: &Entry, confirm_complaint: bool) -> LiftCheck {
    if !entry.active {
        LiftCheck::NotActive
    } else if entry.reason == SuppressionReason::Complaint && !confirm_complaint {
        LiftCheck::NeedsConfirmation
    } else {
        LiftCheck::Lift
    }
}

/// What a stored event's new verdict (after a policy change) does to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reevaluated {
    /// It suppresses where the old one did not.
    Suppress {
        reason: SuppressionReason,
        scope: String,
    },
    /// The old one suppressed and the new one would not: the entry it caused is lifted, when that
    /// entry is still in force for this cause (`rule` unchanged).
    LiftWhatItCaused,
    Keep,
}

/// Compares the decisions of an event's old and new verdicts on their own: soft-bounce escalation
/// depends on history and is not re-derived.
pub fn reevaluate(policy: &Policy, old: EventFacts<'_>, new: EventFacts<'_>) -> Reevaluated {
    let suppression = |facts| match decide(policy, facts, History::default()) {
        Decision::Suppress { reason, scope } => Some((reason, scope)),
        _ => None,
    };
    match (suppression(old), suppression(new)) {
        (Some(_), None) => Reevaluated::LiftWhatItCaused,
        (None, Some((reason, scope))) => Reevaluated::Suppress { reason, scope },
        _ => Reevaluated::Keep,
    }
}

/// A soft bounce, delivery or unexplained permanent failure in a recipient's history, ordered by
/// (`at`, `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub at: i64,
    pub seq: i64,
    pub delivered: bool,
    pub unexplained: bool,
}

/// What the store knows before the batch: the idempotency keys it has seen (with the digest of
/// their payload, when it was kept), the recent history of the recipients the batch counts
/// (`history_needed` says which), and the entries of every recipient of the batch, by (scope, key),
/// with their ids.
#[derive(Debug, Clone, Default)]
pub struct Prior {
    pub seen_keys: HashMap<String, Option<[u8; 32]>>,
    pub history: HashMap<String, Vec<Mark>>,
    pub entries: HashMap<(String, String), (i64, Entry)>,
}

/// One event of the batch, as the plan sees it.
#[derive(Debug, Clone, Copy)]
pub struct PlanEvent<'a> {
    pub facts: EventFacts<'a>,
    pub recipient: Option<&'a Target>,
    pub idempotency_key: Option<&'a str>,
    pub payload_digest: Option<&'a [u8; 32]>,
    /// When the event happened (soft-bounce windows).
    pub at: i64,
    /// When it was received (an entry's creation and expiry checks).
    pub received_at: i64,
}

/// An entry a step refers to: one stored before the batch, or the plan's `new_entries[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryRef {
    Stored(i64),
    New(usize),
}

/// What one event comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Its idempotency key was stored before: it is answered as the first delivery was.
    Stored,
    /// Its idempotency key first came at this index of the batch.
    RepeatOf(usize),
    /// It names no recipient.
    NoRecipient,
    /// A decision that changes no entry.
    Counted {
        count: u32,
        threshold: u32,
        window_days: u32,
    },
    Nothing {
        why: &'static str,
    },
    /// The address is on the list already, for `reason` (as it stands at this step).
    Already {
        entry: EntryRef,
        reason: SuppressionReason,
        scope: String,
    },
    /// It put the address on the list (`reopened`: an entry that had been lifted or had expired).
    Suppressed {
        entry: EntryRef,
        reason: SuppressionReason,
        scope: String,
        reopened: bool,
    },
}

/// A retry-success episode of the monitor: a soft bounce that opens one, a delivery that closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Episode {
    Started,
    Recovered,
}

/// An entry the batch creates, with the reason the event that created it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub event: usize,
    pub scope: String,
    pub reason: SuppressionReason,
}

/// A write to the list, in the order the events caused them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert `new_entries[i]`.
    Add(usize),
    /// Put `entry` in force with `reason` (`reopened`, or escalated to a complaint).
    Update { event: usize, entry: EntryRef, scope: String, reason: SuppressionReason, reopened: bool },
}

/// What a batch does: one step per event, the entries it creates and every write in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchPlan {
    pub steps: Vec<Step>,
    pub episodes: Vec<Option<Episode>>,
    pub new_entries: Vec<NewEntry>,
    pub writes: Vec<Write>,
}

/// An idempotency key came again with another payload: a different event, refused rather than
/// dropped as a repeat. `event` is its index in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event {event} reuses an idempotency key with a different payload")]
pub struct KeyReused {
    pub event: usize,
}

/// The start of the soft-bounce window of an event under `policy`.
fn window_start(policy: &Policy, facts: &EventFacts<'_>, at: i64) -> i64 {
    let window_days = match facts.kind {
        Kind::Soft | Kind::Unknown => policy.soft_limits(facts.reason).1,
        _ => policy.soft_window_days,
    };
    at.saturating_sub(i64::from(window_days) * DAY)
}

/// Whether an event enters a recipient's history: soft bounces (as the policy counts them) and
/// deliveries, never a spam-trap report.
fn tracked(policy: &Policy, event: &PlanEvent<'_>) -> bool {
    let facts = &event.facts;
    (facts.kind == Kind::Delivered || facts.counts_as_soft(policy)) && !facts.spam_trap && event.recipient.is_some()
}

/// The history the plan needs: the recipient keys whose soft bounces and deliveries count, and
/// the earliest time any of their windows reaches back to. `None` when no event counts.
pub fn history_needed<'a>(policy: &Policy, events: &[PlanEvent<'a>]) -> Option<(Vec<&'a str>, i64)> {
    let mut keys = Vec::new();
    let mut since = None::<i64>;
    for event in events.iter().filter(|e| tracked(policy, e)) {
        let start = window_start(policy, &event.facts, event.at);
        since = Some(since.map_or(start, |s| s.min(start)));
        keys.extend(event.recipient.map(Target::key));
    }
    keys.sort_unstable();
    keys.dedup();
    since.map(|since| (keys, since))
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

/// An entry as the plan sees it while it goes: which one, and its state at this step.
#[derive(Debug, Clone, Copy)]
struct Slot {
    entry: EntryRef,
    state: Entry,
}

/// Plans a batch: what each event does, given what the store held before it (taken, so that its
/// histories are moved into the plan's working state rather than copied).
pub fn plan_batch(policy: &Policy, mut prior: Prior, events: &[PlanEvent<'_>]) -> Result<BatchPlan, KeyReused> {
    let mut plan = BatchPlan {
        steps: Vec::with_capacity(events.len()),
        episodes: vec![None; events.len()],
        ..BatchPlan::default()
    };
    let mut history: HashMap<&str, Vec<Mark>> = HashMap::new();
    let mut slots: HashMap<(String, String), Slot> = HashMap::new();
    let mut batch_keys: HashMap<&str, usize> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        if let Some(key) = event.idempotency_key {
            let reused = |first: Option<&[u8; 32]>| match (first, event.payload_digest) {
                (Some(first), Some(digest)) if first != digest => Err(KeyReused { event: i }),
                _ => Ok(()),
            };
            if let Some(first) = prior.seen_keys.get(key) {
                reused(first.as_ref())?;
                plan.steps.push(Step::Stored);
                continue;
            }
            if let Some(&first) = batch_keys.get(key) {
                reused(events[first].payload_digest)?;
                plan.steps.push(Step::RepeatOf(first));
                continue;
            }
            batch_keys.insert(key, i);
        }
        let Some(target) = event.recipient else {
            plan.steps.push(Step::NoRecipient);
            continue;
        };
        let facts = event.facts;
        let counts_as_soft = facts.counts_as_soft(policy);
        let mut history_now = History::default();
        if tracked(policy, event) {
            let marks =
                history.entry(target.key()).or_insert_with(|| prior.history.remove(target.key()).unwrap_or_default());
            let since = window_start(policy, &facts, event.at);
            if counts_as_soft {
                history_now.soft_in_window =
                    soft_count(marks, since, policy.soft_reset_on_delivery, policy.count_unknown_failures);
            }
            // Retry-success episodes are about soft bounces alone.
            let open_episode = soft_count(marks, since, true, false) > 0;
            plan.episodes[i] = match facts.kind {
                Kind::Soft if !open_episode => Some(Episode::Started),
                Kind::Delivered if open_episode => Some(Episode::Recovered),
                _ => None,
            };
            let seq = BATCH_SEQ.saturating_add(i64::try_from(i).unwrap_or(i64::MAX));
            let (delivered, unexplained) = (facts.kind == Kind::Delivered, facts.kind == Kind::Unknown);
            marks.push(Mark { at: event.at, seq, delivered, unexplained });
        }
        let step = match decide(policy, facts, history_now) {
            Decision::CountSoft { count, threshold, window_days } => Step::Counted { count, threshold, window_days },
            Decision::Nothing { why } => Step::Nothing { why },
            Decision::Suppress { reason, scope } => {
                let now = event.received_at;
                let key = (scope.clone(), target.key().to_owned());
                let slot = slots.get(&key).copied().or_else(|| {
                    prior.entries.get(&key).map(|&(id, state)| Slot { entry: EntryRef::Stored(id), state })
                });
                let existing = slot.map(|s| (s.state.reason, s.state.in_force(now)));
                let (entry, reopened) = match (slot, on_suppress(existing, reason)) {
                    (Some(s), EntryChange::Unchanged) => {
                        plan.steps.push(Step::Already { entry: s.entry, reason: s.state.reason, scope });
                        continue;
                    }
                    (Some(s), change @ (EntryChange::Reopen | EntryChange::Escalate)) => {
                        let reopened = change == EntryChange::Reopen;
                        let entry = s.entry;
                        plan.writes.push(Write::Update { event: i, entry, scope: scope.clone(), reason, reopened });
                        (entry, reopened)
                    }
                    _ => {
                        let j = plan.new_entries.len();
                        plan.new_entries.push(NewEntry { event: i, scope: scope.clone(), reason });
                        plan.writes.push(Write::Add(j));
                        (EntryRef::New(j), false)
                    }
                };
                slots.insert(key, Slot { entry, state: Entry { reason, active: true, expires_at: None } });
                Step::Suppressed { entry, reason, scope, reopened }
            }
        };
        plan.steps.push(step);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;
