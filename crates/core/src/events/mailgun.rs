//! Mailgun webhooks: `{"signature": {...}, "event-data": {...}}` (or the event data alone, as the
//! Events API returns it). A `failed` event carries the remote reply in `delivery-status` and
//! Mailgun's `severity`; a `reason` of `suppress-*` (or the internal code 605) means Mailgun did
//! not send because the address is already on one of its lists.

use serde_json::Value;

use super::{Event, Label, about, delivered, failure, neutral, number, text};
use crate::Reason;
use crate::report::DsnAction;

const DECODER: &str = "mailgun";

/// Mailgun's own reply code for "not delivering to a previously bounced address".
const PREVIOUSLY_BOUNCED: u64 = 605;

/// The event, when `value` is a Mailgun webhook body or event.
pub fn decode(value: &Value) -> Option<Vec<Event>> {
    let data = value.get("event-data").unwrap_or(value);
    let event = data.get("event")?.as_str()?;
    let recipient = data.get("recipient")?.as_str()?;
    if value.get("event-data").is_none() && data.get("log-level").is_none() && data.get("delivery-status").is_none() {
        return None;
    }
    let status = data.get("delivery-status").unwrap_or(&Value::Null);
    Some(vec![match event {
        "failed" => failed(data, status, recipient),
        "delivered" => delivered(recipient, &reply_text(status), DECODER),
        "complained" => {
            Event { report: about(recipient, DECODER), label: Some(Label::complaint("mailgun.complained", event, "")) }
        }
        "unsubscribed" => {
            Event { report: about(recipient, DECODER), label: Some(Label::unsubscribe("mailgun.unsubscribed", event)) }
        }
        "opened" | "clicked" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::decisive(Reason::Delivered, "mailgun.engagement", event)),
        },
        other => neutral(recipient, DECODER, other),
    }])
}

/// The remote server's words: Mailgun fills `message`, `description`, or both.
fn reply_text(status: &Value) -> String {
    let (message, description) = (text(status, "message").trim(), text(status, "description").trim());
    match (message.is_empty(), description.is_empty()) {
        (false, false) if message != description => format!("{description} {message}"),
        (false, _) => message.to_owned(),
        (true, _) => description.to_owned(),
    }
}

fn failed(data: &Value, status: &Value, recipient: &str) -> Event {
    let code = number(status, "code");
    let enhanced = text(status, "enhanced-code");
    let diagnostic = reply_text(status);
    let reply_code = code.and_then(|c| u16::try_from(c).ok());
    let mut report = failure(recipient, reply_code, enhanced, &diagnostic, DECODER);
    let severity = text(data, "severity");
    let why = text(data, "reason");
    if severity == "temporary" {
        report.action = Some(DsnAction::Delayed);
    }
    let evidence = format!("severity: {severity}, reason: {why}");
    let label = if why.starts_with("suppress") || code == Some(PREVIOUSLY_BOUNCED) {
        Some(Label::decisive(Reason::Suppressed, "mailgun.suppressed", evidence))
    } else if why.contains("block") {
        Some(Label::fallback(Reason::Blocked, "mailgun.reason", evidence))
    } else {
        None
    };
    Event { report, label }
}
