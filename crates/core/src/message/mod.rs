//! Reading a whole bounce email: finds the parts that matter with a MIME parser (`mail-parser`),
//! then hands them to the decoder that fits — an ARF feedback report (RFC 5965), an RFC 3464
//! delivery-status report, the free-text formats of MTAs that send no DSN, or an auto-reply
//! (RFC 3834) — which produce one `Report` per recipient for the classifier to judge.

pub(crate) mod address;
mod arf;
mod autoreply;
mod dsn;
mod fields;
pub(crate) mod ses;
mod text;

use std::cell::OnceCell;
use std::sync::OnceLock;

use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};

use crate::ascii::{contains_ignore_case, lines, lines_inclusive, starts_with_any};
use crate::report::Report;
use crate::{Classifier, Reason, Verdict};

/// The parts of a bounce a decoder may need, decoded to text.
#[derive(Debug, Default)]
pub(crate) struct Bounce {
    pub subject: String,
    pub from: Option<String>,
    /// Raw values of the top-level headers that decoders read (`READ_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// Whether a content-filtering gateway issued the bounce (see `FILTER_MARKS`).
    pub via_filter: bool,
    /// The human-readable notification: the text parts before any attached original message.
    pub human: String,
    /// The `message/delivery-status` part, if any.
    pub delivery_status: Option<String>,
    /// The `message/feedback-report` part, if any.
    pub feedback_report: Option<String>,
    /// The headers of the attached original message (from `message/rfc822` or
    /// `text/rfc822-headers`).
    pub original_headers: Option<String>,
    pub report_type: Option<String>,
    /// The returned message's headers as far as the decoders need them, read on first use.
    original: OnceCell<Original>,
}

/// The returned message's headers as the decoders use them (see `Bounce::original`).
#[derive(Debug, Default)]
struct Original {
    /// Its first `To:` address.
    to: Option<String>,
    /// It is a mailing list's post (RFC 2369/2919 headers, Mailman's and ezmlm's own, `Precedence:
    /// list`). `Precedence: bulk` is not one: every bulk sender's campaign carries it, and its
    /// `To:` is the subscriber.
    list_post: bool,
    /// See `Bounce::sender_side`.
    sender_side: Vec<String>,
}

impl Original {
    /// The field names read, in one pass: those whose addresses are on the sender's side first,
    /// then the list's own, then the rest.
    const NAMES: [&'static str; 13] = [
        "from",
        "sender",
        "return-path",
        "reply-to",
        "errors-to",
        "list-post",
        "x-beenthere",
        "to",
        "cc",
        "list-id",
        "x-mailman-version",
        "mailing-list",
        "precedence",
    ];
    const SENDER_SIDE: usize = 7;
    const LIST_ADDRESSES: usize = 9;
    const TO: usize = 7;

    fn read(bounce: &Bounce) -> Self {
        const OWN_HEADERS: [&str; 7] =
            ["From", "To", "Reply-To", "List-Subscribe", "List-Unsubscribe", "List-Help", "List-Owner"];
        let mut sender_side: Vec<String> = OWN_HEADERS
            .iter()
            .filter_map(|h| bounce.header(h))
            .flat_map(|v| v.split(['?', ',']))
            .filter_map(|v| address::first_in(v).map(|(a, _)| a.to_ascii_lowercase()))
            .collect();
        let fields = bounce.original_headers.as_deref().map(|h| fields::select(h, &Self::NAMES)).unwrap_or_default();
        let named = |index: usize| fields.iter().filter(move |(i, _)| *i == index).map(|(_, v)| v.as_str());
        let list_post = fields.iter().any(|(i, v)| match Self::NAMES[*i] {
            "list-post" | "x-beenthere" | "list-id" | "x-mailman-version" | "mailing-list" => true,
            "precedence" => v.trim().eq_ignore_ascii_case("list"),
            _ => false,
        });
        let addresses = |value: &str| -> Vec<String> {
            value.split(',').filter_map(|v| address::first_in(v).map(|(a, _)| a.to_ascii_lowercase())).collect()
        };
        let side_names = if list_post { Self::LIST_ADDRESSES } else { Self::SENDER_SIDE };
        for (_, value) in fields.iter().filter(|(i, _)| *i < side_names) {
            sender_side.extend(addresses(value));
        }
        let to = named(Self::TO).next().and_then(|v| address::first_in(v).map(|(a, _)| a));
        Self { to, list_post, sender_side }
    }
}

impl Bounce {
    /// Reads a raw email. Never fails: what cannot be parsed as MIME is taken as plain text.
    pub fn read(raw: &[u8]) -> Self {
        let parsed = parser().parse(raw);
        let mut bounce = match &parsed {
            Some(message) => Self::from_message(message),
            None => Self { human: String::from_utf8_lossy(raw).into_owned(), ..Self::default() },
        };
        if bounce.human.trim().is_empty() {
            bounce.human = raw_body(raw);
            bounce.recover_embedded_reports();
        }
        let boundary = parsed.as_ref().and_then(|m| m.content_type()).and_then(|c| c.attribute("boundary"));
        bounce.collect_concatenated_reports(raw, boundary);
        bounce
    }

    fn from_message(message: &Message<'_>) -> Self {
        let mut bounce = Bounce {
            subject: message.subject().unwrap_or_default().to_owned(),
            from: message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_owned),
            headers: message
                .headers_raw()
                .filter(|(name, _)| READ_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)))
                .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
                .collect(),
            report_type: message.content_type().and_then(|c| c.attribute("report-type")).map(str::to_ascii_lowercase),
            via_filter: message.headers_raw().any(|(name, value)| is_filter_mark(name, value)),
            ..Self::default()
        };
        let mut seen_original = false;
        for part in &message.parts {
            let (ctype, subtype) = match part.content_type() {
                Some(c) => (c.ctype().to_ascii_lowercase(), c.subtype().unwrap_or_default().to_ascii_lowercase()),
                None => ("text".to_owned(), "plain".to_owned()),
            };
            match (ctype.as_str(), subtype.as_str(), &part.body) {
                (_, _, PartType::Multipart(_)) => {}
                ("message", "delivery-status" | "global-delivery-status", _) => {
                    bounce.delivery_status.get_or_insert_with(|| lossy(part.contents()));
                }
                ("message", "feedback-report", _) => {
                    bounce.feedback_report.get_or_insert_with(|| lossy(part.contents()));
                }
                (_, _, PartType::Message(original)) => {
                    seen_original = true;
                    bounce.original_headers.get_or_insert_with(|| header_block(original.raw_message()));
                }
                ("text", "rfc822-headers" | "global-headers", _) => {
                    seen_original = true;
                    bounce.original_headers.get_or_insert_with(|| lossy(part.contents()));
                }
                ("text", "plain", PartType::Text(text)) if !seen_original => push_text(&mut bounce.human, text),
                ("multipart", _, PartType::Text(text)) => push_text(&mut bounce.human, text),
                ("text", "html", PartType::Html(html)) if !seen_original && bounce.human.is_empty() => {
                    push_text(&mut bounce.human, &strip_tags(html));
                }
                _ => {}
            }
        }
        if let Some(unquoted) = unquote(&bounce.human) {
            bounce.human = unquoted;
        }
        bounce.recover_embedded_reports();
        bounce
    }

    /// Several delivery reports glued into one file (an mbox excerpt, a forwarded batch) hide all
    /// but the first from the MIME parser; when the raw text holds more than one delivery-status
    /// section, all of them are read. A section before the end of the first message's MIME body
    /// (its closing `--boundary--`) belongs to it: a bounce returned inside the bounce, not
    /// another report.
    fn collect_concatenated_reports(&mut self, raw: &[u8], boundary: Option<&str>) {
        let mut starts: Vec<usize> = section_starts(raw, Section::DeliveryStatus).collect();
        if starts.len() < 2 {
            return;
        }
        let first_end = boundary.and_then(|b| {
            let closing = format!("--{b}--");
            raw.windows(closing.len()).position(|w| w == closing.as_bytes())
        });
        if let (Some(end), Some(&first)) = (first_end, starts.first()) {
            starts.retain(|&at| at == first || at > end);
        }
        if starts.len() < 2 {
            return;
        }
        let text = String::from_utf8_lossy(raw);
        let sections: Vec<String> = starts
            .iter()
            .filter_map(|&at| text.get(at..).and_then(|rest| embedded_section(rest, Section::DeliveryStatus)))
            .collect();
        self.delivery_status = Some(sections.join("\n\n"));
    }

    /// Finds report sections that the MIME structure did not deliver as parts — a boundary that
    /// does not match the one declared, or a report pasted into plain text — by their
    /// `Content-Type` line or their first fields.
    fn recover_embedded_reports(&mut self) {
        if self.delivery_status.is_none() {
            self.delivery_status = embedded_section(&self.human, Section::DeliveryStatus)
                .or_else(|| embedded_fields(&self.human, &["final-recipient:", "original-recipient:"]));
        }
        if self.original_headers.is_none() {
            self.original_headers = text::appended_original(&self.human).map(str::to_owned);
        }
        if self.feedback_report.is_none() {
            self.feedback_report = embedded_section(&self.human, Section::FeedbackReport)
                .or_else(|| embedded_fields(&self.human, &["feedback-type:"]));
        }
    }

    /// The recipient of the attached original message, the best guess when a bounce does not say
    /// which address failed: its first `To:` address, unless the message was a mailing list's post
    /// (whose `To:` is the list itself), when only the envelope recipient that a receiving system
    /// wrote into a `Received: ... for <address>` line can name the subscriber.
    pub fn original_recipient(&self) -> Option<String> {
        let original = self.original();
        if !original.list_post {
            return original.to.clone();
        }
        let own = self.sender_side();
        let headers = self.original_headers.as_deref()?;
        fields::select(headers, &["received"]).into_iter().find_map(|(_, value)| {
            let at = value.to_ascii_lowercase().find("for <")?;
            let (address, _) = address::first_in(&value[at + 4..])?;
            (!own.contains(&address.to_ascii_lowercase())).then_some(address)
        })
    }

    /// Addresses on the sender's side of a report, lower-cased: the bounce's own sender,
    /// addressee and reply and list service addresses, and the returned message's author, sender,
    /// return path, reply and error addresses and, for a mailing list's post, the list's addresses
    /// (its `To:` and `Cc:`, and the `List-Post`/`X-BeenThere` address). A recipient is never taken
    /// from them by a guess: only a notice that names one of them as the failed address (a test
    /// message sent to oneself) makes it a recipient.
    pub fn sender_side(&self) -> &[String] {
        &self.original().sender_side
    }

    /// What the returned message's headers say about who is on which side, read once.
    fn original(&self) -> &Original {
        self.original.get_or_init(|| Original::read(self))
    }

    /// Whether the message comes from a mail system (`MAILER-DAEMON`, `postmaster`, "Mail Delivery
    /// System") rather than from a person.
    pub fn sent_by_mail_system(&self) -> bool {
        let from = self.header("From").unwrap_or_default();
        ["mailer-daemon", "postmaster", "mail delivery", "mail-daemon"].iter().any(|m| contains_ignore_case(from, m))
    }

    /// The domain of the mail-system address the notice comes from (`MAILER-DAEMON@example.com`).
    pub fn mail_system_domain(&self) -> Option<&str> {
        if !self.sent_by_mail_system() {
            return None;
        }
        let from = self.header("From")?;
        let (_, end) = address::first_in(from)?;
        let start = from[..end].rfind('@')? + 1;
        let domain = from[start..end].trim_end_matches(['>', '.']);
        domain.contains('.').then_some(domain)
    }

    /// The notice as the classifier reads it, with `text` its human-readable part.
    pub fn notice<'b>(&'b self, text: &'b str) -> crate::Notice<'b> {
        crate::Notice {
            subject: &self.subject,
            text,
            from_mail_system: self.delivery_status.is_some() || self.sent_by_mail_system(),
        }
    }

    /// A top-level header's raw value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The top-level headers that decoders read; the rest are not copied.
const READ_HEADERS: &[&str] = &[
    "From",
    "To",
    "Reply-To",
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "Precedence",
    "X-Failed-Recipients",
    "X-Apple-Unsubscribe",
    "List-Subscribe",
    "List-Unsubscribe",
    "List-Help",
    "List-Owner",
];

/// Whether a header is a mark that a content-filtering gateway leaves (`FILTER_MARKS`). Every
/// header is read where it lies in the raw message, `Received` lines included, without a copy.
fn is_filter_mark(name: &str, value: &str) -> bool {
    FILTER_MARKS.iter().any(|(mark, needle)| {
        name.eq_ignore_ascii_case(mark) && (needle.is_empty() || contains_ignore_case(value, needle))
    })
}

/// Headers (and a value fragment, empty for any value) that content-filtering gateways leave.
const FILTER_MARKS: &[(&str, &str)] = &[
    ("X-NAI-Header", ""),
    ("X-Mailer", "m-filter"),
    ("X-Mailer", "surfcontrol"),
    ("X-AHMAILID", ""),
    ("From", "mxlogic.net"),
    ("X-MXL-Hash", ""),
    ("X-Barracuda-Envelope-From", ""),
    // MailFoundry's appliance names itself in the `Received` line it adds.
    ("Received", "(mailfoundry)"),
];

/// Everything after the top-level headers, as text: the notification of last resort when broken
/// MIME structure (a boundary parameter on an unfolded line, say) leaves no readable text part.
fn raw_body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let start = text.find("\n\n").or_else(|| text.find("\r\n\r\n")).map_or(0, |i| i + 2);
    text[start..].to_owned()
}

/// A bounce forwarded as a quotation (`> ` before most lines) with the quotation marks removed;
/// `None` when the text is not quoted.
fn unquote(text: &str) -> Option<String> {
    let (mut written, mut quoted) = (0, 0);
    for line in lines(text).filter(|l| !l.trim().is_empty()) {
        written += 1;
        quoted += usize::from(line.starts_with('>'));
    }
    if written < 4 || quoted * 10 < written * 6 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for line in lines(text) {
        let line = line.strip_prefix("> ").or_else(|| line.strip_prefix('>')).unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

/// The report sections looked for in raw text by their `Content-Type` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    DeliveryStatus,
    FeedbackReport,
}

/// Where `Content-Type: message/...` lines of one section type start (ASCII case-insensitive),
/// in order. Candidates are the `/` bytes that a vectorised `memchr` finds, rare in a mail (paths,
/// URLs, MIME types), each compared in place with the marker that would put its `/` there: a
/// fraction of an instruction per byte, where an automaton walk costs a dozen or more, and where
/// looking for the marker's first letter stopped at every `c` of the text. The marker cannot
/// overlap itself, so every occurrence is a separate one.
fn section_starts(text: &[u8], section: Section) -> impl Iterator<Item = usize> + '_ {
    let marker: &'static [u8] = match section {
        Section::DeliveryStatus => b"content-type: message/delivery-status",
        Section::FeedbackReport => b"content-type: message/feedback-report",
    };
    let slash = "content-type: message".len();
    memchr::memchr_iter(b'/', text).filter_map(move |at| {
        let start = at.checked_sub(slash)?;
        text.get(start..start + marker.len()).is_some_and(|w| w.eq_ignore_ascii_case(marker)).then_some(start)
    })
}

/// The body of an embedded MIME section of the given type: from the blank line after its
/// `Content-Type` line to the next boundary line (`--...`).
fn embedded_section(text: &str, section: Section) -> Option<String> {
    let at = section_starts(text.as_bytes(), section).next()?;
    let after = &text[at..];
    let body_start = after.find("\n\n").or_else(|| after.find("\r\n\r\n"))?;
    Some(until_boundary(after[body_start..].trim_start_matches(['\r', '\n'])).to_owned())
}

/// Report fields pasted into plain text: from the first line starting with one of `starts` (in
/// lower case, matched in any case) to the next boundary-like line.
fn embedded_fields(text: &str, starts: &[&str]) -> Option<String> {
    if !starts.iter().any(|s| contains_ignore_case(text, s)) {
        return None;
    }
    let mut offset = 0;
    for line in lines_inclusive(text) {
        if starts_with_any(line, starts) {
            return Some(until_boundary(&text[offset..]).to_owned());
        }
        offset += line.len();
    }
    None
}

/// The text up to the first line that starts with `--` (a MIME boundary).
fn until_boundary(text: &str) -> &str {
    let mut end = 0;
    for line in lines_inclusive(text) {
        if line.starts_with("--") {
            break;
        }
        end += line.len();
    }
    &text[..end]
}

/// The MIME parser, set to decode only the headers a verdict reads (MIME structure, Subject,
/// From); the rest, Received chains above all, are skipped: their place is kept, which is all
/// `headers_raw` reads, but no value is built.
fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .default_header_ignore()
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn push_text(human: &mut String, text: &str) {
    if !human.is_empty() {
        human.push('\n');
    }
    human.push_str(text);
}

/// The header section of a raw message (up to the first empty line). Only that section is
/// converted to text: the body of an attached original can be large and is never read here. An
/// invalid byte sequence never swallows a line break, so this is the header section of the whole
/// message converted.
fn header_block(raw: &[u8]) -> String {
    let end =
        memchr::memmem::find(raw, b"\n\n").or_else(|| memchr::memmem::find(raw, b"\r\n\r\n")).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Text of an HTML body, for bounces that have no plain-text part: tags dropped, block-level tags
/// turned into line breaks, the common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        if ["br", "/p", "p", "/div", "div", "/tr", "li", "/h"].iter().any(|t| tag.starts_with(t)) {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

impl Classifier {
    /// Classifies a whole bounce email, or provider webhook JSON (one event or a batch, see
    /// `events`): one verdict per bounced recipient or event, in the order the input lists them; at
    /// least one verdict (with no recipient) when none can be found.
    pub fn classify_message(&self, raw: &[u8]) -> Vec<Verdict> {
        if let Some(verdicts) = self.classify_events(raw) {
            return verdicts;
        }
        let (verdicts, _) = self.classify_one(raw);
        if verdicts.iter().any(is_decided) {
            return verdicts;
        }
        let Some((inner, inner_is_bounce)) = attached_message(raw).map(|inner| self.classify_one(&inner)) else {
            return verdicts;
        };
        let same_recipient =
            inner.iter().any(|i| verdicts.iter().any(|v| v.recipient.is_some() && v.recipient == i.recipient));
        if inner.iter().any(is_decided) && (inner_is_bounce || same_recipient) { inner } else { verdicts }
    }

    /// The verdicts of one message, and whether it is a bounce by its form (a delivery-status
    /// report, or a mail system's sender) rather than only by its words.
    fn classify_one(&self, raw: &[u8]) -> (Vec<Verdict>, bool) {
        let bounce = Bounce::read(raw);
        let is_bounce = bounce.delivery_status.is_some() || bounce.sent_by_mail_system();
        let reports = decode(&bounce);
        if reports.is_empty() {
            let diagnostic = text::notification_text(&bounce.human);
            let verdict =
                self.judge(&Report { diagnostic: diagnostic.into(), decoder: "unrecognised", ..Report::default() });
            return (vec![verdict], is_bounce);
        }
        (reports.iter().map(|report| self.judge(report)).collect(), is_bounce)
    }
}

/// Whether something in the text or the status code decided the verdict, rather than the
/// fallback that names the decoder (`on_hold` / `undefined`).
fn is_decided(verdict: &Verdict) -> bool {
    !matches!(verdict.reason, Reason::OnHold | Reason::Undefined)
}

/// The raw bytes of the message attached to a bounce. A notification that explains nothing may be
/// a gateway's cover note around the real bounce (a security appliance or a forwarder that
/// attaches the report it received), so the attachment is read in its place when it is a bounce
/// itself or speaks of the same recipient; an ordinary returned message is not. This parses the
/// message a second time, but only for bounces that nothing else could decide.
fn attached_message(raw: &[u8]) -> Option<Vec<u8>> {
    let message = parser().parse(raw)?;
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(inner) => Some(inner.raw_message().to_vec()),
        _ => None,
    })
}

/// Chooses the decoder for a bounce.
fn decode<'b>(bounce: &'b Bounce) -> Vec<Report<'b>> {
    if let Some(reports) = arf::decode(bounce) {
        return reports;
    }
    if let Some(reports) = ses::decode(&bounce.human).filter(|r| !r.is_empty()) {
        return reports;
    }
    if let Some(reports) = dsn::decode(bounce).filter(|r| !r.is_empty()) {
        return reports;
    }
    if let Some(report) = autoreply::decode(bounce) {
        return vec![report];
    }
    text::decode(bounce)
}

/// Classifies a whole bounce email with the built-in rules.
pub fn classify_message(raw: &[u8]) -> Vec<Verdict> {
    Classifier::builtin().classify_message(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cover_note_that_explains_nothing_yields_to_the_attached_bounce() {
        let raw = b"From: gateway@example.net\r\nTo: sender@example.org\r\nSubject: Undeliverable\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n\
Content-Type: text/plain\r\n\r\nThe following addresses had permanent delivery errors.\r\n\r\n--outer\r\n\
Content-Type: message/rfc822\r\n\r\nFrom: MAILER-DAEMON@mx.example.com\r\nTo: sender@example.org\r\n\
Subject: Returned mail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"inner\"\r\n\r\n\
--inner\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\r\n--inner\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; jane@example.com\r\nAction: failed\r\n\
Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--inner--\r\n\r\n--outer--\r\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("jane@example.com"));
        assert_eq!(verdicts[0].reason, Reason::UserUnknown);
    }

    #[test]
    fn a_filtering_gateway_named_in_any_received_line_doubts_a_user_unknown_but_not_its_address() {
        let raw = b"Received: from mx.example.net by mx.example.org (Postfix)\n\
Received: From localhost (127.0.0.1) by gw.example.org (MAILFOUNDRY) id 00ff\n\
From: MAILER-DAEMON@example.org\nTo: sender@example.org\nSubject: Message delivery has failed\n\n\
Unable to deliver message to: <jane@example.com>\n\
Server mx.example.com[192.0.2.2] failed with: 550 <jane@example.com> No such user here\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("jane@example.com"));
        // The doubt is the reason's; before the content was sent, the mailbox is still not there.
        assert_eq!((verdicts[0].reason, verdicts[0].kind), (Reason::Filtered, crate::Kind::Hard));
        let after_data = String::from_utf8_lossy(raw)
            .replace("No such user here", "No such user here (in reply to end of DATA command)");
        let verdicts = classify_message(after_data.as_bytes());
        assert_eq!((verdicts[0].reason, verdicts[0].kind), (Reason::Filtered, crate::Kind::Soft));
    }

    #[test]
    fn an_ordinary_returned_message_does_not_speak_for_the_bounce() {
        let raw = b"From: gateway@example.net\nTo: sender@example.org\nSubject: Undeliverable\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\nContent-Type: text/plain\n\n\
Could not be delivered to: <jane@example.com>\n\n--outer\nContent-Type: message/rfc822\n\n\
From: sender@example.org\nTo: list@example.com\nSubject: Newsletter\n\n\
Tips for the week:\nbob@example.com\n  your mailbox is full? Clean it up!\n\n--outer--\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("jane@example.com"));
        assert_eq!(verdicts[0].reason, Reason::OnHold);
    }

    #[test]
    fn a_notice_in_prose_names_the_address_its_quoted_copy_was_delivered_for() {
        let raw = b"From: postmaster@site.example\nTo: list-bounces@lists.example\nSubject: Failed mail\n\n\
Addresses here have the form first.last@site.example. Your message to jdoe@site.example matched none of them.\n\
Try the directory at help@directory.site.example.\n\n\
Original message as received:\n\
> Received: from mx.lists.example by mail.site.example; Mon, 7 Dec 2026 10:00:00 +0000\n\
>\tfor <jdoe@site.example>\n\
> Subject: News\n";
        let verdicts = classify_message(raw);
        let recipients: Vec<_> = verdicts.iter().map(|v| v.recipient.as_deref()).collect();
        assert_eq!(recipients, [Some("jdoe@site.example")]);
    }

    #[test]
    fn a_final_recipient_that_is_not_an_address_yields_to_x_failed_recipients() {
        let raw = b"From: Mailer-Daemon@mx.example.com\nTo: sender@example.org\nX-Failed-Recipients: jane@example.com\n\
Subject: Mail delivery failed\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nThe following address(es) failed:\n\n--b\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns; mx.example.com\n\nAction: failed\nFinal-Recipient: rfc822;/var/spool/mail/jane\nStatus: 5.0.0\n\n--b--\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("jane@example.com"));
    }

    #[test]
    fn a_status_comment_explains_and_a_bare_delay_is_expired() {
        let raw = b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.org\nSubject: Warning\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\nDelayed.\n\n\
--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
Final-Recipient: rfc822; a@example.net\nAction: delayed\nStatus: 4.0.0 (example.net: host name lookup failure)\n\n\
Final-Recipient: rfc822; b@example.net\nAction: delayed\nStatus: 4.4.0\n\n--b--\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].reason, Reason::NetworkError);
        assert_eq!(verdicts[1].reason, Reason::Expired);
        assert_eq!(verdicts[1].status.map(|s| s.to_string()).as_deref(), Some("4.4.0"));
    }

    #[test]
    fn a_transcript_tells_which_command_a_reply_answered() {
        let raw = b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.org\nSubject: Returned mail\n\n\
----- The following addresses had permanent fatal errors -----\n<a@example.net>\n\n\
----- Transcript of session follows -----\n>>> RCPT TO:<a@example.net>\n<<< 553 5.7.1 Invalid recipient a@example.net\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].reason, Reason::UserUnknown);
    }

    #[test]
    fn a_recipient_nothing_is_said_about_is_undefined_not_on_hold() {
        let raw =
            b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.org\nSubject: Delivery status notification\n\n\
This is an automatically generated Delivery Status Notification.\n\n\
Delivery to the following recipients failed permanently:\n\n   * a@example.net\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("a@example.net"));
        assert_eq!(verdicts[0].reason, Reason::Undefined);
    }

    #[test]
    fn a_report_inside_the_returned_message_is_not_another_report() {
        let raw = b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.org\nSubject: Returned mail\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=outer\n\n--outer\nContent-Type: text/plain\n\nSorry.\n\n\
--outer\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n--outer\nContent-Type: message/rfc822\n\n\
From: MAILER-DAEMON@other.example.com\nMIME-Version: 1.0\nContent-Type: multipart/report; boundary=inner\n\n--inner\n\
Content-Type: message/delivery-status\n\nReporting-MTA: dns; other.example.com\n\n\
Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.3.5\n\n--inner--\n\n--outer--\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("a@example.net"));
    }

    #[test]
    fn auto_replies_are_recognised_in_more_languages() {
        for subject in ["Automatisch antwoord: Hello", "Autosvar: Hello", "Fuori ufficio", "自动回复: Hello"] {
            let raw = format!("From: jane@example.com\nTo: sender@example.org\nSubject: {subject}\n\nI am away.\n");
            let verdicts = classify_message(raw.as_bytes());
            assert_eq!(verdicts[0].reason, Reason::Vacation, "{subject}");
            assert_eq!(verdicts[0].recipient.as_deref(), Some("jane@example.com"));
        }
    }

    #[test]
    fn mailing_list_service_addresses_are_not_recipients() {
        let raw = b"From: list-admin@example.org\nTo: sender@example.net\n\
List-Subscribe: <mailto:list-ctl@example.org?body=subscribe>\nSubject: You are not a member\n\n\
You are not a member of this mailing list <list@example.org>.\n\nSend a command to the address\n\n\tlist-ctl@example.org\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("list@example.org"));
        assert_eq!(verdicts[0].reason, Reason::Rejected);
    }

    #[test]
    fn a_final_notice_that_gives_no_cause_is_hard_and_a_delay_warning_soft() {
        let notice = |from: &str, subject: &str, body: &str| {
            format!("From: {from}\nTo: sender@example.org\nSubject: {subject}\n\n{body}\n")
        };
        let failed = notice(
            "MAILER-DAEMON@mx.example.net",
            "failure notice",
            "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your \
message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n\
<gone@example.com>:\n",
        );
        let v = &classify_message(failed.as_bytes())[0];
        assert_eq!((v.recipient.as_deref(), v.kind), (Some("gone@example.com"), crate::Kind::Hard));
        assert_eq!((v.rule.as_ref(), v.confidence), ("notice.failed_without_cause", crate::Confidence::Low));

        let person = failed.replace("MAILER-DAEMON@mx.example.net", "Jane <jane@example.net>");
        assert_eq!(classify_message(person.as_bytes())[0].kind, crate::Kind::Unknown, "not a mail system's notice");
        let hinted = failed.replace("Sorry it didn't work out.", "Your server is on our blocklist.");
        assert_ne!(classify_message(hinted.as_bytes())[0].kind, crate::Kind::Hard, "a hint of a block");
        let said = failed.replace("<gone@example.com>:\n", "<gone@example.com>:\nSomething odd happened\n");
        assert_eq!(classify_message(said.as_bytes())[0].kind, crate::Kind::Unknown, "a cause no rule reads");

        let delayed = notice(
            "Mail Delivery System <Mailer-Daemon@mx.example.net>",
            "Warning: message 1abc-000 delayed 24 hours",
            "A message that you sent has not yet been delivered to one or more of its\nrecipients after more \
than 24 hours on the queue.\n\nThe address to which the message has not yet been delivered is:\n\n\
  slow@example.com\n\nNo action is required on your part. Delivery attempts will continue for\nsome time.\n",
        );
        let v = &classify_message(delayed.as_bytes())[0];
        assert_eq!(
            (v.recipient.as_deref(), v.kind, v.reason),
            (Some("slow@example.com"), crate::Kind::Soft, Reason::Expired)
        );
    }

    #[test]
    fn a_list_posts_own_addresses_are_never_its_bounced_recipient() {
        let raw = b"From: MAILER-DAEMON@mx.example.net\nTo: list-bounces@lists.example.org\n\
Subject: Undeliverable mail\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Type: text/plain\n\nYour message to list@lists.example.org could not be delivered.\n\n--b\n\
Content-Type: message/rfc822\n\nReceived: from lists.example.org by mx.example.net\n\
\tfor <subscriber@example.net>; Mon, 7 Dec 2026 03:00:00 +0000\nFrom: author@example.com\n\
To: list@lists.example.org\nList-Id: <list.lists.example.org>\nSubject: Hello\n\nHello\n--b--\n";
        let verdicts = classify_message(raw);
        assert_eq!(verdicts[0].recipient.as_deref(), Some("subscriber@example.net"));
        let bulk = String::from_utf8_lossy(raw).replace("List-Id: <list.lists.example.org>", "Precedence: bulk");
        let bulk = bulk.replace("Your message to list@lists.example.org could not", "Your message could not");
        assert_eq!(
            classify_message(bulk.as_bytes())[0].recipient.as_deref(),
            Some("list@lists.example.org"),
            "a campaign's To: is its subscriber"
        );
    }
}
