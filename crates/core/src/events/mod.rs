//! Provider webhook events: the JSON that SendGrid, Mailgun, Postmark, SparkPost (Bird) and Amazon
//! SES post about each delivery, read into the same `Report`s as a bounce email so that one
//! classifier judges both.
//!
//! A provider's own label (its bounce type or class) is evidence, not the verdict: when the event
//! carries the remote server's reply, the rules read that text, and the label only decides what the
//! text leaves unexplained. A label that names a refusal of the sender (a block, spam, a policy)
//! is never overruled into a hard bounce, because the address was never the problem. Events that
//! are not failures (delivered, complaint, unsubscribe, already suppressed) are decided by the
//! label alone.

mod mailgun;
mod postmark;
mod sendgrid;
mod sparkpost;

use serde_json::Value;

use crate::message::address;
use crate::report::{DsnAction, Hint, Report};
use crate::{Classifier, EnhancedStatus, Kind, Reason, Verdict};

/// One provider event, read: what the remote server said, and what the provider calls it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Event {
    pub report: Report<'static>,
    pub label: Option<Label>,
}

/// A provider's classification of an event.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub reason: Reason,
    /// A kind that overrides the reason's row of the kind table (an unsubscribe).
    pub kind: Option<Kind>,
    /// `sendgrid.bounce_classification`, ...: the rule id of a verdict the label decided.
    pub rule: &'static str,
    /// The field values the label was read from.
    pub evidence: String,
    pub feedback_type: Option<String>,
    /// The event is not a failure (or the provider refused to send): the label is the verdict,
    /// whatever text comes with it.
    pub decisive: bool,
}

impl Label {
    /// A label that decides only what the remote server's text leaves unexplained.
    pub fn fallback(reason: Reason, rule: &'static str, evidence: impl Into<String>) -> Self {
        Self { reason, kind: None, rule, evidence: evidence.into(), feedback_type: None, decisive: false }
    }

    /// A label that is the verdict.
    pub fn decisive(reason: Reason, rule: &'static str, evidence: impl Into<String>) -> Self {
        Self { decisive: true, ..Self::fallback(reason, rule, evidence) }
    }

    pub fn with_kind(self, kind: Kind) -> Self {
        Self { kind: Some(kind), ..self }
    }

    /// A complaint (`abuse` unless the provider says otherwise).
    pub fn complaint(rule: &'static str, evidence: impl Into<String>, feedback_type: &str) -> Self {
        let feedback_type = Some(if feedback_type.is_empty() { "abuse".to_owned() } else { feedback_type.to_owned() });
        Self { feedback_type, ..Self::decisive(Reason::Feedback, rule, evidence) }
    }

    /// An unsubscribe request.
    pub fn unsubscribe(rule: &'static str, evidence: impl Into<String>) -> Self {
        Self { feedback_type: Some("opt-out".to_owned()), ..Self::decisive(Reason::Feedback, rule, evidence) }
            .with_kind(Kind::Unsubscribe)
    }

    fn hint(&self) -> Hint {
        Hint {
            reason: self.reason,
            kind: self.kind,
            rule: self.rule,
            evidence: self.evidence.clone(),
            feedback_type: self.feedback_type.clone(),
        }
    }
}

/// What a failure event's fields say, before the provider's label: the recipient, the reply
/// code and status the provider states separately, and the remote server's text.
pub(crate) fn failure(
    recipient: &str,
    reply_code: Option<u16>,
    status: &str,
    diagnostic: &str,
    decoder: &'static str,
) -> Report<'static> {
    Report {
        recipient: address::clean(recipient),
        reply_code: reply_code.filter(|c| (200..600).contains(c)),
        status: EnhancedStatus::find(status).map(|(s, _)| s),
        diagnostic: diagnostic.trim().trim_start_matches("smtp;").trim().to_owned().into(),
        decoder,
        ..Report::default()
    }
}

/// A report about a recipient and nothing else (a complaint, an unsubscribe, an engagement).
pub(crate) fn about(recipient: &str, decoder: &'static str) -> Report<'static> {
    Report { recipient: address::clean(recipient), decoder, ..Report::default() }
}

/// A delivery, with the remote server's acceptance if the provider passes it on.
pub(crate) fn delivered(recipient: &str, response: &str, decoder: &'static str) -> Event {
    let report = Report {
        action: Some(DsnAction::Delivered),
        diagnostic: response.trim().trim_start_matches("smtp;").trim().to_owned().into(),
        ..about(recipient, decoder)
    };
    Event { report, label: Some(Label::decisive(Reason::Delivered, decoder_rule(decoder), "delivered")) }
}

/// An event that says nothing about deliverability (a send accepted, a message generated): recorded,
/// never acted on.
pub(crate) fn neutral(recipient: &str, decoder: &'static str, event: &str) -> Event {
    Event {
        report: about(recipient, decoder),
        label: Some(Label::decisive(Reason::Undefined, decoder_rule(decoder), event)),
    }
}

fn decoder_rule(decoder: &'static str) -> &'static str {
    match decoder {
        "sendgrid" => "sendgrid.event",
        "mailgun" => "mailgun.event",
        "postmark" => "postmark.record_type",
        "sparkpost" => "sparkpost.event",
        _ => "provider.event",
    }
}

/// A string field (empty when missing or not a string).
pub(crate) fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A numeric field that providers send as a number or as a string of digits.
pub(crate) fn number(value: &Value, key: &str) -> Option<u64> {
    let field = value.get(key)?;
    field.as_u64().or_else(|| field.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The events in a JSON document: one provider event, a batch (array) of them, or an SES
/// notification. `None` when the input is not JSON or not from a provider Rebound knows, so that
/// it is read as an email instead.
pub(crate) fn decode(raw: &[u8]) -> Option<Vec<Event>> {
    let start = raw.iter().position(|b| !b.is_ascii_whitespace())?;
    if !matches!(raw[start], b'{' | b'[') {
        return None;
    }
    let value: Value = serde_json::from_slice(&raw[start..]).ok()?;
    match &value {
        Value::Array(items) => {
            let read: Vec<Option<Vec<Event>>> = items.iter().map(one).collect();
            if read.iter().all(Option::is_none) {
                return None;
            }
            Some(read.into_iter().flat_map(|events| events.unwrap_or_else(|| vec![Event::default()])).collect())
        }
        _ => one(&value),
    }
}

/// The events of one JSON object (SparkPost wraps one event in `msys`; an SES notification names
/// several recipients).
fn one(value: &Value) -> Option<Vec<Event>> {
    if !value.is_object() {
        return None;
    }
    if let Some(reports) = crate::message::ses::from_value(value) {
        return Some(reports.into_iter().map(|report| Event { report, label: None }).collect());
    }
    postmark::decode(value)
        .or_else(|| mailgun::decode(value))
        .or_else(|| sparkpost::decode(value))
        .or_else(|| sendgrid::decode(value))
}

impl Classifier {
    /// The verdicts of provider webhook JSON, one per event; `None` when `raw` is not such JSON.
    pub(crate) fn classify_events(&self, raw: &[u8]) -> Option<Vec<Verdict>> {
        let events = decode(raw)?;
        if events.is_empty() {
            return Some(vec![self.judge(&Report { decoder: "provider", ..Report::default() })]);
        }
        Some(events.iter().map(|event| self.judge_event(event)).collect())
    }

    /// One event's verdict: the label when it is decisive or the text explains nothing; otherwise
    /// the text, unless it would make a dead address of what the provider calls a refusal of the
    /// sender.
    fn judge_event(&self, event: &Event) -> Verdict {
        let Some(label) = &event.label else { return self.judge(&event.report) };
        let by_label = || self.judge(&Report { hint: Some(label.hint()), ..event.report.clone() });
        if label.decisive {
            return by_label();
        }
        let by_text = self.judge(&event.report);
        let unexplained = matches!(by_text.reason, Reason::OnHold | Reason::Undefined);
        let label_is_block = self.kinds().kind(label.reason) == Kind::Block;
        if unexplained || (label_is_block && by_text.kind == Kind::Hard) { by_label() } else { by_text }
    }
}
