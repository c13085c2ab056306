//! The verdict: what happened to one recipient, what to do about it, and why.

use serde::{Deserialize, Serialize};

use crate::{Action, Confidence, EnhancedStatus, Kind, Reason};

/// The classifier's answer for one recipient. `rule` names the rule or decoder that decided and
/// `evidence` is the text it matched, so every verdict can be explained to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub recipient: Option<String>,
    pub reply_code: Option<u16>,
    pub status: Option<EnhancedStatus>,
    pub reason: Reason,
    pub kind: Kind,
    pub action: Action,
    pub rule: String,
    pub evidence: String,
    pub confidence: Confidence,
}
