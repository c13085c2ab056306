//! The SMTP command a failure answered (connection greeting, HELO, MAIL FROM, RCPT TO, DATA).
//!
//! The same words mean different things at different points of a session: "user unknown" in reply
//! to RCPT TO is a dead mailbox, but after the end of DATA it is a content filter speaking, and a
//! refusal at connection or HELO time is aimed at the sending host, never at the recipient.

use std::fmt;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// Where in the SMTP session a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmtpCommand {
    Connect,
    Helo,
    StartTls,
    MailFrom,
    RcptTo,
    Data,
}

impl SmtpCommand {
    pub const fn as_str(self) -> &'static str {
        match self {
            SmtpCommand::Connect => "connect",
            SmtpCommand::Helo => "helo",
            SmtpCommand::StartTls => "starttls",
            SmtpCommand::MailFrom => "mail",
            SmtpCommand::RcptTo => "rcpt",
            SmtpCommand::Data => "data",
        }
    }

    /// Parses a scope name used in rule files (`connect`, `helo`, `mail`, `rcpt`, `data`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "connect" => SmtpCommand::Connect,
            "helo" => SmtpCommand::Helo,
            "starttls" => SmtpCommand::StartTls,
            "mail" => SmtpCommand::MailFrom,
            "rcpt" => SmtpCommand::RcptTo,
            "data" => SmtpCommand::Data,
            _ => return None,
        })
    }

    /// Finds the command a diagnostic text says it answered, in the phrasings MTAs use:
    /// Postfix `(in reply to RCPT TO command)`, Exim `after RCPT TO:<...>`, 1&1 `after RCPT
    /// command`, Sendmail `>>> DATA`, qmail `Connected to ... but sender was rejected`, and
    /// bracketed tags such as `[RCPT_TO]`.
    /// The leftmost phrase wins.
    pub fn find(text: &str) -> Option<Self> {
        static MATCHER: OnceLock<Option<AhoCorasick>> = OnceLock::new();
        let matcher = MATCHER.get_or_init(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build(PHRASES.iter().map(|(phrase, _)| phrase))
                .ok()
        });
        let found = matcher.as_ref()?.find(text)?;
        Some(PHRASES[found.pattern().as_usize()].1)
    }
}

/// The phrases `SmtpCommand::find` looks for, in priority order; the rule sets' scanners look for
/// them too, so that one pass over a reply finds both its rule literals and its command.
pub(crate) const PHRASES: &[(&str, SmtpCommand)] = &[
    ("in reply to rcpt to", SmtpCommand::RcptTo),
    ("in reply to end of data", SmtpCommand::Data),
    ("in reply to data", SmtpCommand::Data),
    ("in reply to mail from", SmtpCommand::MailFrom),
    ("in reply to helo", SmtpCommand::Helo),
    ("in reply to ehlo", SmtpCommand::Helo),
    ("in reply to starttls", SmtpCommand::StartTls),
    ("after rcpt to", SmtpCommand::RcptTo),
    ("after end of data", SmtpCommand::Data),
    ("after data", SmtpCommand::Data),
    ("after mail from", SmtpCommand::MailFrom),
    ("after ehlo", SmtpCommand::Helo),
    ("after helo", SmtpCommand::Helo),
    ("after starttls", SmtpCommand::StartTls),
    ("after rcpt command", SmtpCommand::RcptTo),
    ("after mail command", SmtpCommand::MailFrom),
    ("after data command", SmtpCommand::Data),
    ("after initial connection", SmtpCommand::Connect),
    ("after pipelined", SmtpCommand::RcptTo),
    ("did not like our rcpt to", SmtpCommand::RcptTo),
    ("does not like recipient", SmtpCommand::RcptTo),
    ("but sender was rejected", SmtpCommand::MailFrom),
    ("but my name was rejected", SmtpCommand::Helo),
    ("[rcpt_to]", SmtpCommand::RcptTo),
    ("[mail_from]", SmtpCommand::MailFrom),
    ("[data]", SmtpCommand::Data),
    (">>> rcpt to", SmtpCommand::RcptTo),
    (">>> data", SmtpCommand::Data),
    (">>> mail from", SmtpCommand::MailFrom),
    (">>> ehlo", SmtpCommand::Helo),
    (">>> helo", SmtpCommand::Helo),
    ("refused to talk to me", SmtpCommand::Connect),
];

impl fmt::Display for SmtpCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_command_in_each_mta_phrasing() {
        let cases = [
            ("550 Unknown user (in reply to end of DATA command)", SmtpCommand::Data),
            ("SMTP error from remote mail server after RCPT TO:<a@b>: 550 no", SmtpCommand::RcptTo),
            ("Connected to 192.0.2.1 but my name was rejected.", SmtpCommand::Helo),
            ("550 5.2.2 Mailbox Full [RCPT_TO]", SmtpCommand::RcptTo),
            ("host x[1.2.3.4] refused to talk to me: 421 busy", SmtpCommand::Connect),
            ("SMTP error from remote server after RCPT command: host: mx.example.jp", SmtpCommand::RcptTo),
        ];
        for (text, cmd) in cases {
            assert_eq!(SmtpCommand::find(text), Some(cmd), "{text}");
        }
        assert_eq!(SmtpCommand::find("550 5.1.1 user unknown"), None);
    }
}
