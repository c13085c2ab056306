//! RFC 3834 automatic replies (vacation and out-of-office messages): recognised so that they are
//! never counted as bounces. The recipient is the person who is away, the reply's sender.

use super::{Bounce, address};
use crate::Reason;
use crate::report::{Hint, Report};

/// Subject prefixes of automatic replies in the languages senders meet most.
const SUBJECTS: &[&str] = &[
    "auto:",
    "autoreply",
    "auto-reply",
    "auto reply",
    "automatic reply",
    "auto response",
    "autoresponse",
    "out of office",
    "out of the office",
    "away until",
    "away from",
    "vacation",
    "on vacation",
    "abwesenheit",
    "automatische antwort",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "自動応答",
    "不在",
    "fuori ufficio",
    "automatisch antwoord",
    "afwezig",
    "autosvar",
    "automaattinen vastaus",
    "resposta automática",
    "odpowiedź automatyczna",
    "自动回复",
    "자동 응답",
];

/// An auto-reply report, when the message is one and not a bounce.
pub fn decode<'b>(bounce: &'b Bounce) -> Option<Report<'b>> {
    let evidence = signal(bounce)?;
    if looks_like_bounce(bounce) {
        return None;
    }
    Some(Report {
        recipient: bounce.from.as_deref().and_then(address::clean),
        hint: Some(Hint {
            reason: Reason::Vacation,
            kind: None,
            rule: "rfc3834.auto_reply",
            evidence,
            feedback_type: None,
        }),
        decoder: "rfc3834",
        ..Report::default()
    })
}

fn signal(bounce: &Bounce) -> Option<String> {
    let header = |name: &str| bounce.header(name).map(|v| v.to_ascii_lowercase());
    if let Some(value) = header("Auto-Submitted").filter(|v| v.starts_with("auto-replied")) {
        return Some(format!("Auto-Submitted: {value}"));
    }
    if let Some(name) = ["X-Autoreply", "X-Autorespond"].into_iter().find(|n| bounce.header(n).is_some()) {
        return Some(name.to_owned());
    }
    if let Some(value) = header("Precedence").filter(|v| v.contains("auto_reply")) {
        return Some(format!("Precedence: {value}"));
    }
    let subject = bounce.subject.to_lowercase();
    SUBJECTS.iter().find(|s| subject.trim_start().starts_with(*s)).map(|_| format!("Subject: {}", bounce.subject))
}

/// Delivery reports also carry `Auto-Submitted: auto-replied`; these signs tell them apart.
fn looks_like_bounce(bounce: &Bounce) -> bool {
    let from = bounce.header("From").unwrap_or_default().to_ascii_lowercase();
    let subject = bounce.subject.to_ascii_lowercase();
    bounce.delivery_status.is_some()
        || ["mailer-daemon", "postmaster@", "mail-daemon", "mailerdaemon", "mail delivery"]
            .iter()
            .any(|f| from.contains(f))
        || [
            "undeliver",
            "delivery status",
            "delivery fail",
            "failure notice",
            "returned mail",
            "non-delivery",
            "not delivered",
            "delivery notification",
            "mail delivery",
            "could not be delivered",
        ]
        .iter()
        .any(|s| subject.contains(s))
}
