//! The suppression policy: configurable thresholds and the pure decision of what an event does.
//!
//! Defaults follow the mission's trigger table: a hard bounce, a complaint or a spam-trap hit
//! suppresses at once; an unsubscribe goes on the unsubscribe list of its stream; soft bounces
//! suppress once `soft_threshold` of them fall within `soft_window_days` (a delivery in between
//! restarts the count); a block never suppresses the recipient, because it is the sender that was
//! refused. A provider's "already suppressed" echo is recorded but changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use rebound_core::rules::{Rule, RuleError};
use rebound_core::{Classifier, ClassifierConfig, Kind, Reason};
use serde::{Deserialize, Serialize};

/// Why an address is on the list. Stored and sent on the wire by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    HardBounce,
    SoftBounceExhausted,
    Complaint,
    Unsubscribe,
    SpamTrap,
    Manual,
    Invalid,
}

impl SuppressionReason {
    pub const ALL: [SuppressionReason; 7] = [
        SuppressionReason::HardBounce,
        SuppressionReason::SoftBounceExhausted,
        SuppressionReason::Complaint,
        SuppressionReason::Unsubscribe,
        SuppressionReason::SpamTrap,
        SuppressionReason::Manual,
        SuppressionReason::Invalid,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::HardBounce => "hard_bounce",
            SuppressionReason::SoftBounceExhausted => "soft_bounce_exhausted",
            SuppressionReason::Complaint => "complaint",
            SuppressionReason::Unsubscribe => "unsubscribe",
            SuppressionReason::SpamTrap => "spam_trap",
            SuppressionReason::Manual => "manual",
            SuppressionReason::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A per-reason replacement of the soft-bounce escalation (for example: `mailbox_full` suppresses
/// after 5 in 14 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftOverride {
    pub reason: Reason,
    pub threshold: u32,
    pub window_days: u32,
}

/// The configurable policy. Every field has the mission's default, so `{}` is a valid policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Soft bounces within the window that suppress the address (the event that reaches it
    /// included).
    pub soft_threshold: u32,
    pub soft_window_days: u32,
    /// A successful delivery restarts the soft-bounce count.
    pub soft_reset_on_delivery: bool,
    pub soft_overrides: Vec<SoftOverride>,
    /// Replacements for the classifier's reason → kind table.
    pub kinds: BTreeMap<Reason, Kind>,
    /// Staff classification rules, checked before the built-in ones (first match wins).
    pub rules: Vec<Rule>,
    /// A permanent failure (5xx) that the classifier could not explain (kind `unknown`) counts
    /// toward the soft-bounce escalation like a soft bounce, so that an address that keeps failing
    /// for a reason no rule reads stops being mailed; `false` records it only.
    pub count_unknown_failures: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            soft_threshold: 3,
            soft_window_days: 30,
            soft_reset_on_delivery: true,
            soft_overrides: Vec::new(),
            kinds: BTreeMap::new(),
            rules: Vec::new(),
            count_unknown_failures: true,
        }
    }
}

/// A policy value that cannot be saved; `field` is the JSON path of the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

const MAX_THRESHOLD: u32 = 100;
const MAX_WINDOW_DAYS: u32 = 365;

fn check_range(field: String, value: u32, max: u32) -> Result<(), PolicyError> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(PolicyError { field, message: format!("must be between 1 and {max}, not {value}") })
    }
}

impl Policy {
    /// Refuses values that would make the policy meaningless (a zero threshold, a window longer
    /// than a year, two overrides for one reason).
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_range("soft_threshold".into(), self.soft_threshold, MAX_THRESHOLD)?;
        check_range("soft_window_days".into(), self.soft_window_days, MAX_WINDOW_DAYS)?;
        let mut seen = BTreeSet::new();
        for (i, o) in self.soft_overrides.iter().enumerate() {
            check_range(format!("soft_overrides[{i}].threshold"), o.threshold, MAX_THRESHOLD)?;
            check_range(format!("soft_overrides[{i}].window_days"), o.window_days, MAX_WINDOW_DAYS)?;
            if !seen.insert(o.reason) {
                return Err(PolicyError {
                    field: format!("soft_overrides[{i}].reason"),
                    message: format!("`{}` already has an override", o.reason),
                });
            }
        }
        if let Some(i) = self.rules.iter().position(|r| r.id.trim().is_empty()) {
            return Err(PolicyError { field: format!("rules[{i}].id"), message: "a rule needs an id".to_owned() });
        }
        self.classifier().map(drop)
    }

    /// The classifier this policy's rules and kind table make. A rule that does not compile is
    /// reported at its position (`rules[2].pattern`).
    pub fn classifier(&self) -> Result<Classifier, PolicyError> {
        let config = ClassifierConfig { rules: self.rules.clone(), kinds: self.kinds.clone() };
        Classifier::new(&config).map_err(|e| {
            let culprit = match &e {
                RuleError::Pattern { id, .. } => Some((id, "pattern")),
                RuleError::Scope { id, .. } => Some((id, "scope")),
                RuleError::DuplicateId { id } => Some((id, "id")),
                RuleError::Syntax { .. } | RuleError::TooLarge { .. } => None,
            };
            let field = culprit
                .and_then(|(id, part)| Some((self.rules.iter().rposition(|r| &r.id == id)?, part)))
                .map_or_else(|| "rules".to_owned(), |(i, part)| format!("rules[{i}].{part}"));
            PolicyError { field, message: e.to_string() }
        })
    }

    /// The escalation that applies to a soft bounce of this reason: (threshold, window in days).
    pub fn soft_limits(&self, reason: Reason) -> (u32, u32) {
        self.soft_overrides
            .iter()
            .find(|o| o.reason == reason)
            .map_or((self.soft_threshold, self.soft_window_days), |o| (o.threshold, o.window_days))
    }
}

/// What the store knows about the address when the event arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Earlier soft bounces inside the event's window (after the last delivery, when deliveries
    /// reset the count).
    pub soft_in_window: u32,
}

/// The facts of one event that the policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub kind: Kind,
    pub reason: Reason,
    /// The sender reported a spam-trap hit (a pre-classified event).
    pub spam_trap: bool,
    /// The stream or list the message belonged to: the scope of an unsubscribe.
    pub stream: Option<&'a str>,
    /// A mail server called the failure permanent (see `Verdict::is_permanent_failure`).
    pub permanent: bool,
}

impl EventFacts<'_> {
    /// Whether the event counts toward the soft-bounce escalation under `policy`: a soft bounce,
    /// or an unexplained permanent failure when the policy counts those.
    pub fn counts_as_soft(&self, policy: &Policy) -> bool {
        !self.spam_trap
            && (self.kind == Kind::Soft
                || (self.kind == Kind::Unknown && self.permanent && policy.count_unknown_failures))
    }
}

/// What an event does to the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Put (or keep) the address on the list in `scope`.
    Suppress { reason: SuppressionReason, scope: String },
    /// A soft bounce, counted toward escalation: `count` of `threshold` within `window_days`.
    CountSoft { count: u32, threshold: u32, window_days: u32 },
    /// Nothing changes; `why` says so in words for the event's record.
    Nothing { why: &'static str },
}

/// The scope of everything but unsubscribes.
pub const GLOBAL_SCOPE: &str = "global";

/// Decides what one event does, given the address's history.
pub fn decide(policy: &Policy, event: EventFacts<'_>, history: History) -> Decision {
    let now = |reason| Decision::Suppress { reason, scope: GLOBAL_SCOPE.to_owned() };
    let soft = || {
        let (threshold, window_days) = policy.soft_limits(event.reason);
        let count = history.soft_in_window.saturating_add(1);
        if count >= threshold {
            now(SuppressionReason::SoftBounceExhausted)
        } else {
            Decision::CountSoft { count, threshold, window_days }
        }
    };
    if event.spam_trap {
        return now(SuppressionReason::SpamTrap);
    }
    match event.kind {
        Kind::Hard => now(SuppressionReason::HardBounce),
        Kind::Complaint => now(SuppressionReason::Complaint),
        Kind::Unsubscribe => Decision::Suppress {
            reason: SuppressionReason::Unsubscribe,
            scope: event.stream.filter(|s| !s.is_empty()).unwrap_or(GLOBAL_SCOPE).to_owned(),
        },
        Kind::Soft => soft(),
        Kind::Unknown if event.counts_as_soft(policy) => soft(),
        Kind::Block => {
            Decision::Nothing { why: "a block refuses the sender, not the address: counted against the sender" }
        }
        Kind::Delivered if policy.soft_reset_on_delivery => {
            Decision::Nothing { why: "delivered: the soft-bounce count starts again" }
        }
        Kind::Delivered => Decision::Nothing { why: "delivered" },
        Kind::Suppressed => Decision::Nothing { why: "the provider already suppresses this address: recorded only" },
        Kind::AutoReply => Decision::Nothing { why: "an auto-reply is not a bounce" },
        Kind::Unknown if event.permanent => Decision::Nothing {
            why: "an unexplained permanent failure: recorded only (the policy does not count these)",
        },
        Kind::Unknown => Decision::Nothing { why: "the verdict is unknown: never suppress on a guess" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: Kind, reason: Reason) -> EventFacts<'static> {
        EventFacts { kind, reason, spam_trap: false, stream: None, permanent: false }
    }

    #[test]
    fn the_defaults_are_the_missions() {
        let p: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, Policy::default());
        assert_eq!(p.soft_limits(Reason::MailboxFull), (3, 30));
        p.validate().unwrap();
    }

    #[test]
    fn hard_complaint_and_trap_suppress_at_once() {
        let p = Policy::default();
        let h = History::default();
        let suppress = |reason| Decision::Suppress { reason, scope: "global".into() };
        assert_eq!(decide(&p, facts(Kind::Hard, Reason::UserUnknown), h), suppress(SuppressionReason::HardBounce));
        assert_eq!(decide(&p, facts(Kind::Complaint, Reason::Feedback), h), suppress(SuppressionReason::Complaint));
        let trap = EventFacts { spam_trap: true, ..facts(Kind::Unknown, Reason::Undefined) };
        assert_eq!(decide(&p, trap, h), suppress(SuppressionReason::SpamTrap));
    }

    #[test]
    fn unsubscribes_are_scoped_to_their_stream() {
        let p = Policy::default();
        let e = EventFacts { stream: Some("newsletter"), ..facts(Kind::Unsubscribe, Reason::Feedback) };
        assert_eq!(
            decide(&p, e, History::default()),
            Decision::Suppress { reason: SuppressionReason::Unsubscribe, scope: "newsletter".into() }
        );
    }

    #[test]
    fn soft_bounces_escalate_at_the_threshold() {
        let p = Policy::default();
        let e = facts(Kind::Soft, Reason::MailboxFull);
        assert_eq!(
            decide(&p, e, History { soft_in_window: 1 }),
            Decision::CountSoft { count: 2, threshold: 3, window_days: 30 }
        );
        assert_eq!(
            decide(&p, e, History { soft_in_window: 2 }),
            Decision::Suppress { reason: SuppressionReason::SoftBounceExhausted, scope: "global".into() }
        );
        let p = Policy {
            soft_overrides: vec![SoftOverride { reason: Reason::MailboxFull, threshold: 5, window_days: 14 }],
            ..Policy::default()
        };
        assert_eq!(
            decide(&p, e, History { soft_in_window: 2 }),
            Decision::CountSoft { count: 3, threshold: 5, window_days: 14 }
        );
    }

    #[test]
    fn blocks_and_the_unknown_never_suppress() {
        let p = Policy { soft_threshold: 1, ..Policy::default() };
        for kind in [Kind::Block, Kind::Unknown, Kind::AutoReply, Kind::Suppressed, Kind::Delivered] {
            assert!(matches!(decide(&p, facts(kind, Reason::Blocked), History::default()), Decision::Nothing { .. }));
        }
    }

    #[test]
    fn unexplained_permanent_failures_escalate_like_soft_bounces_unless_the_policy_says_not() {
        let p = Policy::default();
        let unknown = EventFacts { permanent: true, ..facts(Kind::Unknown, Reason::OnHold) };
        assert_eq!(
            decide(&p, unknown, History { soft_in_window: 1 }),
            Decision::CountSoft { count: 2, threshold: 3, window_days: 30 }
        );
        assert_eq!(
            decide(&p, unknown, History { soft_in_window: 2 }),
            Decision::Suppress { reason: SuppressionReason::SoftBounceExhausted, scope: "global".into() }
        );
        let transient_or_guess = facts(Kind::Unknown, Reason::Undefined);
        assert!(matches!(decide(&p, transient_or_guess, History { soft_in_window: 5 }), Decision::Nothing { .. }));
        let off = Policy { count_unknown_failures: false, ..Policy::default() };
        assert!(matches!(decide(&off, unknown, History { soft_in_window: 5 }), Decision::Nothing { .. }));
        let p: Policy = serde_json::from_str(r#"{"count_unknown_failures": false}"#).unwrap();
        assert!(!p.count_unknown_failures);
    }

    #[test]
    fn invalid_policies_name_the_field() {
        let p = Policy { soft_threshold: 0, ..Policy::default() };
        assert_eq!(p.validate().unwrap_err().field, "soft_threshold");
        let o = SoftOverride { reason: Reason::MailboxFull, threshold: 2, window_days: 2 };
        let p = Policy { soft_overrides: vec![o.clone(), o], ..Policy::default() };
        assert_eq!(p.validate().unwrap_err().field, "soft_overrides[1].reason");
        let err = serde_json::from_str::<Policy>(r#"{"kinds": {"blocked": "sideways"}}"#).unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
        let rules = r#"{"rules": [
            {"id": "ok", "pattern": "mailbox is over quota", "reason": "mailbox_full"},
            {"id": "bad", "pattern": "unclosed (group", "reason": "blocked"}
        ]}"#;
        let p: Policy = serde_json::from_str(rules).unwrap();
        assert_eq!(p.validate().unwrap_err().field, "rules[1].pattern");
    }
}
