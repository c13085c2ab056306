//! The closed vocabularies of a verdict: reasons, kinds, actions and confidence levels.
//!
//! Names are the snake_case strings used on the wire, in rule files and in the CLI output; the reason
//! list is a superset of Sisimai's taxonomy so that Rebound can be scored against its corpus.

use std::fmt;
use std::str::FromStr;

/// A name that is not one of an enum's known values, as found in configuration or on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

/// Declares a fieldless enum whose variants have fixed wire names, with `as_str`, `ALL`,
/// `Display`, `FromStr` and serde impls that all agree on those names.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The position in `ALL`.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { what: $what, name: s.to_owned() }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum! {
    /// Why a delivery failed (or what else happened), in a vocabulary compatible with Sisimai's.
    Reason, "reason" {
        UserUnknown = "user_unknown",
        HostUnknown = "host_unknown",
        HasMoved = "has_moved",
        NotAccept = "not_accept",
        Suspend = "suspend",
        MailboxFull = "mailbox_full",
        MessageTooBig = "message_too_big",
        ExceedLimit = "exceed_limit",
        Expired = "expired",
        Filtered = "filtered",
        NetworkError = "network_error",
        SystemError = "system_error",
        SystemFull = "system_full",
        MailerError = "mailer_error",
        TooManyConnections = "too_many_connections",
        Greylisted = "greylisted",
        RateLimited = "rate_limited",
        Blocked = "blocked",
        BadReputation = "bad_reputation",
        SpamDetected = "spam_detected",
        PolicyViolation = "policy_violation",
        AuthFailure = "auth_failure",
        RequirePtr = "require_ptr",
        SecurityError = "security_error",
        Rejected = "rejected",
        NoRelaying = "no_relaying",
        ContentError = "content_error",
        VirusDetected = "virus_detected",
        NotCompliantRfc = "not_compliant_rfc",
        SyntaxError = "syntax_error",
        FailedStarttls = "failed_starttls",
        OnHold = "on_hold",
        Suppressed = "suppressed",
        Feedback = "feedback",
        Vacation = "vacation",
        Delivered = "delivered",
        Undefined = "undefined",
    }
}

named_enum! {
    /// What a verdict means for the recipient's address, which decides the suppression policy.
    Kind, "kind" {
        /// The address is dead: suppress it.
        Hard = "hard",
        /// A transient failure: retry, and escalate after repeated failures.
        Soft = "soft",
        /// The receiver refused the sender (reputation, policy, content): the address is fine.
        Block = "block",
        Complaint = "complaint",
        Unsubscribe = "unsubscribe",
        AutoReply = "auto_reply",
        Delivered = "delivered",
        /// An upstream provider did not send because the address is on its suppression list.
        Suppressed = "suppressed",
        Unknown = "unknown",
    }
}

named_enum! {
    /// What the sender should do next.
    Action, "action" {
        Suppress = "suppress",
        Retry = "retry",
        RetryOnce = "retry_once",
        ReduceSize = "reduce_size",
        FixSender = "fix_sender",
        PauseIsp = "pause_isp",
        Ignore = "ignore",
    }
}

named_enum! {
    /// How sure the classifier is of a verdict.
    Confidence, "confidence" {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

impl Reason {
    /// The default kind of this reason. A block is never `Hard`: a refusal aimed at the sender says
    /// nothing about the recipient's address.
    pub const fn default_kind(self) -> Kind {
        use Reason::*;
        match self {
            UserUnknown | HostUnknown | HasMoved | NotAccept | Suspend => Kind::Hard,
            MailboxFull | MessageTooBig | ExceedLimit | Expired | Filtered | NetworkError | SystemError
            | SystemFull | MailerError | TooManyConnections | Greylisted | SyntaxError => Kind::Soft,
            RateLimited | Blocked | BadReputation | SpamDetected | PolicyViolation | AuthFailure | RequirePtr
            | SecurityError | Rejected | NoRelaying | ContentError | VirusDetected | NotCompliantRfc
            | FailedStarttls => Kind::Block,
            Suppressed => Kind::Suppressed,
            Feedback => Kind::Complaint,
            Vacation => Kind::AutoReply,
            Delivered => Kind::Delivered,
            Undefined | OnHold => Kind::Unknown,
        }
    }

    /// The recommended action for this reason once its kind is known.
    pub const fn action(self, kind: Kind) -> Action {
        use Reason::*;
        match (kind, self) {
            (Kind::Hard | Kind::Complaint | Kind::Unsubscribe, _) => Action::Suppress,
            (Kind::Soft, MessageTooBig) => Action::ReduceSize,
            (Kind::Soft, Expired) => Action::RetryOnce,
            (Kind::Soft, _) => Action::Retry,
            (Kind::Block, RateLimited | TooManyConnections) => Action::PauseIsp,
            (Kind::Block, MessageTooBig) => Action::ReduceSize,
            (Kind::Block, _) => Action::FixSender,
            (Kind::AutoReply | Kind::Delivered | Kind::Suppressed | Kind::Unknown, _) => Action::Ignore,
        }
    }
}

impl Reason {
    /// A suggested wait before retrying, for verdicts whose action is to retry: longer for
    /// problems that take time to clear (a full mailbox), shorter for congestion.
    pub const fn retry_after_secs(self, kind: Kind) -> Option<u32> {
        use Reason::*;
        match kind {
            Kind::Soft => Some(match self {
                MailboxFull | SystemFull | Suspend => 6 * 3600,
                TooManyConnections | NetworkError => 15 * 60,
                Greylisted => 10 * 60,
                Expired => 24 * 3600,
                _ => 3600,
            }),
            Kind::Block if matches!(self, RateLimited | TooManyConnections) => Some(3600),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_serde() {
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(*reason));
            let json = serde_json::to_string(reason).unwrap_or_default();
            assert_eq!(json, format!("\"{reason}\""));
        }
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(*kind));
        }
        assert_eq!(Reason::ALL.len(), 37);
    }

    #[test]
    fn unknown_names_are_errors_that_name_the_value() {
        let err = "userunknown".parse::<Reason>().err();
        assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("unknown reason `userunknown`"));
    }

    #[test]
    fn no_block_reason_defaults_to_hard() {
        for reason in [Reason::Blocked, Reason::SpamDetected, Reason::PolicyViolation] {
            assert_eq!(reason.default_kind(), Kind::Block);
            assert_eq!(reason.action(Kind::Block), Action::FixSender);
        }
    }
}
