//! PowerMTA's accounting records (`POST /integrations/powermta`, `rebound ingest pmta`), as its `<acct-file>`
//! writes them (CSV, RFC 4180, a header line naming the fields; the columns of a file holding
//! several record types are their union, a type's missing fields empty). The body is a file's
//! content, or a stretch of it that starts with the header line.
//!
//! - `d` (delivered) is a delivery and an attempt; `b` (bounced) is an attempt whose
//!   `dsnStatus` and `dsnDiag` are classified like any SMTP reply; `rb` (a remote bounce that
//!   came back later) is classified the same way but is no new attempt; `t` and `tq` (a
//!   temporary failure) are classified too, and are no attempt (their message ends later in a
//!   `d` or `b`); `f` (a feedback-loop report) is a complaint by the record's `rcpt`. Other types
//!   are ignored.
//! - PowerMTA's own `bounceCat` is a hint: when the reply says nothing Rebound recognises
//!   (kind `unknown`), `bad-mailbox`, `bad-domain` and `inactive-mailbox` make the bounce hard.
//!   It never changes a verdict the reply explains, so it cannot make a block hard.
//! - `jobId` is the campaign, the VMTA (`vmta`) the stream, `dlvSourceIp` the sending IP,
//!   `timeLogged` (Unix seconds or `YYYY-MM-DD HH:MM:SS±hhmm`) the time.
//! - Each record's idempotency key is its time and a digest of its fields: a file sent again
//!   records each event once, and its attempt (counted with its event) once. A record that cannot be read
//!   or fails a check is left out and named in `problems`; the rest are stored.

use std::sync::Arc;

use rebound_api::v1::EventInput;
use rebound_core::{Kind, Reason};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::monitor::prometheus::SkippedRecord;
use crate::service::log_ingest::{self, Outcome, Stretch};
use crate::state::Engine;

/// Longest accounting record read.
pub const MAX_RECORD: usize = 65_536;
/// Most fields a record may have (a combined file with many `header_` columns stays well under).
pub const MAX_FIELDS: usize = 512;

/// Where each field Rebound reads is in the file's records.
pub struct Columns {
    kind: usize,
    time_logged: Option<usize>,
    rcpt: Option<usize>,
    dsn_status: Option<usize>,
    dsn_diag: Option<usize>,
    bounce_cat: Option<usize>,
    vmta: Option<usize>,
    job_id: Option<usize>,
    source_ip: Option<usize>,
}

impl Columns {
    /// The columns a header line names; an error when it names no `type` or `rcpt` field.
    pub(crate) fn read(header: &[String]) -> Result<Self, String> {
        let at = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}').trim() == name);
        Ok(Self {
            kind: at("type").ok_or("the header line names no `type` field: is this an accounting file?")?,
            time_logged: at("timeLogged"),
            rcpt: Some(at("rcpt").ok_or("the header line names no `rcpt` field")?),
            dsn_status: at("dsnStatus"),
            dsn_diag: at("dsnDiag"),
            bounce_cat: at("bounceCat"),
            vmta: at("vmta"),
            job_id: at("jobId"),
            source_ip: at("dlvSourceIp"),
        })
    }
}

/// One record's fields, by name.
struct Record<'a> {
    columns: &'a Columns,
    fields: &'a [String],
}

impl Record<'_> {
    fn get(&self, column: Option<usize>) -> Option<&str> {
        column.and_then(|i| self.fields.get(i)).map(|f| f.trim()).filter(|f| !f.is_empty())
    }
}

/// `dsnStatus` (`5.1.1 (bad destination mailbox address)`) and `dsnDiag` (`smtp;550 5.1.1 ...`)
/// as one reply: the diagnostic without its type, led by the status code when it does not give
/// one of its own.
fn reply_text(status: Option<&str>, diag: Option<&str>) -> Option<String> {
    let code = status.and_then(|s| s.split_whitespace().next());
    let diag = diag.map(|d| match d.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') => rest.trim(),
        _ => d,
    });
    match (code, diag) {
        (Some(code), Some(diag)) if !diag.contains(code) => Some(format!("{code} {diag}")),
        (_, Some(diag)) => Some(diag.to_owned()),
        (Some(_), None) => status.map(str::to_owned),
        (None, None) => None,
    }
}

/// PowerMTA's category when it names a dead address.
fn hard_category(category: &str) -> Option<Reason> {
    match category {
        "bad-mailbox" => Some(Reason::UserUnknown),
        "bad-domain" => Some(Reason::HostUnknown),
        "inactive-mailbox" => Some(Reason::Suspend),
        _ => None,
    }
}

/// `timeLogged`: Unix seconds, or `YYYY-MM-DD HH:MM:SS` with an optional `±hhmm` offset (UTC
/// without one).
fn time_of(text: &str) -> Option<i64> {
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs);
    }
    let (stamp, offset) = match text.len() {
        19 => (text, 0),
        24 => {
            let (stamp, zone) = text.split_at(19);
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(3..5)?.parse().ok()?;
            (stamp, sign * (hours * 3600 + minutes * 60))
        }
        _ => return None,
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let local = time::PrimitiveDateTime::parse(stamp, &format).ok()?;
    Some(local.assume_utc().unix_timestamp() - offset)
}

/// What one record stands for.
enum Use {
    Event(Box<EventInput>, bool),
    Ignore,
}

fn use_of(record: &Record<'_>, engine: &Engine, raw: &[String]) -> Use {
    let Some(recipient) = record.get(record.columns.rcpt) else { return Use::Ignore };
    let at = record.get(record.columns.time_logged).and_then(time_of);
    let key = log_ingest::record_key("pmta", at, raw.iter().map(|field| field.as_bytes()));
    let event = |reply: Option<String>, kind: Option<Kind>, reason: Option<Reason>| EventInput {
        recipient: Some(recipient.to_owned()),
        reply,
        kind,
        reason,
        source: Some("powermta".to_owned()),
        idempotency_key: Some(key.clone()),
        occurred_at: at,
        campaign: record.get(record.columns.job_id).map(str::to_owned),
        stream: record.get(record.columns.vmta).map(str::to_owned),
        sending_ip: record.get(record.columns.source_ip).map(str::to_owned),
        ..EventInput::default()
    };
    let kind = record.get(Some(record.columns.kind)).unwrap_or_default();
    match kind {
        "d" => Use::Event(Box::new(event(None, Some(Kind::Delivered), None)), true),
        "f" => Use::Event(Box::new(event(None, Some(Kind::Complaint), None)), false),
        "b" | "rb" | "t" | "tq" => {
            let Some(reply) = reply_text(record.get(record.columns.dsn_status), record.get(record.columns.dsn_diag))
            else {
                return Use::Ignore;
            };
            let attempt = kind == "b";
            // A category is only a hint, for a reply nothing in Rebound explains.
            let hinted = record.get(record.columns.bounce_cat).and_then(hard_category).filter(|_| {
                kind != "t" && kind != "tq" && engine.classifier.classify_reply(&reply).kind == Kind::Unknown
            });
            match hinted {
                Some(reason) => Use::Event(Box::new(event(None, Some(Kind::Hard), Some(reason))), attempt),
                None => Use::Event(Box::new(event(Some(reply), None, None)), attempt),
            }
        }
        _ => Use::Ignore,
    }
}

/// Stores what `records` (at most `MAX_BATCH`, each with the line it ends on) of a file whose
/// header line gave `columns` stand for, as `principal` (the upload endpoint).
pub async fn ingest_records(
    state: &AppState,
    principal: &Principal,
    columns: &Columns,
    records: &[(Result<Vec<String>, String>, u64)],
) -> Result<Outcome, ApiError> {
    let stretch = read_records(state, state.engine().await?, principal, state.clock.now(), columns, records)?;
    log_ingest::store(state, principal, stretch).await
}

/// What `records` of a file whose header line gave `columns` stand for, checked and classified
/// with `engine`, as `principal`, received at `now`: `rebound ingest pmta` reads a batch this way
/// while the one before is being stored.
pub fn read_records(
    state: &AppState,
    engine: Arc<Engine>,
    principal: &Principal,
    now: i64,
    columns: &Columns,
    records: &[(Result<Vec<String>, String>, u64)],
) -> Result<Stretch, ApiError> {
    let metrics = &state.monitor.metrics;
    let mut outcome = Outcome::default();
    let (mut items, mut line_of, mut attempts) = (Vec::new(), Vec::new(), Vec::new());
    for (record, line) in records {
        let fields = match record {
            Ok(fields) => fields,
            Err(why) => {
                metrics.skipped_record(SkippedRecord::Unreadable);
                outcome.problem(format!("line {line}: the record is {why}"));
                continue;
            }
        };
        let record = Record { columns, fields };
        match use_of(&record, &engine, fields) {
            Use::Event(item, attempt) => {
                items.push(*item);
                line_of.push(*line);
                attempts.push(attempt);
            }
            Use::Ignore => outcome.ignored += 1,
        }
    }
    Stretch::new(engine, principal, now, items, attempts, ("line", line_of), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_diagnostic_make_one_reply() {
        let status = Some("5.1.1 (bad destination mailbox address)");
        assert_eq!(
            reply_text(status, Some("smtp;550 5.1.1 <jane@example.com>... User unknown")).as_deref(),
            Some("550 5.1.1 <jane@example.com>... User unknown")
        );
        assert_eq!(reply_text(status, Some("smtp;550 No such user")).as_deref(), Some("5.1.1 550 No such user"));
        assert_eq!(reply_text(status, None).as_deref(), status);
        assert_eq!(reply_text(None, None), None);
    }

    #[test]
    fn times_are_unix_seconds_or_local_with_an_offset() {
        assert_eq!(time_of("1464477051"), Some(1_464_477_051));
        assert_eq!(time_of("2016-05-29 01:10:51+0200"), Some(1_464_477_051));
        assert_eq!(time_of("2016-05-28 23:10:51"), Some(1_464_477_051));
        assert_eq!(time_of("yesterday"), None);
    }

    #[test]
    fn only_dead_address_categories_are_hints() {
        assert_eq!(hard_category("bad-mailbox"), Some(Reason::UserUnknown));
        assert_eq!(hard_category("spam-related"), None);
        assert_eq!(hard_category("policy-related"), None);
    }
}
