//! The verdict: what happened to one recipient, what to do about it, and why.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::{Action, Confidence, EnhancedStatus, Kind, Reason};

/// The classifier's answer for one recipient. `rule` names the rule or decoder that decided and
/// `evidence` is the text it matched, so every verdict can be explained to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub recipient: Option<String>,
    /// The address the sender mailed, when the report names it apart from `recipient` (an RFC 3464
    /// `Original-Recipient` before alias expansion or forwarding): the one a suppression list holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_recipient: Option<String>,
    pub reply_code: Option<u16>,
    /// The enhanced status code the message carried or, when it carried none, one derived from the
    /// reason (`C.0.9NN`, see `status_derived`).
    pub status: Option<EnhancedStatus>,
    /// `status` was derived from the reason, not reported by a mail server.
    #[serde(default)]
    pub status_derived: bool,
    pub reason: Reason,
    pub kind: Kind,
    pub action: Action,
    /// For `retry`: a suggested wait before the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u32>,
    /// Built-in rule ids and decoder names are lent for the program's lifetime rather than copied
    /// into every verdict.
    pub rule: Cow<'static, str>,
    pub evidence: String,
    pub confidence: Confidence,
    /// For complaints: the ARF `Feedback-Type` (abuse, fraud, opt-out, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
}

impl Verdict {
    /// A mail server called the failure permanent: a 5xx reply, or a 5.x.x status it reported (a
    /// status derived from the reason is not its word).
    pub fn is_permanent_failure(&self) -> bool {
        self.reply_code.is_some_and(|c| (500..600).contains(&c))
            || self.status.is_some_and(|s| s.class == 5 && !self.status_derived)
    }
}
