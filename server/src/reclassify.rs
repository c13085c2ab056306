//! Classifying stored events again: the stored reply or bounce email is read by another
//! classifier (for example one built from a proposed policy), so staff see what a rule or a kind
//! change would do to real traffic before saving it. Only events stored with their input
//! (replies and messages) can be read again; the stored copy is cut at 64 KiB, which can change
//! the reading of a very long email.

use rebound_api::v1::{Event, PolicyPreview, Verdict, VerdictBrief, VerdictChange};
use rebound_core::Classifier;
use rebound_store::StoredInput;

/// Most events a preview classifies again.
pub const PREVIEW_EVENTS: u32 = 10_000;
/// Most events one re-evaluation reads.
pub const REEVALUATE_EVENTS: u32 = 100_000;
const SAMPLE: usize = 20;

/// The verdict `classifier` gives the event's stored input (its exact bytes), for the event's
/// recipient.
pub fn verdict_again(classifier: &Classifier, stored: &StoredInput) -> Option<Verdict> {
    let StoredInput { event, raw } = stored;
    match event.input.as_str() {
        "reply" => Some(classifier.classify_reply(&String::from_utf8_lossy(raw))),
        "message" => {
            let verdicts = classifier.classify_message(raw);
            let wanted = event.recipient.as_deref();
            let is =
                |named: &Option<String>| named.as_deref().zip(wanted).is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
            let mine = verdicts.iter().position(|v| is(&v.original_recipient) || is(&v.recipient));
            verdicts.into_iter().nth(mine.unwrap_or(0))
        }
        _ => None,
    }
}

fn brief(v: &Verdict) -> VerdictBrief {
    VerdictBrief { kind: v.kind, reason: v.reason, rule: v.rule.to_string() }
}

/// Compares the verdicts of `current` and `proposed` on the events (both read again now).
pub fn preview(current: &Classifier, proposed: &Classifier, events: &[StoredInput]) -> PolicyPreview {
    compare(events, |e| verdict_again(current, e), proposed).0
}

/// Compares each event's verdict from `before` with the one `after` gives now: the summary, and
/// the events that changed with their new verdicts.
pub fn compare<'e>(
    events: &'e [StoredInput],
    before: impl Fn(&StoredInput) -> Option<Verdict>,
    after: &Classifier,
) -> (PolicyPreview, Vec<(&'e Event, Verdict)>) {
    let mut out = PolicyPreview { events_checked: 0, changed: 0, by_change: Default::default(), sample: Vec::new() };
    let mut changed = Vec::new();
    for stored in events {
        let (Some(old), Some(new)) = (before(stored), verdict_again(after, stored)) else {
            continue;
        };
        let event = &stored.event;
        out.events_checked += 1;
        if (old.kind, old.reason, &old.rule) == (new.kind, new.reason, &new.rule) {
            continue;
        }
        out.changed += 1;
        *out.by_change.entry(format!("{} → {}", old.kind, new.kind)).or_default() += 1;
        if out.sample.len() < SAMPLE {
            out.sample.push(VerdictChange {
                event_id: event.id,
                recipient: event.recipient.clone(),
                before: brief(&old),
                after: brief(&new),
            });
        }
        changed.push((event, new));
    }
    (out, changed)
}
