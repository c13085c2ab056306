//! Reading an SMTP reply: its reply code (RFC 5321), enhanced status code (RFC 3463) and text.
//!
//! Accepts what bounce producers actually write: `smtp;`/`x-postfix;` diagnostic-type prefixes,
//! multi-line replies (`550-5.1.1 ...` continuation lines, joined with single spaces), codes
//! repeated on every line, and texts where the code is buried after a host name
//! (`host mx.example.com said: 550 5.1.1 ...`).

use std::borrow::Cow;

use crate::EnhancedStatus;
use crate::ascii::lines;

/// A parsed SMTP reply. `text` is the human-readable part with codes and prefixes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply<'a> {
    pub code: Option<u16>,
    pub status: Option<EnhancedStatus>,
    pub text: Cow<'a, str>,
}

impl<'a> SmtpReply<'a> {
    /// Parses a reply; never fails (a reply without codes has only text).
    pub fn parse(input: &'a str) -> Self {
        let trimmed = input.trim();
        if is_exit_status(trimmed) {
            return Self { code: None, status: None, text: Cow::Borrowed(trimmed) };
        }
        let body = strip_diagnostic_type(trimmed);
        if memchr::memchr(b'\n', body.as_bytes()).is_none() {
            return Self::single_line(body.trim());
        }
        let mut lines = lines(body).map(str::trim).filter(|l| !l.is_empty());
        let Some(first) = lines.next() else {
            return Self { code: None, status: None, text: Cow::Borrowed("") };
        };
        let (code, mut status, first_text) = split_line(first);
        let rest: Vec<&str> = lines.collect();
        let text = if rest.is_empty() {
            Cow::Borrowed(first_text)
        } else {
            let mut joined = String::with_capacity(body.len());
            joined.push_str(first_text);
            for line in rest {
                let (_, line_status, line_text) = split_line(line);
                status = status.or(line_status);
                if !line_text.is_empty() {
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(line_text);
                }
            }
            Cow::Owned(joined)
        };
        Self::complete(code, status, text)
    }

    /// The reply from its leading code and status, if any, and its text, which holds the status
    /// (and the code, when it is not leading) otherwise.
    fn complete(code: Option<u16>, status: Option<EnhancedStatus>, text: Cow<'a, str>) -> Self {
        match code {
            Some(_) => {
                let status = status.or_else(|| EnhancedStatus::find(&text).map(|(s, _)| s));
                Self { code, status, text }
            }
            None => Self::from_embedded(text, status),
        }
    }

    /// A reply of one line (most are): what `parse` does, without splitting lines.
    fn single_line(line: &'a str) -> Self {
        if line.is_empty() {
            return Self { code: None, status: None, text: Cow::Borrowed("") };
        }
        let (code, status, text) = split_line(line);
        Self::complete(code, status, Cow::Borrowed(text))
    }

    /// For replies whose code is not at the start: takes the first `NNN ` token that is followed by
    /// an enhanced status code, else the first enhanced status code alone.
    fn from_embedded(text: Cow<'a, str>, status: Option<EnhancedStatus>) -> Self {
        let code = find_embedded_code(&text);
        let status = status.or_else(|| EnhancedStatus::find(&text).map(|(s, _)| s));
        Self { code, status, text }
    }
}

/// Removes the reply code (and enhanced status) that multi-line replies repeat at the start of each
/// line once the lines have been folded into one (`Messages with multiple 550 5.7.1 addresses`),
/// so that phrases split across lines can be matched again.
pub fn strip_repeated_codes(text: &str, code: u16) -> Cow<'_, str> {
    let digits = [b'0' + (code / 100 % 10) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8];
    let repeated = |at: usize| {
        let rest = &text[at + 3..];
        let before_ok = at > 0 && text.as_bytes()[at - 1] == b' ';
        let sep_ok = rest.starts_with(' ') || rest.starts_with('-');
        before_ok && sep_ok
    };
    let bytes = text.as_bytes();
    let mut hits = memchr::memchr_iter(digits[0], bytes)
        .filter(|&i| bytes.get(i..i + 3) == Some(&digits[..]) && repeated(i))
        .peekable();
    if hits.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for at in hits {
        if at < last {
            continue;
        }
        out.push_str(&text[last..at]);
        let mut end = at + 4;
        let token = text[end..].split(' ').next().unwrap_or_default();
        if EnhancedStatus::parse(token).is_some() {
            end += token.len() + 1;
        }
        last = end.min(text.len());
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// A local mailer's exit status (`X-Unix; 255`), whose number is not an SMTP reply code.
pub(crate) fn is_exit_status(s: &str) -> bool {
    s.len() > 7 && s.as_bytes()[..7].eq_ignore_ascii_case(b"x-unix;")
}

/// Removes an RFC 3464 diagnostic-type prefix such as `smtp;` or `X-Postfix;`.
fn strip_diagnostic_type(s: &str) -> &str {
    // A type name is at most 24 bytes long, so only the first 25 can hold its `;`.
    match memchr::memchr(b';', &s.as_bytes()[..s.len().min(25)]) {
        Some(end) if end > 0 && s.as_bytes()[..end].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') => {
            s[end + 1..].trim_start()
        }
        _ => s,
    }
}

/// Splits one reply line into its leading reply code, a leading enhanced status and the text.
fn split_line(line: &str) -> (Option<u16>, Option<EnhancedStatus>, &str) {
    let (code, rest) = match leading_code(line) {
        Some(code) => (Some(code), line[3..].trim_start_matches([' ', '-'])),
        None => (None, line),
    };
    if !matches!(rest.as_bytes().first(), Some(b'2' | b'4' | b'5')) {
        // An enhanced status starts with its class digit.
        return (code, None, rest);
    }
    let token_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    match EnhancedStatus::parse(rest[..token_end].trim_end_matches([':', ','])) {
        Some(status) => (code, Some(status), rest[token_end..].trim_start()),
        None => (code, None, rest),
    }
}

/// A reply code at the very start of a line: `[2-5][0-5][0-9]` followed by space, `-` or the end.
fn leading_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    if b.len() < 3 || !is_reply_code(&b[..3]) {
        return None;
    }
    match b.get(3) {
        None | Some(b' ' | b'-' | b'\t') => Some(reply_code_value(&b[..3])),
        _ => None,
    }
}

fn is_reply_code(d: &[u8]) -> bool {
    matches!(d[0], b'2'..=b'5') && matches!(d[1], b'0'..=b'5') && d[2].is_ascii_digit()
}

fn reply_code_value(d: &[u8]) -> u16 {
    u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0')
}

/// Whether text ends the way MTAs introduce the remote server's reply: `host mx.example.com
/// said: ` (Postfix), `SMTP error from remote mail server after RCPT TO:<a@b>: ` (Exim).
fn introduces_reply(before: &str) -> bool {
    let Some(lead) = before.strip_suffix(": ") else { return false };
    let window = &lead.as_bytes()[lead.len().saturating_sub(160)..];
    lead.ends_with("said") || memchr::memmem::find(window, b"mail server after ").is_some()
}

/// Finds `NNN C.S.D` inside text, with the code standing alone as a word and followed by a space
/// or `-`. Candidates start with a reply class digit, rare in text, which vectorised `memchr`
/// searches find: `2`, `4` and `5` in one pass, `3` in another; the earlier find wins.
fn find_embedded_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let searchable = &b[..b.len().saturating_sub(3)];
    let common = memchr::memchr3_iter(b'2', b'4', b'5', searchable).find_map(|i| embedded_code_at(text, i));
    let until = common.map_or(searchable.len(), |(at, _)| at);
    let threes = memchr::memchr_iter(b'3', &searchable[..until]).find_map(|i| embedded_code_at(text, i));
    threes.or(common).map(|(_, code)| code)
}

/// The reply code standing alone at `i` (followed by a space or `-`), when what follows it or
/// comes before it shows that it is one: `(i, code)`.
fn embedded_code_at(text: &str, i: usize) -> Option<(usize, u16)> {
    let b = text.as_bytes();
    let standalone = matches!(b.get(i + 3), Some(b' ' | b'-'))
        && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        && is_reply_code(&b[i..i + 3]);
    if !standalone {
        return None;
    }
    let code = reply_code_value(&b[i..i + 3]);
    if code >= 400 && introduces_reply(&text[..i]) {
        return Some((i, code));
    }
    let after = &text[i + 4..];
    let token = after.split_whitespace().next()?;
    EnhancedStatus::parse(token.trim_end_matches([':', ','])).map(|_| (i, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(input: &str) -> (Option<u16>, Option<String>, String) {
        let r = SmtpReply::parse(input);
        (r.code, r.status.map(|s| s.to_string()), r.text.into_owned())
    }

    #[test]
    fn a_code_introduced_by_said_or_exims_after_command_is_read() {
        let exim = "host mx.example.net [192.0.2.1] SMTP error from remote mail server after MAIL FROM:<s@example.org> \
SIZE=1024: 450 service permits 2 unverifiable sending IPs";
        assert_eq!(parts(exim).0, Some(450));
        assert_eq!(parts("host mx.example.net[192.0.2.1] said: 550 Unknown user a@example.net").0, Some(550));
        assert_eq!(parts("Subject: test Size (in bytes): 222 Number of lines: 2").0, None);
    }

    #[test]
    fn single_line_with_prefix() {
        assert_eq!(
            parts("smtp; 550 5.1.1 <a@example.com>: Recipient address rejected"),
            (Some(550), Some("5.1.1".into()), "<a@example.com>: Recipient address rejected".into())
        );
    }

    #[test]
    fn continuation_lines_are_joined() {
        let input = "550-5.1.1 The email account that you tried to reach does not exist.\r\n550-5.1.1 Please try\r\n550 5.1.1 double-checking.";
        assert_eq!(
            parts(input),
            (
                Some(550),
                Some("5.1.1".into()),
                "The email account that you tried to reach does not exist. Please try double-checking.".into()
            )
        );
    }

    #[test]
    fn code_after_host_name() {
        let (code, status, _) = parts("host mx.example.com[192.0.2.1] said: 552 5.2.2 Mailbox full");
        assert_eq!((code, status.as_deref()), (Some(552), Some("5.2.2")));
    }

    #[test]
    fn folded_continuation_codes_are_removed() {
        let folded = "550-5.7.1 [192.0.2.1 13] Messages with multiple 550 5.7.1 addresses in From: header";
        assert_eq!(
            strip_repeated_codes(folded, 550),
            "550-5.7.1 [192.0.2.1 13] Messages with multiple addresses in From: header"
        );
        assert_eq!(strip_repeated_codes("550 5.1.1 user unknown", 550), "550 5.1.1 user unknown");
        assert_eq!(strip_repeated_codes("trailing 550", 550), "trailing 550");
    }

    #[test]
    fn text_without_codes() {
        assert_eq!(parts("mailbox unavailable"), (None, None, "mailbox unavailable".into()));
        assert_eq!(parts(""), (None, None, String::new()));
        assert_eq!(parts("   \n  "), (None, None, String::new()));
    }

    #[test]
    fn numbers_that_are_not_codes() {
        assert_eq!(parts("X-Unix; 255"), (None, None, "X-Unix; 255".into()));
        assert_eq!(parts("600 5.1.1 nope").0, None);
        assert_eq!(parts("5501 too long").0, None);
        assert_eq!(parts("421").0, Some(421));
    }
}
