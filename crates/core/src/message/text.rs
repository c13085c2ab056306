//! Bounces without a delivery-status report: the free-text notices of qmail, Exim, older
//! Sendmail, Exchange, webmail providers and the rest. They share a shape — a preamble, then each
//! failed address at the start of a line followed by what went wrong, then the original message —
//! so one decoder reads them all: it cuts the original message off, finds the address lines, and
//! takes the text up to the next address as that recipient's diagnostic.

use super::{Bounce, address};
use crate::Reason;
use crate::ascii::{Needle, contains_ignore_case, lines, lines_inclusive, starts_with_any, starts_with_ignore_case};
use crate::report::{Hint, Report};

/// Longest diagnostic kept for one recipient; real ones are a few hundred bytes.
const MAX_DIAGNOSTIC: usize = 4096;

/// Lines that start the copy of the original message (compared case-insensitively, trimmed).
const ORIGINAL_MARKERS: &[&str] = &[
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "this is a copy of the message",
    "----- original message -----",
    "------ original message ------",
    "--- original message follows",
    "original message follows",
    "----- unsent message follows -----",
    "------ unsent message follows ------",
    "----- message header follows -----",
    "----- the header of the original message is following",
    "----- original message header -----",
    "--- the header of the original message is following",
    "------ below this line is a copy of the message",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
    "--- mail original ---",
    "----- returned message -----",
    "message headers follow",
    "------- returned message",
];

/// Header lines that, at the start of a line, begin a copy of the original message's headers
/// pasted without a marker line before them (Zoho): a trace field is never part of the notice.
const ORIGINAL_HEADER_STARTS: &[&str] = &["received:"];

/// The notification without the original message appended to it.
pub fn notification_text(human: &str) -> &str {
    &human[..original_start(human).map_or(human.len(), |(start, _)| start)]
}

/// The original message (or its headers) when it is appended to the notification as text.
pub fn appended_original(human: &str) -> Option<&str> {
    original_start(human).map(|(_, after)| human[after..].trim_start_matches(['\r', '\n']))
}

/// Where the marker line of an appended original message starts, and where the line after it does.
fn original_start(human: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in lines_inclusive(human) {
        let trimmed = line.trim_start();
        if starts_with_any(trimmed, ORIGINAL_MARKERS) {
            return Some((offset, offset + line.len()));
        }
        if starts_with_any(line, ORIGINAL_HEADER_STARTS) {
            return Some((offset, offset));
        }
        offset += line.len();
    }
    None
}

/// A failed address and the text about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub address: String,
    pub text: String,
}

/// The address lines of a notification (other than the bounce's `own` addresses, which are read
/// as text) and the text that follows each, up to the next address line. Text about the same
/// address in several places (a Sendmail transcript) is joined. Lotus Notes and a few others state
/// the error on the line before the address: an address line with no text after it takes that
/// line (in any script: Japanese Notes servers write it in Japanese). The positive replies of a session transcript (`250 Ok`) are left out, so the failing reply
/// is the one a block carries. An address only ever seen on a `To:` line (the original message's
/// header, quoted in a summary) is not a recipient when other addresses are listed.
pub fn recipient_blocks(notification: &str, own: &[String]) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut leads: Vec<&str> = Vec::new();
    let mut quoted_only: Vec<bool> = Vec::new();
    let mut current: Option<usize> = None;
    let mut session = Session::default();
    let mut previous = "";
    for line in lines(notification) {
        let found = address_line(line).filter(|(a, _)| !own.iter().any(|o| o.eq_ignore_ascii_case(a)));
        if let Some((address, rest)) = found {
            let quoted = starts_with_ignore_case(line.trim_start(), "To:");
            let index = match blocks.iter().position(|b| b.address.eq_ignore_ascii_case(&address)) {
                Some(i) => i,
                None => {
                    blocks.push(Block { address, text: String::new() });
                    leads.push(if current.is_none() { previous } else { "" });
                    quoted_only.push(true);
                    blocks.len() - 1
                }
            };
            quoted_only[index] &= quoted;
            let text = &mut blocks[index].text;
            append(text, &std::mem::take(&mut session.pending));
            session.owner = None;
            session.active = false;
            if rest.starts_with(|c: char| c.is_ascii_digit()) && previous.trim_end().ends_with(':') {
                append(text, previous);
            }
            append(text, &rest);
            current = Some(index);
        } else if is_session_start(line) || (is_host_status(line) && (current.is_some() || !session.active)) {
            session.flush(&mut blocks);
            session.owner = current.take().or(session.owner);
            session.active = true;
            append(&mut session.pending, line);
        } else if !is_positive_reply(line) {
            match current {
                Some(i) => append(&mut blocks[i].text, line),
                None if session.active => append(&mut session.pending, line),
                None => {}
            }
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    session.flush(&mut blocks);
    for (block, lead) in blocks.iter_mut().zip(leads) {
        let lead = lead.trim();
        let says_something = lead.chars().any(char::is_alphabetic) && !lead.ends_with(':');
        if block.text.is_empty() && says_something {
            append(&mut block.text, lead);
        }
    }
    if quoted_only.contains(&false) {
        let mut keep = quoted_only.iter().map(|q| !q);
        blocks.retain(|_| keep.next().unwrap_or(true));
    }
    blocks
}

/// A Sendmail session transcript in progress: the lines since `... while talking to host:` or a
/// per-host status line (`550 example.org (smtp)... Host unknown`). They explain the recipient
/// whose summary line (`554 <a@example.org>... Remote protocol error`) comes next; when none
/// comes, they go to the recipient before them, `owner`.
#[derive(Default)]
struct Session {
    pending: String,
    owner: Option<usize>,
    active: bool,
}

impl Session {
    fn flush(&mut self, blocks: &mut [Block]) {
        if let Some(block) = self.owner.and_then(|i| blocks.get_mut(i)) {
            append(&mut block.text, &self.pending);
        }
        self.pending.clear();
    }
}

/// `... while talking to mx.example.org.:`, where Sendmail starts the transcript of a session.
fn is_session_start(line: &str) -> bool {
    let trimmed = line.trim_start().trim_start_matches('.').trim_start();
    starts_with_ignore_case(trimmed, "while talking to ")
}

/// Sendmail's status line for a whole host, `550 example.org (smtp)... 550 Host unknown`: a reply
/// code, a host name and the mailer in parentheses, no address.
fn is_host_status(line: &str) -> bool {
    let t = line.trim_start().as_bytes();
    let coded = t.len() > 4 && t[..3].iter().all(u8::is_ascii_digit) && t[3] == b' ';
    coded && !line.contains('@') && line.contains(")... ")
}

/// A line of a session transcript that reports success or asks for more (`Out: 250 2.1.5 Ok`,
/// `<<< 354 Go ahead`): it says nothing about why delivery failed.
fn is_positive_reply(line: &str) -> bool {
    let mut rest = line.trim_start();
    for marker in ["<<<", "Out:"] {
        if starts_with_ignore_case(rest, marker) {
            rest = rest[marker.len()..].trim_start();
        }
    }
    let b = rest.as_bytes();
    b.len() >= 3
        && matches!(b[0], b'2' | b'3')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && matches!(b.get(3), None | Some(b' ' | b'-'))
}

fn append(text: &mut String, line: &str) {
    let line = line.trim();
    if line.is_empty() || text.len() >= MAX_DIAGNOSTIC {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(line);
}

/// A line that starts with an address (bare, or in angle brackets, optionally after a transcript
/// marker), returning the address and the rest of the line. A command of a session transcript
/// (`>>> RCPT To:<a@b>`) is kept whole, as it tells which command the reply after it answered.
fn address_line(line: &str) -> Option<(String, String)> {
    let line = line.trim_start();
    let line = line.strip_prefix("* ").or_else(|| line.strip_prefix("- ")).unwrap_or(line);
    let (code, trimmed) = strip_line_prefixes(line);
    if let Some(found) = x400_address(trimmed) {
        return Some(found);
    }
    // Exim names an address it may not disclose by the one it was generated from, on a line of its own.
    if starts_with_ignore_case(trimmed, "(generated from ") {
        let (address, end) = address::first_in(&trimmed[1..])?;
        return Some((address, trimmed[1 + end..].trim_start_matches([')', ' ']).to_owned()));
    }
    let first = trimmed.split_whitespace().next()?;
    if !first.contains('@') {
        return led_in_address(trimmed);
    }
    if first.split_once('@').is_some_and(|(before, _)| before.contains(':') && !before.starts_with("mailto:")) {
        return None;
    }
    let (address, end) = address::first_in(trimmed)?;
    if end > first.len() + 1 {
        return None;
    }
    if line.starts_with(">>>") {
        return Some((address, line.trim_end().to_owned()));
    }
    let rest = trimmed[end..].trim_start_matches(['>', ':', '.', ',', ' ']);
    let rest = if code.is_empty() { rest.to_owned() } else { format!("{code} {rest}") };
    Some((address, rest))
}

/// An X.400 originator/recipient address as old Exchange and other X.400 gateways print it
/// (`c=US;a= ;p=Org;o=Site;dda:SMTP=jane@example.com;`): the internet address is the value of its
/// `dda:SMTP=` (or `RFC-822=`) attribute. Returns it and the rest of the line.
fn x400_address(line: &str) -> Option<(String, String)> {
    const ATTRIBUTES: [&str; 3] = ["dda:smtp=", "dda:rfc-822=", ";rfc-822="];
    if !starts_with_ignore_case(line, "c=") {
        return None;
    }
    let lower = line.to_ascii_lowercase();
    let value_at = ATTRIBUTES.iter().find_map(|a| lower.find(a).map(|at| at + a.len()))?;
    let (address, end) = address::first_in(&line[value_at..])?;
    let rest = line[value_at + end..].trim_start_matches([';', ' ']);
    Some((address, rest.to_owned()))
}

/// Phrases that introduce the failed address inside a line (`Could not be delivered to: <a@b>`,
/// `Invalid final delivery userid: a@b`, Zoho's `[Status: Error, Address: <a@b>, ...]`), compared
/// case-insensitively with what ends just before the address.
const LEAD_INS: &[&str] = &[
    "delivered to",
    "deliver to",
    "deliver message to",
    "deliver the message to",
    "deliver mail to",
    "undeliverable to",
    "delivery userid",
    "error, address",
    "the following recipient",
    "attempts",
];

/// Words of which one must come before a lead-in phrase, so that "delivered to a@b" in a report of
/// success is not taken for a failure.
const FAILURE_WORDS: &[&str] = &["not ", "n't", "unable", "undeliverable", "fail", "error", "invalid", "unknown"];

/// An address that a lead-in phrase names as the failed one, with the rest of the line (the
/// phrase and what follows the address) as its text.
fn led_in_address(line: &str) -> Option<(String, String)> {
    let (address, end) = address::first_in(line)?;
    let start = line[..end].rfind(address.as_str())?;
    let before = line[..start].trim_end_matches(['<', '"', '\'', ':', ' ', '\t']);
    let lower = before.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    let led_in = LEAD_INS.iter().any(|lead| lower.ends_with(lead));
    if !led_in || !FAILURE_WORDS.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let after = line[end..].trim_start_matches(['>', '"', '\'']);
    let mut rest = line[..start].trim_end_matches(['<', '"', '\'', ' ', '\t']).to_owned();
    append(&mut rest, after);
    Some((address, rest))
}

/// Removes what may stand before a failed address at the start of a line: transcript markers
/// (`>>> `, `<<< `), a reply code and enhanced status (`550 5.1.1 `), `RCPT To:`. Returns the reply code and status found there (kept for the diagnostic) and the rest.
fn strip_line_prefixes(line: &str) -> (&str, &str) {
    let mut rest = line;
    for marker in [">>>", "<<<", "In:", "RCPT To:", "To:", "Recipient:", "Original-Recipient:"] {
        if rest.len() >= marker.len() && rest.as_bytes()[..marker.len()].eq_ignore_ascii_case(marker.as_bytes()) {
            rest = rest[marker.len()..].trim_start();
        }
    }
    let b = rest.as_bytes();
    if b.len() > 4
        && b[..3].iter().all(u8::is_ascii_digit)
        && matches!(b[3], b' ' | b'-')
        && matches!(b[0], b'2'..=b'5')
    {
        let code_start = rest;
        rest = rest[4..].trim_start();
        let token = rest.split_whitespace().next().unwrap_or_default();
        if crate::EnhancedStatus::parse(token).is_some() {
            rest = rest[token.len()..].trim_start();
        }
        let code = code_start[..code_start.len() - rest.len()].trim_end();
        return (code, rest);
    }
    ("", rest)
}

/// Reports from the free text of a bounce. When the bounce names its failed recipients in an
/// `X-Failed-Recipients` header, those are the recipients (an address at the start of a line may
/// be a greeting to the sender); otherwise the address lines are, leaving out the bounce's own
/// addresses unless nothing else names a recipient.
pub fn decode<'b>(bounce: &'b Bounce) -> Vec<Report<'b>> {
    let notification = notification_text(&bounce.human);
    let own = bounce.sender_side();
    let mut blocks = recipient_blocks(notification, own);
    let failed = failed_recipients_header(bounce);
    if !failed.is_empty() {
        blocks = failed
            .into_iter()
            .map(|address| match blocks.iter().position(|b| b.address.eq_ignore_ascii_case(&address)) {
                Some(i) => blocks[i].clone(),
                None => Block { address, text: String::new() },
            })
            .collect();
    }
    if blocks.is_empty() {
        blocks = listed_local_parts(notification, bounce.mail_system_domain());
    }
    let inferred = blocks.is_empty();
    if inferred && let Some(address) = bounce.original_recipient().or_else(|| address_in_prose(bounce, notification)) {
        blocks.push(Block { address, text: String::new() });
    }
    if blocks.is_empty() {
        blocks.extend(recipient_blocks(notification, &[]).into_iter().take(1));
    }
    let whole = compact(notification);
    let single = blocks.len() == 1;
    blocks
        .into_iter()
        .map(|b| Report {
            context: (single || b.text.is_empty()).then(|| whole.clone().into()),
            original_recipient: expanded_from(&b.text).filter(|o| !o.eq_ignore_ascii_case(&b.address)),
            hint: provider_hint(&b.address),
            recipient: Some(b.address),
            recipient_inferred: inferred,
            diagnostic: b.text.into(),
            via_filter: bounce.via_filter,
            notice: Some(bounce.notice(notification)),
            decoder: "text",
            ..Report::default()
        })
        .collect()
}

/// Recipients a mail system lists by their local part alone, on indented lines under a line that
/// introduces them (AOL's `Your mail to the following recipients could not be delivered because
/// ...:` then `\tjane`): mailboxes of the system's own domain, which is `domain` (the domain of the
/// notice's `From:` mail-system address). The introducing line is each one's diagnostic.
fn listed_local_parts(notification: &str, domain: Option<&str>) -> Vec<Block> {
    let Some(domain) = domain else { return Vec::new() };
    let mut blocks = Vec::new();
    let mut lead: Option<&str> = None;
    for line in lines(notification) {
        let listed = lead.filter(|_| line.starts_with([' ', '\t'])).zip(bare_local_part(line));
        match listed {
            Some((lead, local)) => {
                blocks.push(Block { address: format!("{local}@{domain}"), text: lead.trim().to_owned() })
            }
            None if !blocks.is_empty() => break,
            None if line.trim_end().ends_with(':')
                && ["recipient", "address"].iter().any(|w| contains_ignore_case(line, w)) =>
            {
                lead = Some(line);
            }
            None if !line.trim().is_empty() => lead = None,
            None => {}
        }
    }
    blocks
}

/// A line that holds one local part and nothing else.
fn bare_local_part(line: &str) -> Option<&str> {
    let word = line.trim();
    let plausible = !word.is_empty()
        && word.len() <= 64
        && !word.starts_with('.')
        && !word.ends_with('.')
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    plausible.then_some(word)
}

/// The address an alias or forward was expanded from, as MTAs note it after the final address
/// (Postfix `(expanded from <a@b>)`, Sendmail `(expanded from: a@b)`, Exim `(generated from a@b)`):
/// the address the sender mailed.
fn expanded_from(text: &str) -> Option<String> {
    const MARKS: [Needle; 2] = [Needle::new("(expanded from"), Needle::new("(generated from")];
    if !MARKS.iter().any(|m| m.is_in(text)) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let at = ["(expanded from", "(generated from"].iter().find_map(|p| lower.find(p).map(|i| i + p.len()))?;
    address::first_in(text[at..].trim_start_matches([':', ' '])).map(|(a, _)| a)
}

/// The last resort for a recipient: an address in the notification's prose that is not on the
/// sender's side (see `Bounce::sender_side`) or a mail system's service address. Notices that explain
/// a failure in sentences often name other addresses too (the site's address format, a directory
/// entry, a suggested alternative); the one the returned message was delivered to, as a trace field
/// of its copy says (`Received: … for <address>`, quoted or not), is preferred, else the first.
fn address_in_prose(bounce: &Bounce, notification: &str) -> Option<String> {
    let own = bounce.sender_side();
    let mut candidates = lines(notification).flat_map(|line| line.split_whitespace()).filter_map(|word| {
        let address = address::clean(word)?;
        let lower = address.to_ascii_lowercase();
        let service = ["postmaster@", "mailer-daemon@", "abuse@"].iter().any(|p| lower.starts_with(p));
        (!own.contains(&lower) && !service).then_some(address)
    });
    let first = candidates.next()?;
    let delivered_for =
        |address: &str| contains_ignore_case(&bounce.human, &format!("for <{}>", address.to_ascii_lowercase()));
    if delivered_for(&first) {
        return Some(first);
    }
    Some(candidates.find(|address| delivered_for(address)).unwrap_or(first))
}

/// What a recipient's provider is known to mean by any bounce it sends: Google Groups bounces
/// (in the poster's language) say that the group does not exist or does not accept the sender's
/// posts, which is a refusal of the sender.
fn provider_hint(address: &str) -> Option<Hint> {
    let domain = address.rsplit_once('@')?.1.to_ascii_lowercase();
    (domain == "googlegroups.com").then(|| Hint {
        reason: Reason::Rejected,
        kind: None,
        rule: "googlegroups.not_permitted",
        evidence: address.to_owned(),
        feedback_type: None,
    })
}

/// `X-Failed-Recipients` (Exim and others), comma-separated.
pub fn failed_recipients_header(bounce: &Bounce) -> Vec<String> {
    bounce.header("X-Failed-Recipients").map(|v| v.split(',').filter_map(address::clean).collect()).unwrap_or_default()
}

/// The text joined into one line, bounded.
pub fn compact(text: &str) -> String {
    let mut out = String::new();
    for line in lines(text) {
        append(&mut out, line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts_listed_alone_belong_to_the_mail_system_domain() {
        let text = "Sorry jo@example.com. Your mail to the following recipients could not be delivered:\n\tjane.doe\n\tbob_2\n\nMore text\n\tnot-listed\n";
        let blocks = listed_local_parts(text, Some("example.net"));
        let addresses: Vec<_> = blocks.iter().map(|b| b.address.as_str()).collect();
        assert_eq!(addresses, ["jane.doe@example.net", "bob_2@example.net"]);
        assert!(blocks[0].text.ends_with("could not be delivered:"));
        // Not under a line introducing recipients, not indented, or more than one word: no recipient.
        assert!(listed_local_parts("Hello:\n\tjane\n", Some("example.net")).is_empty());
        assert!(listed_local_parts("The following recipients failed:\njane\n", Some("example.net")).is_empty());
        assert!(listed_local_parts("The following recipients failed:\n\tjane doe\n", Some("example.net")).is_empty());
        assert!(listed_local_parts("The following recipients failed:\n\tjane\n", None).is_empty());
    }

    #[test]
    fn cuts_the_original_message() {
        let text =
            "Hi.\n<a@example.com>:\nfailed\n--- Below this line is a copy of the message.\n\nTo: b@example.com\n";
        assert_eq!(notification_text(text), "Hi.\n<a@example.com>:\nfailed\n");
    }

    #[test]
    fn pairs_each_address_with_its_text() {
        let text = "intro\n\n<a@example.com>: host x said:\n    550 no such user\n\n<b@example.com>: mailbox full\n";
        let blocks = recipient_blocks(text, &[]);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], Block { address: "a@example.com".into(), text: "host x said: 550 no such user".into() });
        assert_eq!(blocks[1].text, "mailbox full");
    }

    #[test]
    fn lead_in_phrases_name_the_address_inside_a_line() {
        let text =
            "Your mail sent on: today\n  Could not be delivered to: <a@example.com>\n  As their mailbox is full.\n";
        let blocks = recipient_blocks(text, &[]);
        assert_eq!(blocks.len(), 1);
        assert_eq!(
            blocks[0],
            Block {
                address: "a@example.com".into(),
                text: "Could not be delivered to: As their mailbox is full.".into()
            }
        );
        let zoho = "[Status: Error, Address: <b@example.com>, ResponseCode 421, , Host not reachable.]\n";
        assert_eq!(recipient_blocks(zoho, &[])[0].address, "b@example.com");
        assert!(recipient_blocks("Your message was delivered to c@example.com.\n", &[]).is_empty());
    }

    #[test]
    fn an_error_stated_before_a_bare_address_is_its_text() {
        let text = "------- Failure Reasons  --------\nUser not listed in public Name & Address Book\na@example.com\n";
        assert_eq!(recipient_blocks(text, &[])[0].text, "User not listed in public Name & Address Book");
        let japanese = "------- Failure Reasons  --------\nエラー(テスト)\na@example.jp\n";
        assert_eq!(recipient_blocks(japanese, &[])[0].text, "エラー(テスト)");
    }

    #[test]
    fn transcripts_keep_the_failing_reply_and_skip_the_sender() {
        let text = " In:  MAIL\n     FROM:<s@example.org>\n Out: 250 2.1.0 Ok\n In:  RCPT TO:<a@example.com>\n Out: 250 2.1.5 Ok\n In:  DATA\n Out: 451 4.3.0 Error: queue file write error\n";
        let blocks = recipient_blocks(text, &[]);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].address, "a@example.com");
        assert_eq!(blocks[0].text, "In:  DATA Out: 451 4.3.0 Error: queue file write error");
    }

    #[test]
    fn a_quoted_to_header_is_not_a_recipient_when_others_are_listed() {
        let text = "Your message\n  To:      a@example.net\n  Subject: Hello\n\ndid not reach the following recipient(s):\n\nb@example.jp on today\n    The recipient name is not recognized\n";
        let blocks = recipient_blocks(text, &[]);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].address, "b@example.jp");
        assert_eq!(recipient_blocks("To: a@example.net\n", &[])[0].address, "a@example.net");
    }

    #[test]
    fn a_sendmail_session_explains_the_recipient_summarised_after_it() {
        let text = "While talking to mx.example.org:\n>>> MAIL From:<s@example.jp>\n\
<<< 501 <s@example.jp>... no access from mail server [192.0.2.55] which is an open relay.\n\
554 <a@example.org>... Remote protocol error\n550 example.net (smtp)... 550 Host unknown\n\
554 <b@example.net>... 550 Host unknown (Authoritative answer from name server)\n";
        let own = ["s@example.jp".to_owned()];
        let blocks = recipient_blocks(text, &own);
        assert_eq!(blocks.len(), 2);
        assert!(
            blocks[0].text.contains("open relay") && !blocks[0].text.contains("Host unknown"),
            "{}",
            blocks[0].text
        );
        assert!(blocks[1].text.starts_with("550 example.net (smtp)"), "{}", blocks[1].text);
    }

    #[test]
    fn copied_headers_end_the_notification() {
        let text = "Host not reachable.\nReceived:from mx.example.com by mx2.example.com\nMessage-ID:<x@example.com>\n";
        assert_eq!(notification_text(text), "Host not reachable.\n");
        assert!(recipient_blocks(text, &[]).is_empty());
    }

    #[test]
    fn an_expanded_alias_names_the_address_mailed() {
        assert_eq!(expanded_from("(expanded from: zz@example.nl)").as_deref(), Some("zz@example.nl"));
        assert_eq!(
            expanded_from("(expanded from <kb@example.fi>): temporary failure").as_deref(),
            Some("kb@example.fi")
        );
        assert_eq!(expanded_from("host said: 550 unknown"), None);
    }

    #[test]
    fn an_x400_address_names_its_internet_address() {
        let text = "did not reach the following recipient(s):\n\nc=US;a= ;p=Org;o=Site;dda:SMTP=jane@example.com; on \
Fri, 4 Oct 2002\n    The recipient name is not recognized\n";
        let blocks = recipient_blocks(text, &[]);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].address, "jane@example.com");
        assert!(blocks[0].text.ends_with("The recipient name is not recognized"), "{}", blocks[0].text);
    }

    #[test]
    fn addresses_inside_sentences_are_not_anchors() {
        assert!(recipient_blocks("Please contact postmaster@example.com for help.\n", &[]).is_empty());
    }
}
