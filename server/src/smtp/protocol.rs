//! The SMTP conversation of the bounce mailbox as a pure state machine: a command line in, the
//! reply (and what the connection does next) out. No I/O, so every sequence of commands can be
//! tested, and fed arbitrary bytes, without a socket.
//!
//! What it accepts (RFC 5321, with the ESMTP `SIZE`, `8BITMIME` and `ENHANCEDSTATUSCODES`
//! extensions): mail for the configured domains only, and there only for the return-path mailbox
//! (`bounces`, or `bounces+USER=HOST` as VERP encodes a recipient) and `postmaster`/`abuse`; any
//! other local part is refused at RCPT, which keeps spam and backscatter for addresses Rebound never
//! used out. A message with the null return path (a DSN or an auto-reply, which is sent to one
//! address) takes one recipient.

use super::verp;

/// Longest command line read (RFC 5321 allows 512 octets; extensions make it longer).
pub const MAX_COMMAND_LINE: usize = 2_048;
/// Most recipients of one message with a return path.
const MAX_RECIPIENTS: usize = 100;

/// What the mailbox is configured to accept.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The name in the greeting and in `EHLO`.
    pub hostname: String,
    /// Domains mail is accepted for, lower-case.
    pub domains: Vec<String>,
    /// The return-path local part (`bounces`): `bounces@D` and `bounces+USER=HOST@D`.
    pub local: String,
    /// Largest message accepted, in bytes.
    pub max_message: usize,
}

/// A recipient accepted at RCPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    /// The address VERP encodes in it, if any.
    pub decoded: Option<String>,
}

/// A message's envelope, once `DATA` is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The return path; empty for the null path `<>`.
    pub sender: String,
    pub recipients: Vec<Recipient>,
}

/// What the connection does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send the reply and read the next command.
    Reply(String),
    /// Send the reply, then read the message (up to the line with a single dot).
    Data(String, Envelope),
    /// Send the reply, then start TLS.
    StartTls(String),
    /// Send the reply and close the connection.
    Close(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Before `HELO`/`EHLO`.
    Greeted,
    /// After `HELO`/`EHLO`, no transaction.
    Ready,
    /// After `MAIL`.
    Mail { sender: String, recipients: Vec<Recipient> },
}

/// One SMTP session.
#[derive(Debug, Clone)]
pub struct Session {
    rules: std::sync::Arc<Rules>,
    /// STARTTLS is offered (a certificate is configured).
    offers_tls: bool,
    phase: Phase,
    /// TLS is on (after a successful STARTTLS): it is not offered again.
    secure: bool,
}

fn reply(text: &str) -> Next {
    Next::Reply(format!("{text}\r\n"))
}

impl Session {
    pub fn new(rules: std::sync::Arc<Rules>, offers_tls: bool) -> Self {
        Self { rules, offers_tls, phase: Phase::Greeted, secure: false }
    }

    /// Largest message accepted, in bytes.
    pub fn max_message(&self) -> usize {
        self.rules.max_message
    }

    /// The greeting sent when a client connects.
    pub fn greeting(&self) -> String {
        format!("220 {} Rebound bounce mailbox ESMTP\r\n", self.rules.hostname)
    }

    /// After STARTTLS the session starts again, as RFC 3207 says: the client greets anew.
    pub fn tls_started(&mut self) {
        self.secure = true;
        self.phase = Phase::Greeted;
    }

    /// A message was read (or refused): the transaction is over.
    pub fn message_done(&mut self) {
        if self.phase != Phase::Greeted {
            self.phase = Phase::Ready;
        }
    }

    /// Answers one command line (without its CRLF). `may_send` says whether the client's address
    /// may start another message now (its rate limit), asked at `MAIL`.
    pub fn command(&mut self, line: &[u8], may_send: impl FnOnce() -> bool) -> Next {
        let Ok(line) = std::str::from_utf8(line) else {
            return reply("500 5.5.2 Command line is not UTF-8");
        };
        let (verb, argument) = match line.split_once(' ') {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (line.trim(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "HELO" | "EHLO" if argument.is_empty() => reply("501 5.5.4 Say who you are"),
            "HELO" => {
                self.phase = Phase::Ready;
                reply(&format!("250 {}", self.rules.hostname))
            }
            "EHLO" => {
                self.phase = Phase::Ready;
                let tls = if self.offers_tls && !self.secure { "250-STARTTLS\r\n" } else { "" };
                Next::Reply(format!(
                    "250-{}\r\n250-SIZE {}\r\n250-8BITMIME\r\n{tls}250 ENHANCEDSTATUSCODES\r\n",
                    self.rules.hostname, self.rules.max_message
                ))
            }
            "STARTTLS" if !self.offers_tls || self.secure => reply("454 4.7.0 TLS not available"),
            "STARTTLS" if !argument.is_empty() => reply("501 5.5.4 STARTTLS takes no argument"),
            "STARTTLS" => Next::StartTls("220 2.0.0 Ready to start TLS\r\n".to_owned()),
            "MAIL" => self.mail(argument, may_send),
            "RCPT" => self.rcpt(argument),
            "DATA" => self.data(argument),
            "RSET" => {
                self.message_done();
                reply("250 2.0.0 OK")
            }
            "NOOP" => reply("250 2.0.0 OK"),
            "QUIT" => Next::Close(format!("221 2.0.0 {} closing\r\n", self.rules.hostname)),
            "VRFY" => reply("252 2.5.2 Cannot verify, send the message"),
            "HELP" => reply("214 2.0.0 This server accepts bounces, reports and replies for its domains"),
            "AUTH" | "EXPN" | "TURN" | "ETRN" | "BDAT" => reply("502 5.5.1 Command not implemented"),
            _ => reply("500 5.5.2 Command unrecognized"),
        }
    }

    fn mail(&mut self, argument: &str, may_send: impl FnOnce() -> bool) -> Next {
        match self.phase {
            Phase::Greeted => return reply("503 5.5.1 Send HELO or EHLO first"),
            Phase::Mail { .. } => return reply("503 5.5.1 Nested MAIL command"),
            Phase::Ready => {}
        }
        let Some((path, parameters)) = path_argument(argument, "FROM:") else {
            return reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        if !path.is_empty() && !plausible_address(path) {
            return reply("553 5.1.7 The return path is not an address");
        }
        for parameter in parameters.split_ascii_whitespace() {
            let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            match name.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.rules.max_message as u64 => {
                        return reply(&format!(
                            "552 5.3.4 Message too big: this server accepts {} bytes",
                            self.rules.max_message
                        ));
                    }
                    Ok(_) => {}
                    Err(_) => return reply("501 5.5.4 SIZE takes a number"),
                },
                "BODY" if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {}
                _ => return reply(&format!("555 5.5.4 Unsupported parameter {name}")),
            }
        }
        if !may_send() {
            return reply("421 4.7.0 Too many messages from your address: try again later");
        }
        self.phase = Phase::Mail { sender: path.to_owned(), recipients: Vec::new() };
        reply("250 2.1.0 OK")
    }

    fn rcpt(&mut self, argument: &str) -> Next {
        let Phase::Mail { sender, recipients } = &mut self.phase else {
            return reply("503 5.5.1 Send MAIL first");
        };
        let Some((path, _)) = path_argument(argument, "TO:") else {
            return reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        let Some((local, domain)) = path.rsplit_once('@').filter(|_| plausible_address(path)) else {
            return reply("501 5.1.3 The recipient is not an address");
        };
        if !self.rules.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return reply("550 5.7.1 Relaying denied: this server accepts mail only for its own domains");
        }
        let mailbox = local.to_ascii_lowercase();
        let decoded = verp::decode(local, &self.rules.local);
        let known = decoded.is_some()
            || mailbox == self.rules.local.to_ascii_lowercase()
            || mailbox == "postmaster"
            || mailbox == "abuse";
        if !known {
            return reply("550 5.1.1 No such mailbox here");
        }
        if sender.is_empty() && !recipients.is_empty() {
            return reply("452 4.5.3 A message with the null return path goes to one recipient");
        }
        if recipients.len() >= MAX_RECIPIENTS {
            return reply("452 4.5.3 Too many recipients");
        }
        recipients.push(Recipient { address: path.to_owned(), decoded });
        reply("250 2.1.5 OK")
    }

    fn data(&mut self, argument: &str) -> Next {
        if !argument.is_empty() {
            return reply("501 5.5.4 DATA takes no argument");
        }
        match &self.phase {
            Phase::Mail { recipients, .. } if recipients.is_empty() => reply("554 5.5.1 No valid recipients"),
            Phase::Mail { sender, recipients } => Next::Data(
                "354 End data with <CR><LF>.<CR><LF>\r\n".to_owned(),
                Envelope { sender: sender.clone(), recipients: recipients.clone() },
            ),
            _ => reply("503 5.5.1 Send MAIL and RCPT first"),
        }
    }
}

/// Reads `FROM:<path> parameters` (the keyword case-insensitive, a space after the colon
/// tolerated): the path without its angle brackets, and what follows it.
fn path_argument<'a>(argument: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((&rest[..end], rest[end + 1..].trim()))
}

/// An address as an SMTP path carries it: one `@` with something on each side, no spaces or
/// control characters, at most 254 octets.
fn plausible_address(path: &str) -> bool {
    let ok_chars = !path.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    let one_at = path.matches('@').count() == 1 && path.split('@').all(|part| !part.is_empty());
    ok_chars && one_at && path.len() <= 254
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn session_with(offers_tls: bool) -> Session {
        let rules = Rules {
            hostname: "mx.bounce.test".into(),
            domains: vec!["bounce.sender.example".into()],
            local: "bounces".into(),
            max_message: 1_000,
        };
        Session::new(Arc::new(rules), offers_tls)
    }

    fn session() -> Session {
        session_with(false)
    }

    fn text(next: &Next) -> &str {
        match next {
            Next::Reply(text) | Next::Data(text, _) | Next::StartTls(text) | Next::Close(text) => text,
        }
    }

    fn code(next: &Next) -> &str {
        &text(next)[..3]
    }

    fn say(s: &mut Session, line: &str) -> Next {
        s.command(line.as_bytes(), || true)
    }

    #[test]
    fn a_dsn_to_a_verp_address_is_accepted_with_its_decoded_recipient() {
        let mut s = session();
        assert_eq!(code(&say(&mut s, "EHLO mta.example.net")), "250");
        assert_eq!(code(&say(&mut s, "MAIL FROM:<> SIZE=500")), "250");
        assert_eq!(code(&say(&mut s, "RCPT TO:<bounces+alice=example.com@Bounce.Sender.Example>")), "250");
        assert_eq!(code(&say(&mut s, "RCPT TO:<bounces+bob=example.com@bounce.sender.example>")), "452");
        match say(&mut s, "DATA") {
            Next::Data(_, envelope) => {
                assert_eq!(envelope.sender, "");
                assert_eq!(envelope.recipients.len(), 1);
                assert_eq!(envelope.recipients[0].decoded.as_deref(), Some("alice@example.com"));
            }
            other => panic!("{other:?}"),
        }
        s.message_done();
        assert_eq!(code(&say(&mut s, "MAIL FROM:<fbl@isp.example>")), "250");
    }

    #[test]
    fn other_domains_and_mailboxes_are_refused_at_rcpt() {
        let mut s = session();
        say(&mut s, "HELO a");
        say(&mut s, "MAIL FROM:<sender@example.net>");
        assert_eq!(code(&say(&mut s, "RCPT TO:<someone@elsewhere.example>")), "550");
        assert_eq!(code(&say(&mut s, "RCPT TO:<random@bounce.sender.example>")), "550");
        assert_eq!(code(&say(&mut s, "DATA")), "554");
        assert_eq!(code(&say(&mut s, "RCPT TO:<postmaster@bounce.sender.example>")), "250");
        assert_eq!(code(&say(&mut s, "RCPT TO:<bounces@bounce.sender.example>")), "250");
        assert_eq!(code(&say(&mut s, "DATA")), "354");
    }

    #[test]
    fn order_size_and_rate_are_enforced() {
        let mut s = session();
        assert_eq!(code(&say(&mut s, "MAIL FROM:<>")), "503");
        assert_eq!(code(&say(&mut s, "RCPT TO:<bounces@bounce.sender.example>")), "503");
        say(&mut s, "EHLO a");
        assert_eq!(code(&say(&mut s, "MAIL FROM:<> SIZE=5000")), "552");
        assert_eq!(code(&s.command(b"MAIL FROM:<>", || false)), "421");
        assert_eq!(code(&say(&mut s, "MAIL FROM:<a@b@c>")), "553");
        assert_eq!(code(&say(&mut s, "MAIL FROM:<> FOO=1")), "555");
        assert_eq!(code(&say(&mut s, "MAIL FROM <>")), "501");
        assert_eq!(code(&say(&mut s, "STARTTLS")), "454");
        assert_eq!(code(&say(&mut s, "QUIT")), "221");
    }

    #[test]
    fn starttls_is_offered_once_and_the_client_greets_again_under_it() {
        let mut s = session_with(true);
        assert!(text(&say(&mut s, "EHLO a")).contains("250-STARTTLS"));
        assert_eq!(code(&say(&mut s, "STARTTLS extra")), "501");
        assert!(matches!(say(&mut s, "STARTTLS"), Next::StartTls(_)));
        s.tls_started();
        assert_eq!(code(&say(&mut s, "MAIL FROM:<>")), "503", "a new EHLO comes first under TLS");
        assert!(!text(&say(&mut s, "EHLO a")).contains("STARTTLS"));
        assert_eq!(code(&say(&mut s, "STARTTLS")), "454");
        assert!(!text(&say(&mut session(), "EHLO a")).contains("STARTTLS"), "no certificate, no STARTTLS");
    }

    #[test]
    fn any_line_gets_a_well_formed_reply() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let verbs = ["EHLO", "HELO", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "STARTTLS", "", "QUIT"];
        let mut s = session_with(true);
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let verb = verbs[(state % verbs.len() as u64) as usize];
            let tail: Vec<u8> = (0..(state >> 8) % 40).map(|i| (state >> (i % 56)) as u8).collect();
            let mut line = verb.as_bytes().to_vec();
            line.extend(tail);
            let next = s.command(&line, || !state.is_multiple_of(3));
            let answer = text(&next);
            assert!(answer.ends_with("\r\n") && answer.len() > 4, "{answer:?}");
            assert!(answer.as_bytes()[..3].iter().all(u8::is_ascii_digit), "{answer:?}");
            match next {
                Next::Data(..) => s.message_done(),
                Next::StartTls(_) => s.tls_started(),
                _ => {}
            }
        }
    }
}
