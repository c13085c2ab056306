//! Turning a parsed SMTP reply into a verdict.
//!
//! Decides from the enhanced status code first (its registry meaning), then from the reply code's
//! class. A transient code (4xx or 4.x.x) never yields `hard`, and a permanent code without an
//! address-related status never does either: an uncertain case must not suppress a good address.

use crate::{Confidence, EnhancedStatus, Kind, Reason, SmtpReply, Verdict};

/// Classifies one SMTP reply (one or several lines, with or without a diagnostic-type prefix).
pub fn classify_reply(input: &str) -> Verdict {
    let reply = SmtpReply::parse(input);
    let class = reply.status.map(|s| s.class).or(reply.code.map(|c| (c / 100) as u8));
    let (reason, rule, evidence, confidence) = match reply.status {
        Some(status) => {
            let (reason, confidence) = reason_for_status(status);
            (reason, format!("status.x.{}.{}", status.subject, status.detail), status.to_string(), confidence)
        }
        None => match reply.code {
            Some(code) => {
                (reason_for_code_class(code), format!("reply_code.{}xx", code / 100), code.to_string(), Confidence::Low)
            }
            None => (Reason::Undefined, "none".to_owned(), String::new(), Confidence::Low),
        },
    };
    let kind = kind_for(reason, class);
    Verdict {
        recipient: None,
        reply_code: reply.code,
        status: reply.status,
        reason,
        kind,
        action: reason.action(kind),
        rule,
        evidence,
        confidence,
    }
}

/// Adjusts the reason's default kind for the code's class: transient failures are soft at worst,
/// and an undefined permanent failure stays `unknown` rather than becoming hard.
fn kind_for(reason: Reason, class: Option<u8>) -> Kind {
    match (reason.default_kind(), class) {
        (_, Some(2)) => Kind::Delivered,
        (Kind::Hard | Kind::Unknown, Some(4)) => Kind::Soft,
        (kind, _) => kind,
    }
}

fn reason_for_code_class(code: u16) -> Reason {
    if code / 100 == 2 { Reason::Delivered } else { Reason::Undefined }
}

/// The reason an enhanced status code stands for on its own, following the IANA registry titles.
fn reason_for_status(status: EnhancedStatus) -> (Reason, Confidence) {
    use Confidence::{Low, Medium};
    use Reason::*;
    if status.class == 2 {
        return (Delivered, Medium);
    }
    let reason = match (status.subject, status.detail) {
        (1, 1 | 3) => UserUnknown,
        (1, 2) => HostUnknown,
        (1, 6) => HasMoved,
        (1, 10) => NotAccept,
        (1, 7 | 8) | (7, 27) => Rejected,
        (2, 1) | (7, 13) => Suspend,
        (2, 2) => MailboxFull,
        (2, 3) | (3, 4) => MessageTooBig,
        (3, 1) => SystemFull,
        (3, 2) => NotAccept,
        (2, 4) | (3, _) | (4, 3) => SystemError,
        (4, 4) => HostUnknown,
        (4, 5) => SystemFull,
        (4, 7) => Expired,
        (4, _) => NetworkError,
        (5, 3) => ExceedLimit,
        (5, 1..) => SyntaxError,
        (6, _) => ContentError,
        (7, 1) => Blocked,
        (7, 10 | 30) => FailedStarttls,
        (7, 17 | 18) => HasMoved,
        (7, 20..=24 | 26 | 29) => AuthFailure,
        (7, 25) => RequirePtr,
        (7, 28) => RateLimited,
        (7, 15 | 16 | 2) => PolicyViolation,
        (7, _) => SecurityError,
        _ => return (Undefined, Low),
    };
    (reason, Medium)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Kind};

    fn kind_reason(input: &str) -> (Kind, Reason) {
        let v = classify_reply(input);
        (v.kind, v.reason)
    }

    #[test]
    fn user_unknown_is_hard_and_suppressed() {
        let v = classify_reply("550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown");
        assert_eq!((v.kind, v.reason, v.action), (Kind::Hard, Reason::UserUnknown, Action::Suppress));
        assert_eq!((v.reply_code, v.status.map(|s| s.to_string())), (Some(550), Some("5.1.1".into())));
        assert_eq!((v.rule.as_str(), v.evidence.as_str()), ("status.x.1.1", "5.1.1"));
    }

    #[test]
    fn policy_rejection_is_a_block_not_a_hard_bounce() {
        assert_eq!(kind_reason("550 5.7.1 Message rejected as spam"), (Kind::Block, Reason::Blocked));
        assert_eq!(classify_reply("550 5.7.1 spam").action, Action::FixSender);
    }

    #[test]
    fn transient_address_errors_are_soft() {
        assert_eq!(kind_reason("450 4.1.1 try again later").0, Kind::Soft);
        assert_eq!(kind_reason("452 4.2.2 over quota"), (Kind::Soft, Reason::MailboxFull));
    }

    #[test]
    fn uncertain_permanent_failures_are_never_hard() {
        assert_eq!(kind_reason("550 5.0.0 rejected"), (Kind::Unknown, Reason::Undefined));
        assert_eq!(kind_reason("550 go away"), (Kind::Unknown, Reason::Undefined));
        assert_eq!(kind_reason("no codes at all").0, Kind::Unknown);
    }

    #[test]
    fn success_is_delivered() {
        assert_eq!(kind_reason("250 2.0.0 OK queued"), (Kind::Delivered, Reason::Delivered));
        assert_eq!(classify_reply("250 ok").action, Action::Ignore);
    }
}
