//! SparkPost (Bird) webhooks: a JSON array of `{"msys": {"<category>": {...}}}`. Bounces and delays
//! carry the remote reply in `raw_reason` and SparkPost's `bounce_class`, whose numbers SparkPost
//! documents as hard (10, 30, 90), soft, block (50–54) or admin (25, 26: its own policy, such as
//! suppression). An empty `msys` is a ping and holds no event.

use serde_json::Value;

use super::{Event, Label, about, delivered, failure, neutral, number, text};
use crate::report::DsnAction;
use crate::{Kind, Reason};

const DECODER: &str = "sparkpost";

/// The event, when `value` is a SparkPost batch element; an empty list for a ping.
pub fn decode(value: &Value) -> Option<Vec<Event>> {
    let categories = value.get("msys")?.as_object()?;
    Some(categories.values().filter_map(event).collect())
}

fn event(body: &Value) -> Option<Event> {
    let kind = body.get("type")?.as_str()?;
    let recipient = ["rcpt_to", "raw_rcpt_to"].iter().map(|k| text(body, k)).find(|r| !r.is_empty())?;
    Some(match kind {
        "bounce" | "out_of_band" | "delay" | "policy_rejection" | "generation_rejection" => {
            failed(body, kind, recipient)
        }
        "delivery" => delivered(recipient, text(body, "raw_reason"), DECODER),
        "spam_complaint" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::complaint("sparkpost.spam_complaint", kind, text(body, "fbtype"))),
        },
        "list_unsubscribe" | "link_unsubscribe" => {
            Event { report: about(recipient, DECODER), label: Some(Label::unsubscribe("sparkpost.unsubscribe", kind)) }
        }
        "open" | "initial_open" | "click" | "amp_open" | "amp_initial_open" | "amp_click" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::decisive(Reason::Delivered, "sparkpost.engagement", kind)),
        },
        other => neutral(recipient, DECODER, other),
    })
}

fn failed(body: &Value, kind: &str, recipient: &str) -> Event {
    let code = number(body, "error_code").and_then(|c| u16::try_from(c).ok());
    let reply =
        [text(body, "raw_reason"), text(body, "reason")].into_iter().find(|r| !r.is_empty()).unwrap_or_default();
    let mut report = failure(recipient, code, "", reply, DECODER);
    if kind == "delay" {
        report.action = Some(DsnAction::Delayed);
    }
    let class = number(body, "bounce_class");
    let evidence = format!("{kind}, bounce_class: {}", class.map(|c| c.to_string()).unwrap_or_default());
    let rule = "sparkpost.bounce_class";
    let label = match class {
        Some(10) => Some(Label::fallback(Reason::UserUnknown, rule, evidence)),
        Some(21) => Some(Label::fallback(Reason::NetworkError, rule, evidence)),
        Some(22) => Some(Label::fallback(Reason::MailboxFull, rule, evidence)),
        Some(23) => Some(Label::fallback(Reason::MessageTooBig, rule, evidence)),
        Some(24) => Some(Label::fallback(Reason::Expired, rule, evidence)),
        Some(20 | 40 | 70 | 100) => Some(Label::fallback(Reason::OnHold, rule, evidence).with_kind(Kind::Soft)),
        Some(25 | 26) => Some(Label::decisive(Reason::Suppressed, rule, evidence)),
        Some(50) => Some(Label::fallback(Reason::Blocked, rule, evidence)),
        Some(51 | 52) => Some(Label::fallback(Reason::SpamDetected, rule, evidence)),
        Some(53) => Some(Label::fallback(Reason::ContentError, rule, evidence)),
        Some(54) => Some(Label::fallback(Reason::NoRelaying, rule, evidence)),
        Some(60) => Some(Label::decisive(Reason::Vacation, rule, evidence)),
        Some(90) => Some(Label::unsubscribe(rule, evidence)),
        _ => None,
    };
    Event { report, label }
}
