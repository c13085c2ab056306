//! RFC 5965 feedback reports (ISP feedback loops): a complaint, an opt-out or another kind of
//! feedback about a message, for the recipient who reported it.

use super::{Bounce, address, fields};
use crate::report::{Hint, Report};
use crate::{Kind, Reason};

/// The reports of a feedback-report message; `None` when the bounce is not one.
pub fn decode<'b>(bounce: &'b Bounce) -> Option<Vec<Report<'b>>> {
    let is_arf = bounce.feedback_report.is_some() || bounce.report_type.as_deref() == Some("feedback-report");
    if !is_arf {
        return microsoft_jmrp(bounce).or_else(|| apple_unsubscribe(bounce));
    }
    let fields = bounce.feedback_report.as_deref().map(fields::parse).unwrap_or_default();
    let get = |name: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let feedback_type = get("Feedback-Type").map_or_else(|| "other".to_owned(), |t| t.trim().to_ascii_lowercase());
    let kind = match feedback_type.as_str() {
        "opt-out" | "unsubscribe" => Kind::Unsubscribe,
        "not-spam" => Kind::Unknown,
        _ => Kind::Complaint,
    };
    let mut recipients: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Original-Rcpt-To") || n.eq_ignore_ascii_case("Removed-Recipient"))
        .filter_map(|(_, v)| address::clean(v))
        .collect();
    if recipients.is_empty() {
        recipients.extend(bounce.original_recipient());
    }
    let report = |recipient: Option<String>| Report {
        recipient,
        hint: Some(Hint {
            reason: Reason::Feedback,
            kind: (kind != Kind::Complaint).then_some(kind),
            rule: "arf.feedback_type",
            evidence: format!("Feedback-Type: {feedback_type}"),
            feedback_type: Some(feedback_type.clone()),
        }),
        decoder: "arf",
        ..Report::default()
    };
    if recipients.is_empty() {
        return Some(vec![report(None)]);
    }
    Some(recipients.into_iter().map(|r| report(Some(r))).collect())
}

/// Microsoft's junk-mail reporting program (JMRP) forwards the reported message as an attachment,
/// without an RFC 5965 report; the reporter's address is in its `X-HmXmrOriginalRecipient` header.
fn microsoft_jmrp<'b>(bounce: &'b Bounce) -> Option<Vec<Report<'b>>> {
    let headers = bounce.original_headers.as_deref()?;
    let recipient = fields::value(headers, "x-hmxmroriginalrecipient").and_then(|v| address::clean(&v))?;
    Some(vec![Report {
        recipient: Some(recipient),
        hint: Some(Hint {
            reason: Reason::Feedback,
            kind: None,
            rule: "arf.microsoft_jmrp",
            evidence: "X-HmXmrOriginalRecipient".to_owned(),
            feedback_type: Some("abuse".to_owned()),
        }),
        decoder: "arf",
        ..Report::default()
    }])
}

/// iCloud Mail's unsubscribe button sends the sender a message marked `X-Apple-Unsubscribe: true`
/// from the subscriber's address: an opt-out.
fn apple_unsubscribe<'b>(bounce: &'b Bounce) -> Option<Vec<Report<'b>>> {
    bounce.header("X-Apple-Unsubscribe").filter(|v| v.trim().eq_ignore_ascii_case("true"))?;
    Some(vec![Report {
        recipient: bounce.from.as_deref().and_then(address::clean),
        hint: Some(Hint {
            reason: Reason::Feedback,
            kind: Some(Kind::Unsubscribe),
            rule: "arf.apple_unsubscribe",
            evidence: "X-Apple-Unsubscribe: true".to_owned(),
            feedback_type: Some("opt-out".to_owned()),
        }),
        decoder: "arf",
        ..Report::default()
    }])
}
