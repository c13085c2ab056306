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

use std::sync::OnceLock;

use crate::ascii::Needle;
use crate::literals::LiteralSet;

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
const FAILED: &[&str] = &[
    "permanent error",
    "failed permanently",
    "permanently failed",
    "permanent fatal error",
    "permanent failure",
    "i've given up",
    "i have given up",
    "giving up on",
    "will not be retried",
    "will not retry",
    "no further attempts",
];

/// Words of a delay warning, in the body.
const DELAYED: &[&str] = &[
    "not yet been delivered",
    "not been delivered yet",
    "warning only",
    "warning message only",
    "just a warning",
    "temporary failure report",
    "advisory notice only",
    "do not need to resend",
    "do not need to re-send",
    "no action is required on your part",
    "will keep trying",
    "will continue to attempt",
    "will continue trying",
    "attempts will continue",
    "still being retried",
    "will be retried",
    "will retry",
    "will try again",
    "delivery has been delayed",
    "delivery is delayed",
    "delayed for more than",
    "delays in delivering",
    "still undelivered after",
];

/// Words of a delay warning in the subject line.
const DELAYED_SUBJECT: &[Needle] =
    &[Needle::new("delay"), Needle::new("warning: could not send"), Needle::new("still being retried")];

/// What a notice's words say, found in one pass over its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub tense: Option<Tense>,
    /// Something in it points at the sender's side (see `SENDER_SIDE`).
    pub sender_side: bool,
}

/// The word lists' tags in the scanner.
const TAG_FAILED: u32 = 0;
const TAG_DELAYED: u32 = 1;
const TAG_SENDER_SIDE: u32 = 2;

/// One scanner for every word list: a notice is read in one pass, however many words there are.
/// (`None` only if the lists could not be built, which their test rules out: the notice is then
/// read as saying nothing.)
fn scanner() -> Option<&'static LiteralSet> {
    static SCANNER: OnceLock<Option<LiteralSet>> = OnceLock::new();
    SCANNER
        .get_or_init(|| {
            let lists = [(FAILED, TAG_FAILED), (DELAYED, TAG_DELAYED), (SENDER_SIDE, TAG_SENDER_SIDE)];
            let words: Vec<Vec<u8>> =
                lists.iter().flat_map(|(list, _)| list.iter().map(|w| w.as_bytes().to_vec())).collect();
            let tags: Vec<Vec<u32>> = lists.iter().flat_map(|(list, tag)| list.iter().map(|_| vec![*tag])).collect();
            LiteralSet::new(&words, &tags).ok()
        })
        .as_ref()
}

/// Reads a notice from its subject and its text (without the returned message).
pub fn read(subject: &str, text: &str) -> Reading {
    let mut seen = [false; 3];
    if let Some(scanner) = scanner() {
        scanner.for_each(text.as_bytes(), |tag, _| seen[tag as usize] = true);
    }
    let tense = if seen[TAG_FAILED as usize] {
        Some(Tense::Failed)
    } else if seen[TAG_DELAYED as usize] || DELAYED_SUBJECT.iter().any(|n| n.is_in(subject)) {
        Some(Tense::Delayed)
    } else {
        None
    };
    Reading { tense, sender_side: seen[TAG_SENDER_SIDE as usize] }
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
const SENDER_SIDE: &[&str] = &[
    "spam",
    "block",
    "black",
    "listed",
    "polic",
    "reject",
    "refus",
    "denied",
    "reputation",
    "not allowed",
    "not permitted",
    "abuse",
    "virus",
    "content",
    "filter",
    "prohibit",
    "authenticat",
    "relay",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_lists_build_a_scanner() {
        assert!(scanner().is_some());
    }

    #[test]
    fn the_boilerplate_list_is_sorted_for_binary_search() {
        assert!(SAYS_ONLY_FAILED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn delay_warnings_and_final_failures_are_told_apart() {
        let tense = |subject, text| read(subject, text).tense;
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
    fn words_on_the_senders_side_are_noticed() {
        assert!(read("", "Your server is on our BLOCKLIST").sender_side);
        assert!(!read("", "The following address failed: <a@b.example>").sender_side);
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
