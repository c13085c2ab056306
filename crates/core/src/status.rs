//! RFC 3463 enhanced status codes (`class.subject.detail`) and their IANA registry titles.
//!
//! The registry (RFC 5248) is compiled in so the console can show what a code means without a
//! network request. Providers use private detail numbers above the registry (`5.7.650`); those
//! parse fine and fall back to the title of their subject.

use std::fmt;

use crate::{Confidence, Reason};

/// An enhanced status code such as `5.1.1`: class 2, 4 or 5; subject and detail 0–999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses exactly `C.S.D` (no surrounding text). Returns `None` unless the class is 2, 4 or 5
    /// and subject and detail have one to three digits.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let class = match b {
            [c @ (b'2' | b'4' | b'5'), b'.', ..] => c - b'0',
            _ => return None,
        };
        let (subject, rest) = leading_number(&b[2..])?;
        let (detail, rest) = leading_number(rest.strip_prefix(b".")?)?;
        rest.is_empty().then_some(Self { class, subject, detail })
    }

    /// Finds the first enhanced status code in free text, e.g. in `550 5.1.1 <a@b>: user unknown`
    /// or `#5.1.1`. A candidate must not be glued to other digits or dots, and its subject must be
    /// one RFC 3463 defines (0–7), so IP addresses and version numbers are not taken for codes.
    pub fn find(text: &str) -> Option<(Self, usize)> {
        let bytes = text.as_bytes();
        // A candidate is the class digit just before a dot: a vectorised search for the dots
        // skips the rest of the text. A candidate that fails skips the digits and dots glued to it.
        let mut resume = 0;
        for dot in memchr::memchr_iter(b'.', bytes) {
            let Some(i) = dot.checked_sub(1) else { continue };
            if i < resume || !matches!(bytes[i], b'2' | b'4' | b'5') || (i > 0 && is_code_byte(bytes[i - 1])) {
                continue;
            }
            let end = bytes[i..].iter().position(|c| !is_code_byte(*c)).map_or(bytes.len(), |p| i + p);
            let candidate = text[i..end].trim_end_matches('.');
            if let Some(status) = Self::parse(candidate).filter(|s| s.subject <= 7) {
                return Some((status, i));
            }
            resume = end;
        }
        None
    }

    /// The registry title of this exact code, or of its subject when the detail is not registered.
    pub fn title(&self) -> &'static str {
        registry_title(self.subject, self.detail).unwrap_or_else(|| subject_title(self.subject))
    }

    /// Whether the exact `subject.detail` pair is in the IANA registry.
    pub fn is_registered(&self) -> bool {
        registry_title(self.subject, self.detail).is_some()
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl serde::Serialize for EnhancedStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EnhancedStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an enhanced status code")))
    }
}

/// The reason an enhanced status code stands for on its own, by its registry meaning, when it is
/// specific enough to decide; `None` for catch-alls such as `5.0.0`. Every security or policy code
/// (X.7.x) is a refusal of the sender, never an address error.
pub fn reason_for_status(status: EnhancedStatus) -> Option<(Reason, Confidence)> {
    use Reason::*;
    if status.class == 2 {
        return Some((Delivered, Confidence::Medium));
    }
    let reason = match (status.subject, status.detail) {
        (1, 0 | 1 | 3) => UserUnknown,
        (1, 2) => HostUnknown,
        (1, 6) => HasMoved,
        (1, 10) => NotAccept,
        (1, 7 | 8) | (7, 27) => Rejected,
        (2, 1) | (7, 13) => Suspend,
        (2, 2) => MailboxFull,
        (2, 3) => ExceedLimit,
        (3, 4) => MessageTooBig,
        (3, 1) | (4, 5) => SystemFull,
        (3, 2) => NotAccept,
        (2, 4) | (3, 0 | 3 | 5) | (4, 3) => SystemError,
        (4, 4) => HostUnknown,
        (4, 6) => NetworkError,
        (4, 7) => Expired,
        (4, 1 | 2) => NetworkError,
        (5, 3) => ExceedLimit,
        (5, 1 | 2 | 4 | 5) => SyntaxError,
        (6, _) => ContentError,
        (7, 10 | 30) => FailedStarttls,
        (7, 17 | 18) => HasMoved,
        (7, 20..=24 | 26 | 29) => AuthFailure,
        (7, 25) => RequirePtr,
        (7, 28) => RateLimited,
        (7, 15 | 16) => PolicyViolation,
        (7, 2) => Rejected,
        (7, 1) => Blocked,
        (7, _) => SecurityError,
        _ => return None,
    };
    Some((reason, Confidence::Medium))
}

/// A status for a verdict whose message carried none (none for complaints and auto-replies, which
/// are not delivery failures): `C.0.9NN`, where `9NN` stands for the
/// reason. This follows the convention of Sisimai (the most widely used open bounce parser), so
/// results can be compared with it; detail numbers from 900 up are not in the IANA registry, and
/// verdicts flag such a status as derived.
pub fn derived_status(reason: Reason, transient: bool) -> Option<EnhancedStatus> {
    use Reason::*;
    let detail = match reason {
        Undefined => 900,
        OnHold => 901,
        Filtered => 910,
        UserUnknown => 911,
        HostUnknown => 912,
        HasMoved => 916,
        Rejected => 918,
        NoRelaying => 919,
        Suspend => 921,
        MailboxFull => 922,
        ExceedLimit => 923,
        SystemFull => 924,
        SystemError => 930,
        NotAccept => 932,
        MessageTooBig => 934,
        MailerError => 939,
        NetworkError => 944,
        Expired => 947,
        SyntaxError => 950,
        ContentError => 960,
        NotCompliantRfc => 961,
        SecurityError => 970,
        Blocked => 971,
        PolicyViolation => 972,
        RequirePtr => 973,
        VirusDetected => 974,
        AuthFailure => 975,
        FailedStarttls => 976,
        BadReputation => 977,
        SpamDetected => 980,
        TooManyConnections => 981,
        RateLimited => 982,
        Greylisted => 983,
        Suppressed => 990,
        Delivered => 0,
        Feedback | Vacation => return None,
    };
    let class = match reason {
        Delivered => 2,
        _ if transient => 4,
        _ => 5,
    };
    Some(EnhancedStatus { class, subject: 0, detail })
}

fn is_code_byte(b: u8) -> bool {
    b.is_ascii_digit() || b == b'.'
}

/// The one to three digits at the start of `b`, and what follows them.
fn leading_number(b: &[u8]) -> Option<(u16, &[u8])> {
    let len = b.iter().take(4).position(|d| !d.is_ascii_digit()).unwrap_or(b.len().min(4));
    if len == 0 || len > 3 {
        return None;
    }
    let value = b[..len].iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some((value, &b[len..]))
}

fn subject_title(subject: u16) -> &'static str {
    match subject {
        1 => "Addressing status",
        2 => "Mailbox status",
        3 => "Mail system status",
        4 => "Network and routing status",
        5 => "Mail delivery protocol status",
        6 => "Message content or media status",
        7 => "Security or policy status",
        _ => "Other or undefined status",
    }
}

/// Titles as registered with IANA ("Simple Mail Transfer Protocol (SMTP) Enhanced Status Codes
/// Registry"), keyed by subject and detail; the class does not change the title.
fn registry_title(subject: u16, detail: u16) -> Option<&'static str> {
    Some(match (subject, detail) {
        (0, 0) => "Other undefined Status",
        (1, 0) => "Other address status",
        (1, 1) => "Bad destination mailbox address",
        (1, 2) => "Bad destination system address",
        (1, 3) => "Bad destination mailbox address syntax",
        (1, 4) => "Destination mailbox address ambiguous",
        (1, 5) => "Destination address valid",
        (1, 6) => "Destination mailbox has moved, No forwarding address",
        (1, 7) => "Bad sender's mailbox address syntax",
        (1, 8) => "Bad sender's system address",
        (1, 9) => "Message relayed to non-compliant mailer",
        (1, 10) => "Recipient address has null MX",
        (2, 0) => "Other or undefined mailbox status",
        (2, 1) => "Mailbox disabled, not accepting messages",
        (2, 2) => "Mailbox full",
        (2, 3) => "Message length exceeds administrative limit",
        (2, 4) => "Mailing list expansion problem",
        (3, 0) => "Other or undefined mail system status",
        (3, 1) => "Mail system full",
        (3, 2) => "System not accepting network messages",
        (3, 3) => "System not capable of selected features",
        (3, 4) => "Message too big for system",
        (3, 5) => "System incorrectly configured",
        (3, 6) => "Requested priority was changed",
        (4, 0) => "Other or undefined network or routing status",
        (4, 1) => "No answer from host",
        (4, 2) => "Bad connection",
        (4, 3) => "Directory server failure",
        (4, 4) => "Unable to route",
        (4, 5) => "Mail system congestion",
        (4, 6) => "Routing loop detected",
        (4, 7) => "Delivery time expired",
        (5, 0) => "Other or undefined protocol status",
        (5, 1) => "Invalid command",
        (5, 2) => "Syntax error",
        (5, 3) => "Too many recipients",
        (5, 4) => "Invalid command arguments",
        (5, 5) => "Wrong protocol version",
        (5, 6) => "Authentication Exchange line is too long",
        (6, 0) => "Other or undefined media error",
        (6, 1) => "Media not supported",
        (6, 2) => "Conversion required and prohibited",
        (6, 3) => "Conversion required but not supported",
        (6, 4) => "Conversion with loss performed",
        (6, 5) => "Conversion Failed",
        (6, 6) => "Message content not available",
        (6, 7) => "Non-ASCII addresses not permitted for that sender/recipient",
        (6, 8) => "UTF-8 string reply is required, but not permitted by the SMTP client",
        (6, 9) => {
            "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected"
        }
        (6, 10) => "UTF-8 string reply is required (deprecated duplicate of X.6.8)",
        (7, 0) => "Other or undefined security status",
        (7, 1) => "Delivery not authorized, message refused",
        (7, 2) => "Mailing list expansion prohibited",
        (7, 3) => "Security conversion required but not possible",
        (7, 4) => "Security features not supported",
        (7, 5) => "Cryptographic failure",
        (7, 6) => "Cryptographic algorithm not supported",
        (7, 7) => "Message integrity failure",
        (7, 8) => "Authentication credentials invalid",
        (7, 9) => "Authentication mechanism is too weak",
        (7, 10) => "Encryption Needed",
        (7, 11) => "Encryption required for requested authentication mechanism",
        (7, 12) => "A password transition is needed",
        (7, 13) => "User Account Disabled",
        (7, 14) => "Trust relationship required",
        (7, 15) => "Priority Level is too low",
        (7, 16) => "Message is too big for the specified priority",
        (7, 17) => "Mailbox owner has changed",
        (7, 18) => "Domain owner has changed",
        (7, 19) => "RRVS test cannot be completed",
        (7, 20) => "No passing DKIM signature found",
        (7, 21) => "No acceptable DKIM signature found",
        (7, 22) => "No valid author-matched DKIM signature found",
        (7, 23) => "SPF validation failed",
        (7, 24) => "SPF validation error",
        (7, 25) => "Reverse DNS validation failed",
        (7, 26) => "Multiple authentication checks failed",
        (7, 27) => "Sender address has null MX",
        (7, 28) => "Mail flood detected",
        (7, 29) => "ARC validation failure",
        (7, 30) => "REQUIRETLS support required",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_codes_and_rejects_the_rest() {
        assert_eq!(EnhancedStatus::parse("5.7.650"), Some(EnhancedStatus { class: 5, subject: 7, detail: 650 }));
        for bad in [
            "3.1.1", "5.1", "5.1.1.1", "5.1000.1", "", "5..1", "a.b.c", "05.1.1", "5.1.1.", " 5.1.1", "5.1x.1",
            "5.1.1x",
        ] {
            assert_eq!(EnhancedStatus::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn finds_codes_in_text_but_not_in_addresses_or_versions() {
        let found = EnhancedStatus::find("550 5.1.1 <a@b>: user unknown").map(|(s, _)| s.to_string());
        assert_eq!(found.as_deref(), Some("5.1.1"));
        let hashed = EnhancedStatus::find("no mailbox here (#5.1.1 - chkusr)").map(|(s, _)| s.to_string());
        assert_eq!(hashed.as_deref(), Some("5.1.1"));
        assert_eq!(EnhancedStatus::find("from 192.0.2.4.5 via 10.4.5.6 v2.4.5.1"), None);
        let trailing = EnhancedStatus::find("status 4.4.7.").map(|(s, _)| s.to_string());
        assert_eq!(trailing.as_deref(), Some("4.4.7"));
    }

    #[test]
    fn titles_follow_the_registry_not_the_guide() {
        let title = |s: &str| EnhancedStatus::parse(s).map(|s| s.title());
        assert_eq!(title("5.2.2"), Some("Mailbox full"));
        assert_eq!(title("5.1.3"), Some("Bad destination mailbox address syntax"));
        assert_eq!(title("4.4.7"), Some("Delivery time expired"));
        assert_eq!(title("5.7.650"), Some("Security or policy status"));
    }
}
