//! What a mail system's notice says about time and cause when its per-recipient text says little:
//! whether it is a warning that delivery is only delayed (and still being tried) or a final
//! failure, and whether a recipient's text says anything beyond "delivery failed".
//!
//! Every MTA words these in fixed templates, which is what makes them reliable: a delay warning
//! says it is a warning and that delivery goes on (Postfix `THIS IS A WARNING ONLY. YOU DO NOT NEED
//! TO RESEND YOUR MESSAGE`, Exim `has not yet been delivered` ... `Delivery attempts will
//! continue`, Sendmail `THIS IS A WARNING MESSAGE ONLY` and `Will keep trying until message is`,
//! OpenSMTPD `only a temporary failure report`, Courier `DELAYS IN DELIVERING YOUR MESSAGE`,
//! Exchange and Gmail `Delivery ... has been delayed`); a final failure says it gave up (Exim and
//! qmail `This is a permanent error`, Sendmail `permanent fatal errors`, Gmail `failed
//! permanently`). The subject lines say the same (`Delayed Mail (still being retried)`,
//! `Warning: could not send message for past 4 hours`, `Delivery Status Notification (Delay)`).

use crate::ascii::Needle;

/// The tense of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// A warning: the message is still queued and delivery goes on.
    Delayed,
    /// The mail system gave up: the recipients listed will not get the message.
    Failed,
}

/// Words of a final failure; they outrank delay words (a final Sendmail notice quotes the earlier
/// `Deferred:` lines of its transcript).
const FAILED: &[Needle] = &[
    Needle::new("permanent error"),
    Needle::new("failed permanently"),
    Needle::new("permanently failed"),
    Needle::new("permanent fatal error"),
    Needle::new("permanent failure"),
    Needle::new("i've given up"),
    Needle::new("i have given up"),
    Needle::new("giving up on"),
    Needle::new("will not be retried"),
    Needle::new("will not retry"),
    Needle::new("no further attempts"),
];

/// Words of a delay warning, in the body.
const DELAYED: &[Needle] = &[
    Needle::new("not yet been delivered"),
    Needle::new("not been delivered yet"),
    Needle::new("warning only"),
    Needle::new("warning message only"),
    Needle::new("just a warning"),
    Needle::new("temporary failure report"),
    Needle::new("advisory notice only"),
    Needle::new("do not need to resend"),
    Needle::new("do not need to re-send"),
    Needle::new("no action is required on your part"),
    Needle::new("will keep trying"),
    Needle::new("will continue to attempt"),
    Needle::new("will continue trying"),
    Needle::new("attempts will continue"),
    Needle::new("still being retried"),
    Needle::new("will be retried"),
    Needle::new("will retry"),
    Needle::new("will try again"),
    Needle::new("delivery has been delayed"),
    Needle::new("delivery is delayed"),
    Needle::new("delayed for more than"),
    Needle::new("delays in delivering"),
    Needle::new("still undelivered after"),
];

/// Words of a delay warning in the subject line.
const DELAYED_SUBJECT: &[Needle] =
    &[Needle::new("delay"), Needle::new("warning: could not send"), Needle::new("still being retried")];

/// The tense of a notice from its subject and its text (without the returned message).
pub fn tense(subject: &str, text: &str) -> Option<Tense> {
    if FAILED.iter().any(|n| n.is_in(text)) {
        return Some(Tense::Failed);
    }
    let delayed = DELAYED.iter().any(|n| n.is_in(text)) || DELAYED_SUBJECT.iter().any(|n| n.is_in(subject));
    delayed.then_some(Tense::Delayed)
}

/// Words that say no more than "delivery to this address failed" (the notices' own boilerplate),
/// lower-case. A recipient's text made only of these, addresses and numbers gives no cause.
const SAYS_ONLY_FAILED: &[&str] = &[
    "a",
    "above",
    "address",
    "addressee",
    "addresses",
    "after",
    "an",
    "and",
    "are",
    "as",
    "at",
    "attempt",
    "attempts",
    "be",
    "been",
    "below",
    "by",
    "cannot",
    "copy",
    "could",
    "couldn't",
    "daemon",
    "deliver",
    "delivered",
    "delivering",
    "delivery",
    "did",
    "didn't",
    "e-mail",
    "email",
    "error",
    "errors",
    "failed",
    "failure",
    "fatal",
    "following",
    "follows",
    "for",
    "from",
    "generated",
    "given",
    "has",
    "have",
    "i",
    "i've",
    "in",
    "is",
    "it",
    "mail",
    "mailer",
    "message",
    "messages",
    "not",
    "notice",
    "notification",
    "of",
    "original",
    "out",
    "permanent",
    "permanently",
    "reached",
    "reason",
    "receive",
    "recipient",
    "recipients",
    "removed",
    "returned",
    "sorry",
    "status",
    "system",
    "that",
    "the",
    "these",
    "this",
    "to",
    "unable",
    "undeliverable",
    "undelivered",
    "undisclosed",
    "up",
    "was",
    "were",
    "with",
    "work",
    "your",
];

/// Whether a recipient's text says nothing beyond "delivery failed": only boilerplate words,
/// addresses, numbers and punctuation (or nothing at all).
pub fn says_only_failed(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '<' | '>' | '[' | ']' | '"'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && !w.contains('@') && w.bytes().any(|b| b.is_ascii_alphabetic()))
        .all(|w| w.len() <= 16 && SAYS_ONLY_FAILED.binary_search(&w.to_ascii_lowercase().as_str()).is_ok())
}

/// Words that point at the sender's side (a block, a filter, a policy) somewhere in a notice that
/// no rule could read: a failure that might be a refusal of the sender is never called a dead
/// address on the notice's word alone.
const SENDER_SIDE: &[Needle] = &[
    Needle::new("spam"),
    Needle::new("block"),
    Needle::new("black"),
    Needle::new("listed"),
    Needle::new("polic"),
    Needle::new("reject"),
    Needle::new("refus"),
    Needle::new("denied"),
    Needle::new("reputation"),
    Needle::new("not allowed"),
    Needle::new("not permitted"),
    Needle::new("abuse"),
    Needle::new("virus"),
    Needle::new("content"),
    Needle::new("filter"),
    Needle::new("prohibit"),
    Needle::new("authenticat"),
    Needle::new("relay"),
];

/// Whether a notice's text mentions anything on the sender's side (see `SENDER_SIDE`).
pub fn mentions_sender_side(text: &str) -> bool {
    SENDER_SIDE.iter().any(|n| n.is_in(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boilerplate_list_is_sorted_for_binary_search() {
        assert!(SAYS_ONLY_FAILED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn delay_warnings_and_final_failures_are_told_apart() {
        let postfix = "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #";
        assert_eq!(tense("Delayed Mail (still being retried)", postfix), Some(Tense::Delayed));
        let exim = "A message that you sent has not yet been delivered to one or more of its recipients";
        assert_eq!(tense("Warning: message 1abc-000 delayed 24 hours", exim), Some(Tense::Delayed));
        let sendmail = "----- The following addresses had permanent fatal errors -----\nDeferred: Connection timed out";
        assert_eq!(tense("Returned mail: see transcript for details", sendmail), Some(Tense::Failed));
        assert_eq!(tense("failure notice", "This is a permanent error; I've given up."), Some(Tense::Failed));
        assert_eq!(tense("Undelivered Mail Returned to Sender", "could not be delivered"), None);
    }

    #[test]
    fn a_text_that_gives_no_cause_is_told_from_one_that_does() {
        for text in [
            "",
            "Delivery to the following recipients failed.",
            "(generated from userx@example.com)",
            "Delivery failed 20 attempts: userx@example.com",
            "Message removed",
            "undeliverable to a@b.example",
        ] {
            assert!(says_only_failed(text), "{text}");
        }
        for text in ["No such user", "550 Denied due to spam list", "Quota violation for a@b.example", "host not found"]
        {
            assert!(!says_only_failed(text), "{text}");
        }
    }
}
