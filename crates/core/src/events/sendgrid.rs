//! SendGrid's Event Webhook: a JSON array of events, each with `email` and `event`. A `bounce` of
//! `type: blocked` (and a bounce classified as reputation, content or volume) is SendGrid saying
//! the refusal was not about the address; `dropped` means SendGrid did not send at all, mostly
//! because the address is already on one of its suppression lists.

use serde_json::Value;

use super::{Event, Label, about, delivered, failure, neutral, text};
use crate::Reason;
use crate::report::DsnAction;

const DECODER: &str = "sendgrid";

/// The event, when `value` is a SendGrid event.
pub fn decode(value: &Value) -> Option<Vec<Event>> {
    let event = value.get("event")?.as_str()?;
    let recipient = value.get("email")?.as_str()?;
    if value.get("sg_event_id").is_none() && value.get("sg_message_id").is_none() && value.get("smtp-id").is_none() {
        return None;
    }
    Some(vec![match event {
        "bounce" => bounce(value, recipient),
        "deferred" => deferred(value, recipient),
        "delivered" => delivered(recipient, text(value, "response"), DECODER),
        "dropped" => dropped(value, recipient),
        "spamreport" => {
            Event { report: about(recipient, DECODER), label: Some(Label::complaint("sendgrid.spamreport", event, "")) }
        }
        "unsubscribe" | "group_unsubscribe" => {
            Event { report: about(recipient, DECODER), label: Some(Label::unsubscribe("sendgrid.unsubscribe", event)) }
        }
        "open" | "click" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::decisive(Reason::Delivered, "sendgrid.engagement", event)),
        },
        other => neutral(recipient, DECODER, other),
    }])
}

fn bounce(value: &Value, recipient: &str) -> Event {
    let report = failure(recipient, None, text(value, "status"), text(value, "reason"), DECODER);
    let class = text(value, "bounce_classification");
    let blocked = text(value, "type") == "blocked";
    let reason = match class {
        "Invalid Address" if !blocked => Some(Reason::UserUnknown),
        "Reputation" => Some(Reason::BadReputation),
        "Content" => Some(Reason::SpamDetected),
        "Frequency or Volume Too High" => Some(Reason::RateLimited),
        "Technical Failure" => Some(Reason::SystemError),
        _ if blocked => Some(Reason::Blocked),
        _ => None,
    };
    let evidence = match class {
        "" => format!("type: {}", text(value, "type")),
        _ => format!("type: {}, bounce_classification: {class}", text(value, "type")),
    };
    Event { report, label: reason.map(|r| Label::fallback(r, "sendgrid.bounce_classification", evidence)) }
}

fn deferred(value: &Value, recipient: &str) -> Event {
    let mut report = failure(recipient, None, "", text(value, "response"), DECODER);
    report.action = Some(DsnAction::Delayed);
    Event { report, label: None }
}

/// SendGrid's documented drop reasons: most name a suppression list it keeps; spam content and a
/// bad API header are the sender's problem; the rest say nothing about the recipient.
fn dropped(value: &Value, recipient: &str) -> Event {
    let why = text(value, "reason");
    let lower = why.to_ascii_lowercase();
    let reason = if lower.contains("spam content") {
        Reason::SpamDetected
    } else if lower.contains("smtpapi") {
        Reason::ContentError
    } else if ["bounced", "unsubscribed", "spam reporting", "invalid"].iter().any(|w| lower.contains(w)) {
        Reason::Suppressed
    } else {
        Reason::Undefined
    };
    Event {
        report: about(recipient, DECODER),
        label: Some(Label::decisive(reason, "sendgrid.dropped", format!("dropped: {why}"))),
    }
}
