//! `POST /api/v1/integrations/kumomta`: KumoMTA's log records, as its log hook ships them (one
//! JSON object, or an array of them for a batch; `recipient` a string or an array).
//!
//! `Reception` records are attempts (the denominators of the rates); `Delivery` records are
//! deliveries; `Bounce`, `TransientFailure`, `Expiration` and `OOB` records carry the remote
//! reply (`response`), classified like any SMTP reply, with the command it answered; `Feedback`
//! records are complaints (or unsubscribes, for opt-out reports). Other types are ignored. Each
//! event's idempotency key is built from the spool id, type, attempt and recipient, and each
//! Reception's key from the spool id and recipient, so a batch the hook sends again is recorded,
//! and its attempts counted, once.
//!
//! What the records mean, read against KumoMTA's own sources:
//! - A `Feedback` record's `recipient` is the envelope recipient of the incoming report: the
//!   feedback-loop mailbox. The person who complained is in the report: the `X-KumoRef` trace
//!   KumoMTA put on the original message (`feedback_report.supplemental_trace.recipient`), else
//!   the report's `Original-Rcpt-To` (`original_rcpto_to`), else the `To:` of the attached
//!   original message. A report that names none of them is left out and reported: suppressing the
//!   mailbox would refuse every later report at RCPT.
//! - A `TransientFailure` with no `peer_address` is KumoMTA speaking for itself (a suspended or
//!   throttled queue: `451 4.4.4 KumoMTA internal: ...`), not a receiving server: it says nothing
//!   about the address and is left out, as counting it would inflate soft rates.
//! - A `Reception` of a message with a null reverse-path is mail coming back to KumoMTA (a bounce
//!   or feedback report it receives for its OOB and ARF logging), not an attempt: it is ignored.
//! - One bad record (an unreadable address, a time in the future, a campaign that is not a
//!   label) is left out and named in `problems`; the rest of the batch is stored. Refusing the
//!   batch would make the hook send it again and again, holding up every good record behind it.
//!
//! Records left out are counted in `/metrics` (`rebound_log_records_skipped_total`).

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use rebound_api::v1::{EventInput, LogRecordsIngested, SendCount};
use rebound_core::Kind;
use serde::Deserialize;

use crate::AppState;
use crate::MAX_EVENTS_BODY;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::monitor::prometheus::SkippedRecord;
use crate::service::events::MAX_BATCH;
use crate::service::log_ingest::{self, Outcome, Stretch};
use crate::service::sends::record_keyed_sends;

pub fn router() -> Router<AppState> {
    Router::new().route("/integrations/kumomta", post(ingest).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY)))
}

/// One record or a batch.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Records {
    Many(Vec<LogRecord>),
    One(Box<LogRecord>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Recipients {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

/// The fields of KumoMTA's `JsonLogRecord` Rebound reads; the others are ignored.
#[derive(Debug, Deserialize)]
struct LogRecord {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    recipient: Recipients,
    #[serde(default)]
    queue: String,
    /// The envelope sender: empty for a message with a null reverse-path.
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    response: Option<Response>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    num_attempts: u32,
    #[serde(default)]
    feedback_report: Option<FeedbackReport>,
    /// The remote host the record is about; absent for what KumoMTA says on its own behalf.
    #[serde(default)]
    peer_address: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Response {
    code: u16,
    #[serde(default)]
    enhanced_code: Option<EnhancedCode>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    command: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EnhancedCode {
    class: u8,
    subject: u16,
    detail: u16,
}

#[derive(Debug, Deserialize)]
struct FeedbackReport {
    #[serde(default)]
    feedback_type: String,
    /// The report's `Original-Rcpt-To` fields (KumoMTA's spelling of the name).
    #[serde(default)]
    original_rcpto_to: Vec<String>,
    /// The decoded `X-KumoRef` header of the original message: `{"recipient": ..., ...}`.
    #[serde(default)]
    supplemental_trace: Option<serde_json::Value>,
    /// The original message: a string, or an array of bytes when it is not UTF-8.
    #[serde(default)]
    original_message: Option<serde_json::Value>,
}

impl FeedbackReport {
    /// The address that complained, from the most to the least reliable source.
    fn complainer(&self) -> Option<String> {
        let traced = self.supplemental_trace.as_ref().and_then(|t| t.get("recipient")).and_then(|r| match r {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(list) => list.first().and_then(|v| v.as_str()).map(str::to_owned),
            _ => None,
        });
        let given = |s: &String| !s.trim().is_empty();
        traced
            .filter(given)
            .or_else(|| self.original_rcpto_to.iter().find(|s| given(s)).cloned())
            .or_else(|| self.original_message.as_ref().and_then(original_to))
    }
}

/// The first address of the `To:` header of an original message given as a string or as bytes.
fn original_to(message: &serde_json::Value) -> Option<String> {
    let text = match message {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => {
            let bytes: Vec<u8> = bytes.iter().filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return None,
    };
    let headers = text.split("\r\n\r\n").next()?.split("\n\n").next()?;
    let mut value: Option<String> = None;
    for line in headers.lines() {
        match value.as_mut() {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((name, rest)) = line.split_once(':')
                    && name.trim().eq_ignore_ascii_case("to")
                {
                    value = Some(rest.to_owned());
                }
            }
        }
    }
    let value = value?;
    let inner = match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split(',').next()?,
    };
    let address = inner.trim();
    address.contains('@').then(|| address.to_owned())
}

/// The campaign of a queue name `campaign:tenant@domain!routing_domain` (the campaign part is
/// present only when the name has a `:` before the `@`).
fn campaign_of(queue: &str) -> Option<String> {
    let (prefix, _) = queue.split_once('@')?;
    let (campaign, _) = prefix.split_once(':')?;
    let campaign: String =
        campaign.chars().filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/')).take(64).collect();
    (!campaign.is_empty()).then_some(campaign)
}

/// The reply as an MTA would log it: `550 5.1.1 text (in reply to RCPT TO command)`.
fn reply_text(r: &Response) -> String {
    let mut text = r.code.to_string();
    if let Some(e) = &r.enhanced_code {
        text.push_str(&format!(" {}.{}.{}", e.class, e.subject, e.detail));
    }
    text.push(' ');
    text.push_str(r.content.trim());
    if let Some(command) = r.command.as_deref().filter(|c| !c.trim().is_empty()) {
        text.push_str(&format!(" (in reply to {} command)", command.trim()));
    }
    text
}

/// What one record means for one recipient.
enum Use {
    /// An attempt, with its record's key.
    Send(String, SendCount),
    Event(Box<EventInput>),
    Ignore,
    Skip(SkippedRecord),
}

/// The addresses a record is about: its recipients, or for a complaint the complainer.
fn addresses_of(record: &LogRecord) -> Result<Vec<String>, SkippedRecord> {
    if record.kind == "Feedback" {
        let complainer = record.feedback_report.as_ref().and_then(FeedbackReport::complainer);
        return complainer.map(|c| vec![c]).ok_or(SkippedRecord::NoComplainer);
    }
    Ok(match &record.recipient {
        Recipients::One(r) => vec![r.clone()],
        Recipients::Many(list) => list.clone(),
        Recipients::None => Vec::new(),
    })
}

fn use_of(record: &LogRecord, recipient: &str) -> Use {
    let campaign = campaign_of(&record.queue);
    let event = |reply: Option<String>, kind: Option<Kind>| {
        Use::Event(Box::new(EventInput {
            recipient: Some(recipient.to_owned()),
            reply,
            kind,
            source: Some("kumomta".to_owned()),
            idempotency_key: Some(format!("kumo:{}:{}:{}:{recipient}", record.id, record.kind, record.num_attempts)),
            occurred_at: record.timestamp,
            campaign: campaign.clone(),
            ..EventInput::default()
        }))
    };
    match (record.kind.as_str(), &record.response) {
        // Mail with a null reverse-path is mail coming back (a bounce, a feedback report KumoMTA
        // receives for its OOB and ARF logging; RFC 5321 4.5.5), never an attempt of the sender's.
        ("Reception", _) if record.sender.as_deref().is_some_and(|s| matches!(s.trim(), "" | "<>")) => Use::Ignore,
        ("Reception", _) => {
            let domain = recipient.rsplit_once('@').map(|(_, d)| d.to_owned());
            let key = format!("kumo:{}:Reception:{recipient}", record.id);
            Use::Send(key, SendCount { count: 1, at: record.timestamp, domain, isp: None, campaign, stream: None })
        }
        ("Delivery", _) => event(None, Some(Kind::Delivered)),
        ("TransientFailure", _) if record.peer_address.as_ref().is_none_or(serde_json::Value::is_null) => {
            Use::Skip(SkippedRecord::Internal)
        }
        ("Bounce" | "TransientFailure" | "Expiration" | "OOB", Some(response)) => {
            event(Some(reply_text(response)), None)
        }
        ("Feedback", _) => match record.feedback_report.as_ref().map(|f| f.feedback_type.as_str()) {
            Some("not-spam" | "auth-failure") => Use::Ignore,
            Some("opt-out") => event(None, Some(Kind::Unsubscribe)),
            _ => event(None, Some(Kind::Complaint)),
        },
        _ => Use::Ignore,
    }
}

async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(records): ApiJson<Records>,
) -> Result<Json<LogRecordsIngested>, ApiError> {
    principal.require(Permission::EventsWrite)?;
    let records = match records {
        Records::Many(list) => list,
        Records::One(record) => vec![*record],
    };
    if records.len() > MAX_BATCH {
        return Err(ApiError::invalid_field("records", format!("at most {MAX_BATCH} records per request")));
    }
    let metrics = &state.monitor.metrics;
    let (mut sends, mut items, mut record_of, mut outcome) = (Vec::new(), Vec::new(), Vec::new(), Outcome::default());
    for (i, record) in records.iter().enumerate() {
        let recipients = match addresses_of(record) {
            Ok(list) => list,
            Err(why) => {
                metrics.skipped_record(why);
                outcome.problem(format!(
                    "record {i}: a Feedback record that names no complainer (no X-KumoRef trace, Original-Rcpt-To or original To:)"
                ));
                continue;
            }
        };
        if recipients.is_empty() {
            outcome.ignored += 1;
            continue;
        }
        for recipient in &recipients {
            let refused = match rebound_policy::normalize(recipient) {
                Ok(target) if target.is_domain() => Some("is a domain, not an address".to_owned()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = refused {
                metrics.skipped_record(SkippedRecord::Unreadable);
                outcome.problem(format!("record {i}: recipient `{}` {e}", shorten(recipient)));
                continue;
            }
            match use_of(record, recipient) {
                Use::Send(key, send) => sends.push((key, send)),
                Use::Event(item) => {
                    items.push(*item);
                    record_of.push(i as u64);
                }
                Use::Ignore => outcome.ignored += 1,
                Use::Skip(why) => {
                    outcome.ignored += 1;
                    metrics.skipped_record(why);
                }
            }
        }
    }
    let sent = if sends.is_empty() {
        0
    } else {
        record_keyed_sends(&state, &sends, |i, name| format!("sends[{i}].{name}")).await?
    };
    let attempts = vec![false; items.len()];
    let now = state.clock.now();
    let stretch =
        Stretch::new(state.engine().await?, &principal, now, items, attempts, ("record", record_of), outcome)?;
    let outcome = log_ingest::store(&state, &principal, stretch).await?;
    Ok(Json(LogRecordsIngested {
        events: outcome.events,
        sends: sent,
        ignored: outcome.ignored + outcome.errors,
        problems: outcome.problems,
    }))
}

/// An address as a problem quotes it: at most 100 characters.
fn shorten(text: &str) -> &str {
    &text[..text.floor_char_boundary(100)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaigns_come_from_the_queue_name() {
        assert_eq!(campaign_of("spring:acme@gmail.com").as_deref(), Some("spring"));
        assert_eq!(campaign_of("spring:acme@gmail.com!mx.example").as_deref(), Some("spring"));
        assert_eq!(campaign_of("acme@gmail.com"), None);
        assert_eq!(campaign_of("gmail.com"), None);
    }

    #[test]
    fn replies_are_written_as_an_mta_logs_them() {
        let r = Response {
            code: 550,
            enhanced_code: Some(EnhancedCode { class: 5, subject: 1, detail: 1 }),
            content: "user unknown".into(),
            command: Some("RCPT TO".into()),
        };
        assert_eq!(reply_text(&r), "550 5.1.1 user unknown (in reply to RCPT TO command)");
    }
}
