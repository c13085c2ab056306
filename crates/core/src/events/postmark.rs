//! Postmark webhooks, one JSON object per POST told apart by `RecordType`: `Bounce` (with
//! Postmark's bounce `Type` and the remote reply in `Details`), `SpamComplaint`, `Delivery`,
//! `SubscriptionChange` (Postmark starting or stopping to suppress an address), `Open`, `Click`.
//! Types are read by name: Postmark's documentation and SDK disagree on some `TypeCode`s.

use serde_json::Value;

use super::{Event, Label, about, delivered, failure, neutral, text};
use crate::{Kind, Reason};

const DECODER: &str = "postmark";

/// The event, when `value` is a Postmark webhook body.
pub fn decode(value: &Value) -> Option<Vec<Event>> {
    let record = value.get("RecordType")?.as_str()?;
    let recipient = ["Email", "Recipient"].iter().map(|k| text(value, k)).find(|r| !r.is_empty()).unwrap_or_default();
    Some(vec![match record {
        "Bounce" => bounce(value, recipient),
        "SpamComplaint" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::complaint("postmark.spam_complaint", record, "")),
        },
        "Delivery" => delivered(recipient, text(value, "Details"), DECODER),
        "SubscriptionChange" => subscription_change(value, recipient),
        "Open" | "Click" => Event {
            report: about(recipient, DECODER),
            label: Some(Label::decisive(Reason::Delivered, "postmark.engagement", record)),
        },
        other => neutral(recipient, DECODER, other),
    }])
}

fn bounce(value: &Value, recipient: &str) -> Event {
    let bounce_type = text(value, "Type");
    let report = failure(recipient, None, "", text(value, "Details"), DECODER);
    let evidence = format!("Type: {bounce_type}");
    let rule = "postmark.bounce_type";
    let fallback = |reason| Some(Label::fallback(reason, rule, evidence.clone()));
    let decisive = |reason| Some(Label::decisive(reason, rule, evidence.clone()));
    let label = match bounce_type {
        "HardBounce" | "BadEmailAddress" => fallback(Reason::UserUnknown),
        "SoftBounce" | "Transient" => fallback(Reason::OnHold).map(|l| l.with_kind(Kind::Soft)),
        "DnsError" => fallback(Reason::NetworkError),
        "SpamNotification" => fallback(Reason::SpamDetected),
        "VirusNotification" => fallback(Reason::VirusDetected),
        "Blocked" => fallback(Reason::Blocked),
        "DMARCPolicy" => fallback(Reason::AuthFailure),
        "AutoResponder" => decisive(Reason::Vacation),
        "SpamComplaint" => Some(Label::complaint("postmark.spam_complaint", evidence.clone(), "")),
        "Unsubscribe" => Some(Label::unsubscribe(rule, evidence.clone())),
        "ManuallyDeactivated" => decisive(Reason::Suppressed),
        "Subscribe" | "OpenRelayTest" | "ChallengeVerification" | "AddressChange" => decisive(Reason::Undefined),
        _ => None,
    };
    Event { report, label }
}

/// Postmark stopped (or resumed) sending to an address. A recipient's own unsubscribe and a spam
/// complaint are what they are; a hard bounce or a suppression by staff is Postmark's list.
fn subscription_change(value: &Value, recipient: &str) -> Event {
    let suppressing = value.get("SuppressSending").and_then(Value::as_bool).unwrap_or(false);
    let why = text(value, "SuppressionReason");
    let origin = text(value, "Origin");
    let evidence = format!("SuppressSending: {suppressing}, SuppressionReason: {why}, Origin: {origin}");
    let rule = "postmark.subscription_change";
    let label = match (suppressing, why, origin) {
        (false, _, _) => Label::decisive(Reason::Undefined, rule, evidence),
        (true, "SpamComplaint", _) => Label::complaint(rule, evidence, ""),
        (true, "ManualSuppression", "Recipient") => Label::unsubscribe(rule, evidence),
        (true, _, _) => Label::decisive(Reason::Suppressed, rule, evidence),
    };
    Event { report: about(recipient, DECODER), label: Some(label) }
}
