//! Amazon SES notifications (bounce, complaint, delivery; with event publishing also delivery
//! delays and rejections), as JSON in the body of an email (an SNS email subscription), bare, or
//! wrapped in an SNS envelope: one `Report` per recipient named in them.

use serde_json::Value;

use super::address;
use crate::report::{DsnAction, Hint, Report};
use crate::{EnhancedStatus, Kind, Reason};

/// The reports of an SES notification; `None` when the text is not one.
pub fn decode(text: &str) -> Option<Vec<Report<'static>>> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let value: Value =
        serde_json::from_str(trimmed).ok().or_else(|| serde_json::from_str(&unwrap_email_body(trimmed)).ok())?;
    from_value(&value)
}

/// The reports of an SES notification already parsed as JSON (bare, or in an SNS envelope);
/// `None` when it is not one.
pub fn from_value(value: &Value) -> Option<Vec<Report<'static>>> {
    let wrapped: Value;
    let notification = match value.get("Message").and_then(Value::as_str) {
        Some(inner) => {
            wrapped = serde_json::from_str(inner).ok()?;
            &wrapped
        }
        None => value,
    };
    let kind = notification.get("notificationType").or_else(|| notification.get("eventType"))?.as_str()?;
    match kind {
        "Bounce" => Some(bounces(notification.get("bounce")?)),
        "Complaint" => Some(complaints(notification.get("complaint")?)),
        "Delivery" => Some(deliveries(notification.get("delivery")?)),
        "DeliveryDelay" => Some(delays(notification.get("deliveryDelay")?)),
        "Reject" => Some(rejects(notification.get("reject")?, notification.get("mail")?)),
        _ => None,
    }
}

/// Event publishing's `DeliveryDelay`: SES is still retrying; the remote reply, when SES has one,
/// says why.
fn delays(delay: &Value) -> Vec<Report<'static>> {
    let recipients = delay.get("delayedRecipients").and_then(Value::as_array).cloned().unwrap_or_default();
    recipients
        .iter()
        .map(|r| Report {
            recipient: address::clean(text_of(r, "emailAddress")),
            status: EnhancedStatus::find(text_of(r, "status")).map(|(s, _)| s),
            action: Some(DsnAction::Delayed),
            diagnostic: text_of(r, "diagnosticCode").to_owned().into(),
            decoder: "ses",
            ..Report::default()
        })
        .collect()
}

/// Event publishing's `Reject`: SES refused to send the message at all, for its content (the only
/// documented reason is `Bad content`, a virus), so every destination gets the sender's problem.
fn rejects(reject: &Value, mail: &Value) -> Vec<Report<'static>> {
    let why = text_of(reject, "reason");
    let reason = if why.eq_ignore_ascii_case("bad content") { Reason::VirusDetected } else { Reason::ContentError };
    let destinations = mail.get("destination").and_then(Value::as_array).cloned().unwrap_or_default();
    destinations
        .iter()
        .filter_map(Value::as_str)
        .map(|r| Report {
            recipient: address::clean(r),
            hint: Some(Hint {
                reason,
                kind: None,
                rule: "ses.reject",
                evidence: format!("reject: {why}"),
                feedback_type: None,
            }),
            decoder: "ses",
            ..Report::default()
        })
        .collect()
}

/// SNS email subscriptions wrap the JSON at a fixed width and append a footer after a `--` line.
fn unwrap_email_body(text: &str) -> String {
    text.lines().take_while(|line| line.trim_end() != "--").map(|line| line.trim_end_matches('\r')).collect()
}

fn text_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn bounces(bounce: &Value) -> Vec<Report<'static>> {
    let bounce_type = text_of(bounce, "bounceType");
    let sub_type = text_of(bounce, "bounceSubType");
    let recipients = bounce.get("bouncedRecipients").and_then(Value::as_array).cloned().unwrap_or_default();
    recipients
        .iter()
        .map(|r| {
            let diagnostic = text_of(r, "diagnosticCode").to_owned();
            let hint = subtype_hint(bounce_type, sub_type, diagnostic.is_empty());
            Report {
                recipient: address::clean(text_of(r, "emailAddress")),
                status: EnhancedStatus::find(text_of(r, "status")).map(|(s, _)| s),
                action: DsnAction::parse(text_of(r, "action")),
                diagnostic: diagnostic.into(),
                hint,
                decoder: "ses",
                ..Report::default()
            }
        })
        .collect()
}

/// What the bounce type says when the remote server's words are missing, or when SES itself
/// refused to send (its suppression lists).
fn subtype_hint(bounce_type: &str, sub_type: &str, no_diagnostic: bool) -> Option<Hint> {
    let reason = match (bounce_type, sub_type) {
        (_, "Suppressed" | "OnAccountSuppressionList") => Reason::Suppressed,
        _ if !no_diagnostic => return None,
        ("Permanent", "NoEmail" | "General") => Reason::UserUnknown,
        ("Transient", "MailboxFull") => Reason::MailboxFull,
        ("Transient", "MessageTooLarge") => Reason::MessageTooBig,
        ("Transient", "ContentRejected" | "AttachmentRejected") => Reason::ContentError,
        _ => return None,
    };
    Some(Hint {
        reason,
        kind: None,
        rule: "ses.bounce_subtype",
        evidence: format!("{bounce_type}/{sub_type}"),
        feedback_type: None,
    })
}

fn complaints(complaint: &Value) -> Vec<Report<'static>> {
    let feedback_type = match text_of(complaint, "complaintFeedbackType") {
        "" => "abuse".to_owned(),
        other => other.to_ascii_lowercase(),
    };
    let kind = (feedback_type == "not-spam").then_some(Kind::Unknown);
    // SES did not send: the address is on the account's suppression list after an earlier complaint.
    let suppressed = text_of(complaint, "complaintSubType") == "OnAccountSuppressionList";
    let (reason, rule) =
        if suppressed { (Reason::Suppressed, "ses.complaint_subtype") } else { (Reason::Feedback, "ses.complaint") };
    let recipients = complaint.get("complainedRecipients").and_then(Value::as_array).cloned().unwrap_or_default();
    recipients
        .iter()
        .map(|r| Report {
            recipient: address::clean(text_of(r, "emailAddress")),
            hint: Some(Hint {
                reason,
                kind: kind.filter(|_| !suppressed),
                rule,
                evidence: format!("complaintFeedbackType: {feedback_type}"),
                feedback_type: Some(feedback_type.clone()),
            }),
            decoder: "ses",
            ..Report::default()
        })
        .collect()
}

fn deliveries(delivery: &Value) -> Vec<Report<'static>> {
    let response = text_of(delivery, "smtpResponse").to_owned();
    let recipients = delivery.get("recipients").and_then(Value::as_array).cloned().unwrap_or_default();
    recipients
        .iter()
        .filter_map(Value::as_str)
        .map(|r| Report {
            recipient: address::clean(r),
            diagnostic: response.clone().into(),
            action: Some(DsnAction::Delivered),
            decoder: "ses",
            ..Report::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bounces_complaints_and_deliveries() {
        let bounce = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"a@example.com","status":"5.1.1","action":"failed",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}}"#;
        let reports = decode(bounce).unwrap();
        assert_eq!(reports[0].recipient.as_deref(), Some("a@example.com"));
        assert_eq!(reports[0].status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"b@example.com"}]}}"#;
        assert_eq!(decode(complaint).unwrap()[0].hint.as_ref().map(|h| h.reason), Some(Reason::Feedback));
        let wrapped = serde_json::json!({"Type": "Notification", "Message": complaint}).to_string();
        assert_eq!(decode(&wrapped).unwrap().len(), 1);
        assert!(decode("not json").is_none());
    }

    #[test]
    fn reads_delays_and_rejections_of_event_publishing() {
        let delay = r#"{"eventType":"DeliveryDelay","deliveryDelay":{"delayType":"MailboxFull",
            "delayedRecipients":[{"emailAddress":"a@example.com","status":"4.2.2",
            "diagnosticCode":"smtp; 452 4.2.2 mailbox full"}]}}"#;
        let reports = decode(delay).unwrap();
        assert_eq!(
            (reports[0].action, reports[0].diagnostic.as_ref()),
            (Some(DsnAction::Delayed), "smtp; 452 4.2.2 mailbox full")
        );
        let reject = r#"{"eventType":"Reject","mail":{"destination":["a@example.com","b@example.com"]},
            "reject":{"reason":"Bad content"}}"#;
        let reports = decode(reject).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[1].hint.as_ref().map(|h| h.reason), Some(Reason::VirusDetected));
        let suppressed = r#"{"notificationType":"Complaint","complaint":{"complaintSubType":"OnAccountSuppressionList",
            "complainedRecipients":[{"emailAddress":"b@example.com"}]}}"#;
        assert_eq!(decode(suppressed).unwrap()[0].hint.as_ref().map(|h| h.reason), Some(Reason::Suppressed));
    }
}
