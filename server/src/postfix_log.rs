//! Postfix's mail log, read line by line into the delivery outcomes it records.
//!
//! A delivery agent (`smtp`, `lmtp`, `local`, `virtual`, `pipe`…) logs one line per recipient and
//! attempt, as its `log_adhoc` writes it:
//!
//! ```text
//! Dec  7 10:00:01 mx postfix/smtp[2091]: 4F1C22A0B1: to=<jane@example.com>, orig_to=<j@example.com>,
//!     relay=mx.example.com[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.1.1, status=bounced
//!     (host mx.example.com[192.0.2.1] said: 550 5.1.1 <jane@example.com>: user unknown (in reply to
//!     RCPT TO command))
//! ```
//!
//! (one line in the log). `status` is `sent`, `deferred` or `bounced`; the parenthesised text is
//! what the remote server said or what went wrong. When a message's queue lifetime ends, the queue
//! manager logs `QUEUEID: from=<sender>, status=expired, returned to sender` once for the message:
//! the recipients it gives up on are those whose last line under that queue id was a deferral, so
//! the reader keeps each queue id's deferred recipients until the message is `removed`.
//!
//! The notices Postfix itself writes (`postfix/bounce[…]: QUEUEID: sender non-delivery notification:
//! NOTICEID`, delay and postmaster notices too) are messages of their own; their deliveries to
//! the sender are not the sender's mail and are passed over.
//!
//! The syslog prefix is either the traditional `Mmm dd hh:mm:ss` (no year: the year that puts
//! the line not in the future) or RFC 3339 (`2026-12-07T10:00:01.123+00:00`, rsyslog's
//! high-precision format). Lines of other programs, and Postfix lines that record no delivery,
//! are passed over.

use std::collections::{HashMap, HashSet};

/// What a delivery line says of the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Sent,
    Deferred,
    Bounced,
    /// The message's queue lifetime ended while the recipient was deferred.
    Expired,
}

/// One recipient's outcome, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub queue_id: String,
    /// Unix seconds, when the line's time could be read.
    pub at: Option<i64>,
    pub to: String,
    /// The address before alias or canonical rewriting: the one the sender mailed.
    pub orig_to: Option<String>,
    pub relay: Option<String>,
    pub dsn: Option<String>,
    pub status: Status,
    /// The parenthesised text (for an expiry, the recipient's last deferral's).
    pub text: String,
}

impl Delivery {
    /// The reply to classify: the text, led by the DSN code when the text does not give it.
    pub fn reply(&self) -> String {
        match &self.dsn {
            Some(dsn) if !self.text.contains(dsn.as_str()) => format!("{dsn} {}", self.text),
            _ => self.text.clone(),
        }
    }
}

/// Most queue ids whose deferred recipients (or notices) are kept: a log that never says
/// `removed` (a truncated one) cannot make the reader grow without bound.
const MAX_QUEUED: usize = 100_000;

/// Reads a log's lines in order.
pub struct LogReader {
    /// Now, in Unix seconds: lines without a year are put in the year that is not in the future.
    now: i64,
    /// Per queue id, its recipients whose last line was a deferral.
    deferred: HashMap<String, Vec<Delivery>>,
    /// Queue ids of Postfix's own notices.
    notices: HashSet<String>,
}

impl LogReader {
    pub fn new(now: i64) -> Self {
        Self { now, deferred: HashMap::new(), notices: HashSet::new() }
    }

    /// Moves the reader's "now" (a follower runs for days; lines without a year need it).
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    /// The outcomes one line records: none, one delivery, or (a message that expired) each
    /// recipient still deferred.
    pub fn line(&mut self, line: &str) -> Vec<Delivery> {
        let Some((at, queue_id, rest)) = self.split(line) else { return Vec::new() };
        if rest == "removed" {
            self.deferred.remove(queue_id);
            self.notices.remove(queue_id);
            return Vec::new();
        }
        if rest.starts_with("sender ") || rest.starts_with("postmaster ") {
            if let Some((_, notice)) = rest.split_once(" notification: ") {
                if self.notices.len() > MAX_QUEUED {
                    self.notices.clear();
                }
                self.notices.insert(notice.trim().to_owned());
            }
            return Vec::new();
        }
        if self.notices.contains(queue_id) {
            return Vec::new();
        }
        if rest.starts_with("from=<") && rest.contains(", status=expired") {
            let expired = self.deferred.remove(queue_id).unwrap_or_default();
            return expired.into_iter().map(|d| Delivery { status: Status::Expired, at: at.or(d.at), ..d }).collect();
        }
        let Some(delivery) = delivery(queue_id, at, rest) else { return Vec::new() };
        let waiting = self.deferred.entry(queue_id.to_owned()).or_default();
        waiting.retain(|d| d.to != delivery.to);
        if delivery.status == Status::Deferred {
            waiting.push(delivery.clone());
        }
        if waiting.is_empty() {
            self.deferred.remove(queue_id);
        } else if self.deferred.len() > MAX_QUEUED {
            self.deferred.clear();
        }
        vec![delivery]
    }

    /// The line's time, queue id and the message after the queue id, for a Postfix daemon's line.
    fn split<'l>(&self, line: &'l str) -> Option<(Option<i64>, &'l str, &'l str)> {
        let (head, message) = line.split_once("]: ")?;
        let program = head.rsplit_once('[')?.0.rsplit(' ').next()?;
        if !program.contains("postfix") || !program.contains('/') {
            return None;
        }
        let (queue_id, rest) = message.split_once(": ")?;
        if queue_id.len() < 5 || !queue_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some((self.time_of(head), queue_id, rest.trim_end()))
    }

    /// The syslog time at the start of `head`.
    fn time_of(&self, head: &str) -> Option<i64> {
        let first = head.split(' ').next()?;
        if first.len() >= 19 && first.as_bytes()[4] == b'-' {
            let parsed = time::OffsetDateTime::parse(first, &time::format_description::well_known::Rfc3339).ok()?;
            return Some(parsed.unix_timestamp());
        }
        let mut words = head.split_whitespace();
        let name = words.next()?;
        let month = MONTHS.iter().position(|m| *m == name)? as u8 + 1;
        let day: u8 = words.next()?.parse().ok()?;
        let clock: Vec<u8> = words.next()?.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        let [hour, minute, second] = clock[..] else { return None };
        let this_year = time::OffsetDateTime::from_unix_timestamp(self.now).ok()?.year();
        let at = |year: i32| -> Option<i64> {
            let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
            Some(date.with_hms(hour, minute, second).ok()?.assume_utc().unix_timestamp())
        };
        // A day's grace for clocks and zones: a line from "tomorrow" is from last year.
        at(this_year).filter(|&t| t <= self.now + 86_400).or_else(|| at(this_year - 1))
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A delivery agent's `to=<…>, …, status=… (…)` line.
fn delivery(queue_id: &str, at: Option<i64>, rest: &str) -> Option<Delivery> {
    let mut rest = rest.strip_prefix("to=<")?;
    let (to, after) = rest.split_once('>')?;
    rest = after;
    let (mut orig_to, mut relay, mut dsn, mut status) = (None, None, None, None);
    while let Some(field) = rest.strip_prefix(", ") {
        let (key, value) = field.split_once('=')?;
        let (value, after) = match value.strip_prefix('<') {
            Some(quoted) => {
                let (address, after) = quoted.split_once('>')?;
                (address, after)
            }
            None => value.split_at(value.find([',', ' ']).unwrap_or(value.len())),
        };
        rest = after;
        match key {
            "orig_to" => orig_to = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "relay" => relay = Some(value.to_owned()),
            "dsn" => dsn = Some(value.to_owned()),
            "status" => {
                status = Some(match value {
                    "sent" => Status::Sent,
                    "deferred" => Status::Deferred,
                    "bounced" => Status::Bounced,
                    _ => return None,
                });
                break;
            }
            _ => {}
        }
    }
    let text = rest.trim();
    let text = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')).unwrap_or(text);
    Some(Delivery {
        queue_id: queue_id.to_owned(),
        at,
        to: to.to_owned(),
        orig_to,
        relay,
        dsn,
        status: status?,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 12:00:00 UTC.
    const NOW: i64 = 1_796_644_800;

    #[test]
    fn a_bounce_line_gives_its_recipient_code_and_text() {
        let mut reader = LogReader::new(NOW);
        let line = "Dec  7 10:00:01 mx postfix/smtp[2091]: 4F1C22A0B1: to=<jane@example.com>, orig_to=<j@example.com>, \
relay=mx.example.com[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.1.1, status=bounced (host \
mx.example.com[192.0.2.1] said: 550 5.1.1 <jane@example.com>: user unknown (in reply to RCPT TO command))";
        let found = reader.line(line);
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!(
            (d.queue_id.as_str(), d.to.as_str(), d.orig_to.as_deref()),
            ("4F1C22A0B1", "jane@example.com", Some("j@example.com"))
        );
        assert_eq!(
            (d.status, d.dsn.as_deref(), d.relay.as_deref()),
            (Status::Bounced, Some("5.1.1"), Some("mx.example.com[192.0.2.1]:25"))
        );
        assert_eq!(d.at, Some(NOW - 2 * 3600 + 1));
        assert!(
            d.text.starts_with("host mx.example.com[192.0.2.1] said: 550 5.1.1")
                && d.text.ends_with("RCPT TO command)")
        );
        assert_eq!(d.reply(), d.text);
    }

    #[test]
    fn rfc3339_times_other_programs_and_other_postfix_lines() {
        let mut reader = LogReader::new(NOW);
        let sent = "2026-12-07T10:00:01.123456+01:00 mx postfix-out/smtp[7]: 3XyZab12cD: to=<a@example.org>, \
relay=mx.example.org[192.0.2.2]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99)";
        let found = reader.line(sent);
        assert_eq!((found[0].status, found[0].at), (Status::Sent, Some(NOW - 3 * 3600 + 1)));
        for other in [
            "Dec  7 10:00:01 mx postfix/qmgr[55]: 4F1C22A0B1: from=<news@sender.example>, size=1200, nrcpt=1 (queue active)",
            "Dec  7 10:00:01 mx postfix/cleanup[56]: 4F1C22A0B1: message-id=<x@sender.example>",
            "Dec  7 10:00:01 mx dovecot[57]: 4F1C22A0B1: to=<a@example.org>, status=sent (fake)",
            "Dec  7 10:00:01 mx postfix/smtpd[58]: connect from unknown[192.0.2.9]",
            "garbage",
        ] {
            assert_eq!(reader.line(other), Vec::new(), "{other}");
        }
    }

    #[test]
    fn an_expired_message_fails_the_recipients_still_deferred() {
        let mut reader = LogReader::new(NOW);
        let deferred = |to: &str| {
            format!(
                "Dec  6 10:00:00 mx postfix/smtp[1]: AB12CD34EF: to=<{to}>, relay=none, delay=9, delays=0/0/9/0, \
dsn=4.4.1, status=deferred (connect to mx.example.net[192.0.2.3]:25: Connection timed out)"
            )
        };
        assert_eq!(reader.line(&deferred("a@example.net"))[0].status, Status::Deferred);
        reader.line(&deferred("b@example.net"));
        reader.line("Dec  6 11:00:00 mx postfix/smtp[1]: AB12CD34EF: to=<b@example.net>, relay=mx.example.net[192.0.2.3]:25, delay=3600, delays=0/0/1/1, dsn=2.0.0, status=sent (250 ok)");
        let expired = reader.line("Dec 11 10:00:00 mx postfix/qmgr[2]: AB12CD34EF: from=<news@sender.example>, status=expired, returned to sender");
        assert_eq!(expired.len(), 1);
        assert_eq!((expired[0].to.as_str(), expired[0].status), ("a@example.net", Status::Expired));
        assert_eq!(expired[0].reply(), "4.4.1 connect to mx.example.net[192.0.2.3]:25: Connection timed out");
        assert!(reader.deferred.is_empty());
    }

    #[test]
    fn postfix_notices_to_the_sender_are_passed_over() {
        let mut reader = LogReader::new(NOW);
        reader.line(
            "Dec 07 14:40:28 mta postfix/bounce[17978]: 880F8F42E8: sender non-delivery notification: 9333BF42ED",
        );
        let notice = "Dec 07 14:40:28 mta postfix/local[17986]: 9333BF42ED: to=<news@mta.lab.example>, relay=local, \
delay=0.03, delays=0.01/0.02/0/0, dsn=2.0.0, status=sent (delivered to mailbox)";
        assert_eq!(reader.line(notice), Vec::new());
        reader.line("Dec 07 14:40:28 mta postfix/qmgr[17372]: 9333BF42ED: removed");
        assert!(reader.notices.is_empty());
        assert_eq!(reader.line(notice).len(), 1, "the same id, reused later, is a message again");
    }

    #[test]
    fn a_line_from_tomorrow_is_from_last_year() {
        let reader = LogReader::new(NOW);
        let at = reader.time_of("Dec 31 23:00:00 mx postfix/smtp[1]").unwrap();
        assert!(at < NOW - 300 * 86_400, "{at}");
    }
}
