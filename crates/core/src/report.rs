//! What a decoder extracts about one recipient before any judgement: the raw material of a verdict.

use std::borrow::Cow;

use crate::{EnhancedStatus, Kind, Reason, SmtpCommand};

/// The RFC 3464 `Action` of a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnAction {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl DsnAction {
    pub fn parse(value: &str) -> Option<Self> {
        let word = value.split(|c: char| c.is_whitespace() || c == '(' || c == ';').next()?;
        Some(match word.to_ascii_lowercase().as_str() {
            "failed" | "failure" => DsnAction::Failed,
            "delayed" => DsnAction::Delayed,
            "delivered" | "deliverable" => DsnAction::Delivered,
            "relayed" => DsnAction::Relayed,
            "expanded" => DsnAction::Expanded,
            _ => return None,
        })
    }
}

/// A verdict a decoder knows without reading the text, from the format itself (an ARF report, an
/// auto-reply, a provider's own bounce type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub reason: Reason,
    /// A kind that overrides the reason's row of the kind table (an ARF opt-out is an
    /// unsubscribe, not a complaint).
    pub kind: Option<Kind>,
    pub rule: &'static str,
    pub evidence: String,
    /// For ARF reports: the `Feedback-Type`.
    pub feedback_type: Option<String>,
}

/// A bounce email's notice, as far as the classifier reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notice<'a> {
    pub subject: &'a str,
    /// The human-readable text, without the returned message.
    pub text: &'a str,
    /// The bounce is a mail system's notice by its form (a delivery-status report, or sent by
    /// `MAILER-DAEMON`, `postmaster` or a "Mail Delivery System"), not only by its words.
    pub from_mail_system: bool,
}

/// One recipient's failure as a decoder found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report<'a> {
    pub recipient: Option<String>,
    /// The notice did not name the recipient as failed: it was taken from the returned message
    /// (its `To:`) or from an address somewhere in the prose, a guess.
    pub recipient_inferred: bool,
    /// The address the sender mailed, when the report gives it apart from `recipient`.
    pub original_recipient: Option<String>,
    /// A reply code the format states separately from the text (e.g. a provider's JSON field).
    pub reply_code: Option<u16>,
    /// The `Status` field (or the format's equivalent).
    pub status: Option<EnhancedStatus>,
    /// The diagnostic: the remote server's reply, or the reporting MTA's own explanation.
    pub diagnostic: Cow<'a, str>,
    pub command: Option<SmtpCommand>,
    /// The whole notification, for a recipient whose own diagnostic explains nothing: some
    /// formats state the error first and name the address after it.
    pub context: Option<Cow<'a, str>>,
    pub action: Option<DsnAction>,
    pub remote_host: Option<String>,
    pub hint: Option<Hint>,
    /// The bounce was issued by a content-filtering gateway (an appliance or service in front of
    /// the real mail server), whose "unknown user" is often its own policy speaking.
    pub via_filter: bool,
    /// The mail system's notice the report came from, for what it says about the message as a
    /// whole when the recipient's own text says little (see `notice`).
    pub notice: Option<Notice<'a>>,
    /// The decoder that produced the report (`rfc3464`, `postfix`, `arf`, ...), for the rule id of
    /// a verdict that no rule decided.
    pub decoder: &'static str,
}
