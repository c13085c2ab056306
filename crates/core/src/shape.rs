//! The shape of a bounce text: the text with what varies from one bounce to the next (addresses,
//! IP addresses, numbers, queue and message ids, hashes) replaced by placeholders, so that the
//! replies no rule explains can be grouped by what the remote system said rather than by whom it
//! said it about, and a staff rule can be drafted from a group.
//!
//! The reply code at the start and enhanced status codes (`550`, `5.7.1`) are kept: they are part
//! of what was said.

/// Longest shape kept, in characters.
const MAX_SHAPE: usize = 240;

/// The placeholders a shape uses, in the order `draft_pattern` turns them into patterns.
pub const PLACEHOLDERS: [(&str, &str); 4] =
    [("<address>", r"\S+@\S+"), ("<ip>", r"[0-9a-f.:]+"), ("<id>", r"\S+"), ("<n>", r"[0-9]+")];

/// The shape of `text` (see the module documentation): one line, spaces collapsed, at most
/// `MAX_SHAPE` characters.
pub fn shape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHAPE + 16));
    for (i, raw) in text.split_whitespace().enumerate() {
        if out.chars().count() >= MAX_SHAPE {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let (lead, word, trail) = split_punctuation(raw);
        out.push_str(lead);
        out.push_str(&token(word, i == 0));
        out.push_str(trail);
    }
    if out.chars().count() > MAX_SHAPE {
        out = out.chars().take(MAX_SHAPE).collect();
    }
    out
}

/// A word without the punctuation around it (brackets, quotes, a trailing `.`, `,`, `;`, `:`).
fn split_punctuation(word: &str) -> (&str, &str, &str) {
    let start = word.len() - word.trim_start_matches(['<', '(', '[', '"', '\'', '{']).len();
    let rest = &word[start..];
    let inner = rest.trim_end_matches(['>', ')', ']', '"', '\'', '}', ',', ';', ':', '.', '!', '?']);
    (&word[..start], inner, &rest[inner.len()..])
}

/// A word's placeholder, or the word itself when nothing in it varies.
fn token(word: &str, first: bool) -> String {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    if word.contains('@') {
        return "<address>".to_owned();
    }
    if digits == 0 {
        return word.to_owned();
    }
    let is_code = word.len() == 3 && digits == 3 && matches!(word.as_bytes()[0], b'2' | b'4' | b'5');
    if first && is_code || crate::EnhancedStatus::parse(word).is_some() || is_code_with_dash(word) {
        return word.to_owned();
    }
    if let Some(code) = word.get(..4).filter(|code| word.len() > 4 && is_code_with_dash(code)) {
        return format!("{code}{}", token(&word[4..], false));
    }
    // A provider's own short code (`TSS04`, `RP-001`, `BL21`) is what it said, not an id.
    let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
    if word.len() <= 6 && letters > 0 && !word.bytes().any(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    if word.parse::<std::net::IpAddr>().is_ok() {
        return "<ip>".to_owned();
    }
    if digits == word.len() {
        return "<n>".to_owned();
    }
    "<id>".to_owned()
}

/// A multi-line reply's continuation code (`550-`), part of what was said.
fn is_code_with_dash(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b'-'
}

/// A staff rule pattern that matches every text of this shape: the words escaped, placeholders
/// opened up, spaces flexible. A draft for staff to narrow, tested before it is saved.
pub fn draft_pattern(shape: &str) -> String {
    let mut pattern = String::new();
    let mut rest = shape;
    while !rest.is_empty() {
        let next =
            PLACEHOLDERS.iter().filter_map(|(p, r)| rest.find(p).map(|at| (at, *p, *r))).min_by_key(|(at, ..)| *at);
        match next {
            Some((at, placeholder, regex)) => {
                pattern.push_str(&escape(&rest[..at]));
                pattern.push_str(regex);
                rest = &rest[at + placeholder.len()..];
            }
            None => {
                pattern.push_str(&escape(rest));
                rest = "";
            }
        }
    }
    pattern.replace(' ', r"\s+")
}

/// `text` with the regex metacharacters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_varies_becomes_a_placeholder() {
        assert_eq!(
            shape("550 5.7.1 <jane@example.com>: rejected, id=A1B2C3D4 from [192.0.2.7] after 3 tries."),
            "550 5.7.1 <<address>>: rejected, <id> from [<ip>] after <n> tries."
        );
        assert_eq!(shape("550-Too  many\n  hops"), "550-Too many hops");
        assert_eq!(
            shape("421 4.7.0 [TSS04] Messages from 192.0.2.1 deferred"),
            "421 4.7.0 [TSS04] Messages from <ip> deferred"
        );
        let long = "word ".repeat(200);
        assert!(shape(&long).chars().count() <= MAX_SHAPE);
    }

    #[test]
    fn two_bounces_of_one_kind_share_a_shape() {
        let a = shape("554 IP=192.0.2.1 - A problem occurred. (Ask your postmaster, ref 8a7b6c)");
        let b = shape("554 IP=198.51.100.9 - A problem occurred. (Ask your postmaster, ref 1f2e3d)");
        assert_eq!(a, b);
    }

    #[test]
    fn a_drafted_pattern_matches_the_texts_of_its_shape() {
        let text = "550 5.7.1 <jane@example.com>: refused by the frobnicator (ref 12345)";
        let pattern = draft_pattern(&shape(text));
        let rule = crate::rules::Rule {
            id: "drafted".into(),
            pattern: pattern.clone(),
            reason: crate::Reason::Blocked,
            scope: crate::rules::Scope::default(),
        };
        let classifier = crate::Classifier::new(&crate::ClassifierConfig { rules: vec![rule], ..Default::default() });
        let classifier = classifier.unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for (reply, drafted) in [
            (text, true),
            ("550 5.7.1 <bob@example.org>: refused by the frobnicator (ref 9)", true),
            ("550 5.1.1 user unknown", false),
        ] {
            assert_eq!(classifier.classify_reply(reply).rule == "drafted", drafted, "{pattern} on {reply}");
        }
    }
}
