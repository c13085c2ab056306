//! The plan against a model of the store: planning a batch at once must answer every event, and
//! leave the list, exactly as planning and storing its events one at a time would.

use std::collections::HashMap;

use proptest::prelude::*;
use rebound_core::{Kind, Reason};

use super::*;
use crate::address::normalize;
use crate::policy::{GLOBAL_SCOPE, SoftOverride};

const NOW: i64 = 1_800_000_000;

/// A step with its entry named by id, as a client would see the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    NoRecipient,
    Counted(u32, u32, u32),
    Nothing(&'static str),
    Already(i64, SuppressionReason, String),
    Suppressed(i64, SuppressionReason, String, bool),
}

/// The store as the plan assumes it: entries by (scope, key) with ids, histories, the answers
/// kept for idempotency keys, and the next ids.
#[derive(Debug, Clone, Default)]
struct Model {
    prior: Prior,
    answers: HashMap<String, Answer>,
    next_entry: i64,
    next_event: i64,
}

impl Model {
    /// Stores what `plan` says about `events`, as the store's apply does, and returns each event's
    /// answer and the writes with their entries named by id.
    fn apply(
        &mut self,
        policy: &Policy,
        events: &[PlanEvent<'_>],
        plan: &BatchPlan,
    ) -> (Vec<Answer>, Vec<(i64, SuppressionReason, bool)>) {
        let mut new_ids = Vec::new();
        for entry in &plan.new_entries {
            self.next_entry += 1;
            new_ids.push(self.next_entry);
            let target = events[entry.event].recipient.expect("an entry has a recipient");
            let state = Entry { reason: entry.reason, active: true, expires_at: None };
            self.prior.entries.insert((entry.scope.clone(), target.key().to_owned()), (self.next_entry, state));
        }
        let id = |r: EntryRef| match r {
            EntryRef::Stored(id) => id,
            EntryRef::New(j) => new_ids[j],
        };
        let mut writes = Vec::new();
        for write in &plan.writes {
            match write {
                Write::Add(j) => writes.push((new_ids[*j], plan.new_entries[*j].reason, false)),
                Write::Update { event, entry, scope, reason, reopened } => {
                    let key = (scope.clone(), events[*event].recipient.expect("recipient").key().to_owned());
                    let state = Entry { reason: *reason, active: true, expires_at: None };
                    self.prior.entries.insert(key, (id(*entry), state));
                    writes.push((id(*entry), *reason, *reopened));
                }
            }
        }
        let mut answers: Vec<Answer> = Vec::new();
        for (i, (event, step)) in events.iter().zip(&plan.steps).enumerate() {
            let answer = match step {
                Step::Stored => self.answers[event.idempotency_key.expect("a stored repeat has a key")].clone(),
                Step::RepeatOf(first) => answers[*first].clone(),
                Step::NoRecipient => Answer::NoRecipient,
                Step::Counted { count, threshold, window_days } => Answer::Counted(*count, *threshold, *window_days),
                Step::Nothing { why } => Answer::Nothing(why),
                Step::Already { entry, reason, scope } => Answer::Already(id(*entry), *reason, scope.clone()),
                Step::Suppressed { entry, reason, scope, reopened } => {
                    Answer::Suppressed(id(*entry), *reason, scope.clone(), *reopened)
                }
            };
            if !matches!(step, Step::Stored | Step::RepeatOf(_)) {
                self.next_event += 1;
                if let Some(key) = event.idempotency_key {
                    self.prior.seen_keys.insert(key.to_owned(), event.payload_digest.copied());
                    self.answers.insert(key.to_owned(), answer.clone());
                }
                if let (true, Some(target)) = (tracked(policy, event), event.recipient) {
                    let facts = &event.facts;
                    self.prior.history.entry(target.key().to_owned()).or_default().push(Mark {
                        at: event.at,
                        seq: self.next_event,
                        delivered: facts.kind == Kind::Delivered,
                        unexplained: facts.kind == Kind::Unknown,
                    });
                }
            }
            debug_assert_eq!(answers.len(), i);
            answers.push(answer);
        }
        (answers, writes)
    }
}

/// The generated description of an event (owned, so proptest can shrink it).
#[derive(Debug, Clone)]
struct Spec {
    recipient: Option<usize>,
    kind: Kind,
    soft_reason: bool,
    permanent: bool,
    spam_trap: bool,
    stream: bool,
    key: Option<(u8, u8)>,
    day: i64,
}

fn spec() -> impl Strategy<Value = Spec> {
    let kind = prop::sample::select(vec![
        Kind::Hard,
        Kind::Soft,
        Kind::Soft,
        Kind::Soft,
        Kind::Block,
        Kind::Complaint,
        Kind::Unsubscribe,
        Kind::Delivered,
        Kind::Delivered,
        Kind::Unknown,
        Kind::AutoReply,
    ]);
    (
        prop::option::weighted(0.95, 0..3usize),
        kind,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.05),
        any::<bool>(),
        prop::option::weighted(0.3, (0..3u8, 0..2u8)),
        0..12i64,
    )
        .prop_map(|(recipient, kind, soft_reason, permanent, spam_trap, stream, key, day)| Spec {
            recipient,
            kind,
            soft_reason,
            permanent,
            spam_trap,
            stream,
            key,
            day,
        })
}

/// An entry stored before the batch: (recipient, reason, active, expired).
fn prior_entry() -> impl Strategy<Value = (usize, SuppressionReason, bool, bool)> {
    (0..3usize, prop::sample::select(SuppressionReason::ALL.to_vec()), any::<bool>(), any::<bool>())
}

fn policy() -> impl Strategy<Value = Policy> {
    (1..4u32, 1..8u32, any::<bool>(), any::<bool>(), prop::option::of((1..4u32, 1..8u32))).prop_map(
        |(soft_threshold, soft_window_days, soft_reset_on_delivery, count_unknown_failures, full)| Policy {
            soft_threshold,
            soft_window_days,
            soft_reset_on_delivery,
            count_unknown_failures,
            soft_overrides: full
                .map(|(threshold, window_days)| SoftOverride { reason: Reason::MailboxFull, threshold, window_days })
                .into_iter()
                .collect(),
            ..Policy::default()
        },
    )
}

struct Built {
    targets: Vec<Target>,
    keys: Vec<String>,
    digests: Vec<[u8; 32]>,
}

fn built() -> Built {
    Built {
        targets: ["ann@example.com", "bob@example.com", "cy@example.org"]
            .iter()
            .map(|a| normalize(a).expect("a valid address"))
            .collect(),
        keys: (0..3).map(|k| format!("key-{k}")).collect(),
        digests: vec![[1; 32], [2; 32]],
    }
}

fn events<'a>(b: &'a Built, specs: &[Spec]) -> Vec<PlanEvent<'a>> {
    specs
        .iter()
        .map(|s| PlanEvent {
            facts: EventFacts {
                kind: s.kind,
                reason: if s.soft_reason { Reason::MailboxFull } else { Reason::Expired },
                spam_trap: s.spam_trap,
                stream: s.stream.then_some("news"),
                permanent: s.permanent,
            },
            recipient: s.recipient.map(|r| &b.targets[r]),
            idempotency_key: s.key.map(|(k, _)| b.keys[usize::from(k)].as_str()),
            payload_digest: s.key.map(|(_, d)| &b.digests[usize::from(d)]),
            at: NOW - s.day * DAY,
            received_at: NOW,
        })
        .collect()
}

fn model(b: &Built, entries: &[(usize, SuppressionReason, bool, bool)]) -> Model {
    let mut m = Model::default();
    for &(r, reason, active, expired) in entries {
        m.next_entry += 1;
        let state = Entry { reason, active, expires_at: expired.then_some(NOW - 1) };
        m.prior.entries.insert((GLOBAL_SCOPE.to_owned(), b.targets[r].key().to_owned()), (m.next_entry, state));
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// A batch planned at once answers each event, writes the same changes in the same order and
    /// leaves the same list as the same events planned and stored one at a time.
    #[test]
    fn a_batch_is_its_events_one_by_one(
        policy in policy(),
        entries in prop::collection::vec(prior_entry(), 0..3),
        specs in prop::collection::vec(spec(), 1..25),
    ) {
        let b = built();
        let events = events(&b, &specs);
        let mut at_once = model(&b, &entries);
        let mut one_by_one = at_once.clone();

        let batch = plan_batch(&policy, at_once.prior.clone(), &events);
        let mut singles = Ok(Vec::new());
        let mut single_writes = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match plan_batch(&policy, one_by_one.prior.clone(), std::slice::from_ref(event)) {
                Ok(plan) => {
                    let (answers, writes) = one_by_one.apply(&policy, std::slice::from_ref(event), &plan);
                    if let Ok(all) = &mut singles { all.extend(answers) }
                    single_writes.extend(writes);
                }
                Err(KeyReused { .. }) => {
                    singles = Err(KeyReused { event: i });
                    break;
                }
            }
        }
        match batch {
            Err(e) => prop_assert_eq!(Err(e), singles),
            Ok(plan) => {
                prop_assert_eq!(plan.steps.len(), events.len());
                let (answers, writes) = at_once.apply(&policy, &events, &plan);
                prop_assert_eq!(Ok(answers), singles);
                prop_assert_eq!(writes, single_writes);
                prop_assert_eq!(&at_once.prior.entries, &one_by_one.prior.entries);
            }
        }
    }
}

#[test]
fn a_complaint_outranks_every_other_cause_in_force() {
    use SuppressionReason as R;
    for old in SuppressionReason::ALL {
        let expected = if old == R::Complaint { EntryChange::Unchanged } else { EntryChange::Escalate };
        assert_eq!(on_suppress(Some((old, true)), R::Complaint), expected, "{old:?}");
        assert_eq!(on_suppress(Some((old, true)), R::HardBounce), EntryChange::Unchanged, "{old:?}");
        assert_eq!(on_suppress(Some((old, false)), R::HardBounce), EntryChange::Reopen, "{old:?}");
    }
    assert_eq!(on_suppress(None, R::Manual), EntryChange::Create);
}

#[test]
fn soft_bounces_in_one_batch_count_each_other_and_a_delivery_restarts_the_count() {
    let b = built();
    let policy = Policy { soft_threshold: 3, soft_window_days: 7, ..Policy::default() };
    let soft = Spec {
        recipient: Some(0),
        kind: Kind::Soft,
        soft_reason: false,
        permanent: false,
        spam_trap: false,
        stream: false,
        key: None,
        day: 1,
    };
    let delivered = Spec { kind: Kind::Delivered, day: 0, ..soft.clone() };
    let specs = [soft.clone(), soft.clone(), delivered, Spec { day: 0, ..soft.clone() }, soft.clone(), soft];
    let plan = plan_batch(&policy, Prior::default(), &events(&b, &specs)).expect("no key reused");
    let counted: Vec<Option<u32>> = plan
        .steps
        .iter()
        .map(|s| match s {
            Step::Counted { count, .. } => Some(*count),
            _ => None,
        })
        .collect();
    // Once the delivery of day 0 is known, the soft bounces dated before it stop counting, wherever
    // they come in the batch: the last two (day 1) count only the one of day 0.
    assert_eq!(counted, [Some(1), Some(2), None, Some(1), Some(2), Some(2)]);
    assert_eq!(plan.episodes[0], Some(Episode::Started));
    assert_eq!(plan.episodes[2], Some(Episode::Recovered));
    assert!(plan.new_entries.is_empty());
}

#[test]
fn a_complaint_after_a_hard_bounce_in_one_batch_escalates_the_entry_it_created() {
    let b = built();
    let hard = Spec {
        recipient: Some(1),
        kind: Kind::Hard,
        soft_reason: false,
        permanent: true,
        spam_trap: false,
        stream: false,
        key: None,
        day: 0,
    };
    let specs = [hard.clone(), Spec { kind: Kind::Complaint, ..hard.clone() }, hard];
    let plan = plan_batch(&Policy::default(), Prior::default(), &events(&b, &specs)).expect("no key reused");
    let global = GLOBAL_SCOPE.to_owned();
    assert_eq!(plan.new_entries, [NewEntry { event: 0, scope: global.clone(), reason: SuppressionReason::HardBounce }]);
    assert_eq!(
        plan.writes,
        [
            Write::Add(0),
            Write::Update {
                event: 1,
                entry: EntryRef::New(0),
                scope: global.clone(),
                reason: SuppressionReason::Complaint,
                reopened: false
            }
        ]
    );
    assert_eq!(
        plan.steps[2],
        Step::Already { entry: EntryRef::New(0), reason: SuppressionReason::Complaint, scope: global }
    );
}

#[test]
fn a_complaint_is_lifted_only_when_confirmed_and_a_lifted_entry_not_again() {
    let entry = |reason, active| Entry { reason, active, expires_at: None };
    let complaint = entry(SuppressionReason::Complaint, true);
    assert_eq!(lift_check(&complaint, false), LiftCheck::NeedsConfirmation);
    assert_eq!(lift_check(&complaint, true), LiftCheck::Lift);
    assert_eq!(lift_check(&entry(SuppressionReason::HardBounce, true), false), LiftCheck::Lift);
    assert_eq!(lift_check(&entry(SuppressionReason::HardBounce, false), true), LiftCheck::NotActive);
}

#[test]
fn a_new_verdict_suppresses_or_lifts_only_where_the_decision_changes() {
    let policy = Policy::default();
    let facts =
        |kind| EventFacts { kind, reason: Reason::UserUnknown, spam_trap: false, stream: None, permanent: true };
    let global = GLOBAL_SCOPE.to_owned();
    assert_eq!(
        reevaluate(&policy, facts(Kind::Block), facts(Kind::Hard)),
        Reevaluated::Suppress { reason: SuppressionReason::HardBounce, scope: global }
    );
    assert_eq!(reevaluate(&policy, facts(Kind::Hard), facts(Kind::Block)), Reevaluated::LiftWhatItCaused);
    assert_eq!(reevaluate(&policy, facts(Kind::Hard), facts(Kind::Complaint)), Reevaluated::Keep);
    // A soft bounce is never re-escalated on its own: its history is not re-derived.
    assert_eq!(reevaluate(&policy, facts(Kind::Block), facts(Kind::Soft)), Reevaluated::Keep);
}
