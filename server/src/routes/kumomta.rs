//! `POST /api/v1/integrations/kumomta`: KumoMTA's log records, as its log hook ships them (one
//! JSON object, or an array of them for a batch; `recipient` a string or an array).
//!
//! `Reception` records are attempts (the denominators of the rates); `Delivery` records are
//! deliveries; `Bounce`, `TransientFailure`, `Expiration` and `OOB` records carry the remote
//! reply (`response`), classified like any SMTP reply, with the command it answered; `Feedback`
//! records are complaints (or unsubscribes, for opt-out reports). Other types are ignored. Each
//! event's idempotency key is built from the spool id, type, attempt and recipient, so a batch the
//! hook sends again is recorded once. A record whose recipient cannot be read is skipped and
//! reported rather than failing the batch: one bad record must not block an MTA's log stream.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use rebound_api::v1::{EventInput, LogRecordsIngested, SendCount};
use rebound_core::Kind;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::events::{MAX_BATCH, MAX_EVENTS_BODY, ingest_items};
use crate::routes::metrics::record_sends_checked;

/// How many problems an answer lists.
const MAX_PROBLEMS: usize = 10;

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
    #[serde(default)]
    response: Option<Response>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    num_attempts: u32,
    #[serde(default)]
    feedback_report: Option<FeedbackReport>,
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
    Send(SendCount),
    Event(Box<EventInput>),
    Ignore,
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
        ("Reception", _) => {
            let domain = recipient.rsplit_once('@').map(|(_, d)| d.to_owned());
            Use::Send(SendCount { count: 1, at: record.timestamp, domain, isp: None, campaign, stream: None })
        }
        ("Delivery", _) => event(None, Some(Kind::Delivered)),
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
    let (mut sends, mut items, mut ignored, mut problems) = (Vec::new(), Vec::new(), 0, Vec::new());
    for (i, record) in records.iter().enumerate() {
        let recipients = match &record.recipient {
            Recipients::One(r) => vec![r.as_str()],
            Recipients::Many(list) => list.iter().map(String::as_str).collect(),
            Recipients::None => Vec::new(),
        };
        if recipients.is_empty() {
            ignored += 1;
            continue;
        }
        for recipient in recipients {
            let problem = match rebound_policy::normalize(recipient) {
                Ok(target) if target.is_domain() => Some("is a domain, not an address".to_owned()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = problem {
                ignored += 1;
                if problems.len() < MAX_PROBLEMS {
                    problems.push(format!("record {i}: recipient `{recipient}` {e}"));
                }
                continue;
            }
            match use_of(record, recipient) {
                Use::Send(send) => sends.push(send),
                Use::Event(item) => items.push(*item),
                Use::Ignore => ignored += 1,
            }
        }
    }
    let sent = if sends.is_empty() {
        0
    } else {
        record_sends_checked(&state, &sends, |i, name| format!("sends[{i}].{name}")).await?
    };
    let events =
        if items.is_empty() { 0 } else { ingest_items(&state, &principal, &items, false).await?.results.len() };
    Ok(Json(LogRecordsIngested { events: events as u64, sends: sent, ignored, problems }))
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
