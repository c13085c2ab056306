//! Version 1 of the REST API's bodies.

use serde::{Deserialize, Serialize};

pub use rebound_core::Verdict;
pub use rebound_policy::{Policy, SuppressionReason};

mod monitor;
pub use monitor::*;
use serde_json::Value;

/// The body of every 4xx and 5xx response: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable `code` (stable, snake_case), a sentence for people, and the offending
/// request field when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}

/// `POST /api/v1/classify`: one SMTP reply, as an MTA or provider reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    pub reply: String,
}

/// The answer to `POST /api/v1/classify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifyResponse {
    pub verdict: Verdict,
}

/// What a staff member may do. Viewers read; operators also change suppressions; admins also
/// manage users, keys and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
    Viewer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in staff member (`GET /api/v1/auth/me`, and the answer to a login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
}

/// What an API key may do. A key carries one or more scopes; `admin` implies all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyScope {
    /// `GET /check`, `POST /check`: the MTA's pre-send question.
    #[serde(rename = "check")]
    Check,
    /// `POST /events`: report delivery results.
    #[serde(rename = "events:write")]
    EventsWrite,
    /// Read suppressions, events and the audit log.
    #[serde(rename = "suppressions:read")]
    SuppressionsRead,
    /// Add, lift, import suppressions.
    #[serde(rename = "suppressions:write")]
    SuppressionsWrite,
    /// Everything, including settings, users and keys.
    #[serde(rename = "admin")]
    Admin,
}

impl KeyScope {
    pub const ALL: [KeyScope; 5] = [
        KeyScope::Check,
        KeyScope::EventsWrite,
        KeyScope::SuppressionsRead,
        KeyScope::SuppressionsWrite,
        KeyScope::Admin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            KeyScope::Check => "check",
            KeyScope::EventsWrite => "events:write",
            KeyScope::SuppressionsRead => "suppressions:read",
            KeyScope::SuppressionsWrite => "suppressions:write",
            KeyScope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An API key as listed; the secret itself is only ever shown in `CreatedApiKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// `POST /api/v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    pub scopes: Vec<KeyScope>,
}

/// The answer to `POST /api/v1/keys`: the only time the token is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub token: String,
}

/// One entry of the suppression list. Entries are never deleted: a lifted entry keeps its record
/// with `active: false` and who lifted it, and suppressing the address again reopens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub id: i64,
    /// The address as given with its domain normalised, or the domain of a domain-wide entry.
    pub address: String,
    pub domain: String,
    pub domain_wide: bool,
    /// `global`, or the stream/list the entry applies to.
    pub scope: String,
    pub reason: SuppressionReason,
    /// Who or what put it there: `api`, `console`, `import`, `policy`, ...
    pub source: String,
    /// The classifier rule whose verdict caused it, when an event did.
    pub rule: Option<String>,
    pub note: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
    pub lifted_at: Option<i64>,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
}

/// `POST /api/v1/suppressions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddSuppression {
    /// An address, or a domain (`example.com` / `@example.com`) for a domain-wide entry.
    pub address: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub reason: Option<SuppressionReason>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// `POST /api/v1/suppressions/{id}/lift`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftSuppression {
    /// Why sending may resume (re-subscribed, confirmed valid, false positive, ...). Required.
    pub reason: String,
    /// Must be `true` to lift a complaint: re-mailing a complainer is the worst case.
    #[serde(default)]
    pub confirm_complaint: bool,
}

/// What adding a suppression did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionChange {
    pub suppression: Suppression,
    /// `created`, `reopened` (a lifted entry in force again; both answered 201), `escalated` (an
    /// active entry became a complaint) or `unchanged` (both answered 200).
    pub change: String,
}

/// What happened to a list entry, as the change feed tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListChangeKind {
    /// A new entry.
    Added,
    /// A lifted entry in force again.
    Reopened,
    /// An entry in force took a stronger reason (a complaint).
    Escalated,
    Lifted,
}

impl ListChangeKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "added" => Self::Added,
            "reopened" => Self::Reopened,
            "escalated" => Self::Escalated,
            "lifted" => Self::Lifted,
            _ => return None,
        })
    }
}

/// One change to the list (`GET /api/v1/suppressions/changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListChange {
    /// Grows with every change, in commit order (across replicas); there may be gaps.
    pub sequence: i64,
    pub change: ListChangeKind,
    pub suppression_id: i64,
    /// The address, or the domain of a domain-wide entry.
    pub address: String,
    pub scope: String,
    pub reason: SuppressionReason,
    /// Who caused it, named as in the audit log: the staff user (`user:NAME`), the API key
    /// (`key:ID:NAME`) that made the change or sent the event behind it, `cli`; for an import the
    /// job (`import:7`); for entries made before actors were recorded, the entry's source.
    pub actor: String,
    pub at: i64,
    /// When the entry stops applying by itself, if it does.
    pub expires_at: Option<i64>,
}

/// A stretch of the change feed, and the sequence to ask after next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListChanges {
    pub items: Vec<ListChange>,
    /// The last sequence in `items`, or the `after` asked for when there are none.
    pub next: i64,
}

/// A page of a list, with the cursor of the next page when there is one. Lists are newest first,
/// except a suppression search by address prefix (`q`), which is in address order; a cursor only
/// continues the list (same filters and order) it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What the policy did with an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Outcome {
    /// The address was put on the list (or an old entry reopened).
    Suppressed { suppression_id: i64, reason: SuppressionReason, scope: String, reopened: bool },
    /// It was on the list already; the event is linked to the entry as more evidence.
    AlreadySuppressed { suppression_id: i64, reason: SuppressionReason, scope: String },
    /// A soft bounce counted toward escalation.
    Counted { count: u32, threshold: u32, window_days: u32 },
    /// Nothing changed, and why.
    Nothing { why: String },
}

/// A stored delivery event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub received_at: i64,
    pub source: String,
    /// What the verdict was read from: `reply`, `message` or `event` (pre-classified).
    pub input: String,
    pub recipient: Option<String>,
    pub verdict: Verdict,
    pub outcome: Outcome,
    /// The suppression this event caused or is evidence for.
    pub suppression_id: Option<i64>,
    pub campaign: Option<String>,
    pub stream: Option<String>,
    pub sending_ip: Option<String>,
    pub isp: Option<String>,
    /// The input as received, cut at the storage limit.
    pub raw: Option<String>,
}

/// One result of `POST /api/v1/events`: per recipient of each item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    /// Position of the item in the request (0-based).
    pub item: usize,
    pub event_id: i64,
    /// The idempotency key was seen before: this is the first delivery's result, nothing was
    /// counted again.
    pub duplicate: bool,
    pub recipient: Option<String>,
    pub verdict: Verdict,
    pub outcome: Outcome,
}

/// The answer to `POST /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsResponse {
    pub results: Vec<EventResult>,
}

/// Why a checked address may not be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckHit {
    pub suppression_id: i64,
    pub scope: String,
    pub reason: SuppressionReason,
    pub domain_wide: bool,
    pub since: i64,
}

/// The answer for one address of a pre-send check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub email: String,
    pub suppressed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<CheckHit>,
    /// Set when the address could not be read; such an address is reported as suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set when sending to this recipient is paused (everything, its provider, or the campaign
    /// asked about): hold the message and retry later; the address itself is fine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<PauseHit>,
}

/// The pause that holds a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseHit {
    pub pause_id: i64,
    pub scope: String,
}

/// `POST /api/v1/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub emails: Vec<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// The campaign the messages belong to, for campaign pauses.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// The answer to `POST /api/v1/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResponse {
    pub results: Vec<CheckResult>,
}

/// One row of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// `user:NAME`, `key:ID:NAME`, `cli`, `smtp` (the bounce mailbox) or `system`.
    pub actor: String,
    /// For example `suppression.add`, `suppression.lift`, `settings.update`, `key.create`.
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
}

/// The result of checking the audit log's hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// The chain holds and the database's guards are in place.
    pub ok: bool,
    pub rows: u64,
    /// The first row whose hash does not follow from its predecessor and content.
    pub first_bad_id: Option<i64>,
    /// The database triggers that should refuse edits to the list and the log but are missing or
    /// disabled: with any of them gone, the log can be rewritten.
    #[serde(default)]
    pub missing_guards: Vec<String>,
}

/// `GET /api/v1/suppressions/{id}`: the entry, the events linked to it, and its audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressionDetail {
    pub suppression: Suppression,
    pub events: Vec<Event>,
    pub history: Vec<AuditEntry>,
}

/// One item of `POST /api/v1/events`. Exactly one of `reply`, `message`, `message_base64` or
/// `kind` says what happened (or `spam_trap: true` alone); the other fields describe the send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// The recipient. Required with `reply` and `kind`; with a bounce email, used only when the
    /// email names none.
    #[serde(default)]
    pub recipient: Option<String>,
    /// An SMTP reply as the MTA logged it (`550 5.1.1 ... user unknown`).
    #[serde(default)]
    pub reply: Option<String>,
    /// A whole bounce email (DSN, ARF report, provider notice), as text.
    #[serde(default)]
    pub message: Option<String>,
    /// The same, base64-encoded (for 8-bit or binary messages).
    #[serde(default)]
    pub message_base64: Option<String>,
    /// A pre-classified event: `delivered`, `hard`, `soft`, `block`, `complaint`, `unsubscribe`, ...
    #[serde(default)]
    pub kind: Option<rebound_core::Kind>,
    /// With `kind`: the reason, when the sender knows it.
    #[serde(default)]
    pub reason: Option<rebound_core::Reason>,
    /// The recipient is a known spam trap: suppress at once.
    #[serde(default)]
    pub spam_trap: bool,
    /// Where the event came from (`api` by default for keys, `console` for staff).
    #[serde(default)]
    pub source: Option<String>,
    /// Repeated deliveries of the same key are recorded once.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// When it happened, in Unix seconds (default: when received).
    #[serde(default)]
    pub occurred_at: Option<i64>,
    #[serde(default)]
    pub campaign: Option<String>,
    /// The stream or list: the scope of an unsubscribe.
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub sending_ip: Option<String>,
    #[serde(default)]
    pub isp: Option<String>,
}

/// A batch for `POST /api/v1/events` (a single `EventInput` is accepted too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<EventInput>,
}

/// A bulk import's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// One address (or domain) per line; `#` starts a comment line.
    Text,
    /// A header line naming the columns: `address` (or `email`) and optionally `reason`,
    /// `scope`, `note`, `expires_at` (Unix seconds or RFC 3339).
    Csv,
}

impl ImportFormat {
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Text => "text",
            ImportFormat::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(ImportFormat::Text),
            "csv" => Some(ImportFormat::Csv),
            _ => None,
        }
    }
}

/// `POST /api/v1/imports`: declares an import; the file follows with `PUT /imports/{id}/data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateImport {
    pub format: ImportFormat,
    /// Scope of lines that don't name one (default `global`).
    #[serde(default)]
    pub scope: Option<String>,
    /// Reason of lines that don't name one (default `manual`).
    #[serde(default)]
    pub reason: Option<SuppressionReason>,
}

/// A line an import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedLine {
    /// 1-based line number in the file.
    pub line: u64,
    pub text: String,
    pub error: String,
}

/// An import job and its progress. Counts only ever include committed batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: i64,
    pub format: ImportFormat,
    pub scope: String,
    pub reason: SuppressionReason,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// `waiting` (for its data), `running`, `done`, `failed`, or `interrupted` (its upload broke
    /// off or its process stopped: the same file uploaded again resumes it).
    pub state: String,
    /// The upload's size when the client announced it.
    pub bytes_total: Option<i64>,
    pub bytes_read: i64,
    pub lines: i64,
    pub created: i64,
    pub reopened: i64,
    pub unchanged: i64,
    pub rejected: i64,
    /// The first rejected lines (up to 1,000) with their line numbers.
    pub rejected_lines: Vec<RejectedLine>,
    pub error: Option<String>,
}

/// A verdict in brief, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictBrief {
    pub kind: rebound_core::Kind,
    pub reason: rebound_core::Reason,
    pub rule: String,
}

/// One stored event whose verdict a proposed policy would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictChange {
    pub event_id: i64,
    pub recipient: Option<String>,
    pub before: VerdictBrief,
    pub after: VerdictBrief,
}

/// `POST /api/v1/settings/policy/preview`: what a proposed policy would change in the verdicts
/// of recent stored events (each classified again under the current and the proposed policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPreview {
    pub events_checked: u64,
    pub changed: u64,
    /// Counts per change of kind, such as `"hard → block"`.
    pub by_change: std::collections::BTreeMap<String, u64>,
    /// Up to 20 of the changed events.
    pub sample: Vec<VerdictChange>,
}

/// `POST /api/v1/suppressions/lift-by-cause`: undo what a misfiring rule or integration did.
/// At least one of `rule`, `source` or a time range must be given. Without `confirm` nothing
/// changes and the answer is a preview (the count and a sample).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftByCause {
    /// The classifier rule whose verdicts suppressed the entries.
    #[serde(default)]
    pub rule: Option<String>,
    /// The source that suppressed them (`api`, `import:12`, ...).
    #[serde(default)]
    pub source: Option<String>,
    /// Entries put in force at or after this time (Unix seconds).
    #[serde(default)]
    pub from: Option<i64>,
    /// ... and before this time.
    #[serde(default)]
    pub until: Option<i64>,
    /// Why they are lifted; required to confirm.
    #[serde(default)]
    pub reason: Option<String>,
    /// Lift complaints too (otherwise they are left and counted).
    #[serde(default)]
    pub include_complaints: bool,
    /// Do it; without this the answer is a preview.
    #[serde(default)]
    pub confirm: bool,
}

/// The answer to `lift-by-cause`: a preview (`lifted` 0) or what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiftByCauseResult {
    pub matched: u64,
    pub lifted: u64,
    pub complaints_skipped: u64,
    /// Up to 20 of the matching (or lifted) entries.
    pub sample: Vec<Suppression>,
}

/// `POST /api/v1/reevaluate`: classify stored events again under the current policy and apply
/// the difference to the list. Without `confirm` it is a preview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reevaluate {
    /// Events received at or after this time (Unix seconds).
    #[serde(default)]
    pub from: Option<i64>,
    /// ... and before this time.
    #[serde(default)]
    pub until: Option<i64>,
    /// Why; required to confirm.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub confirm: bool,
}

/// What a re-evaluation found (and, confirmed, did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReevaluateResult {
    pub verdicts: PolicyPreview,
    /// Events whose new verdict suppresses where the old one did not.
    pub would_suppress: u64,
    /// Suppressions caused by an event whose new verdict would not have suppressed.
    pub would_lift: u64,
    pub suppressed: u64,
    pub lifted: u64,
}

/// `GET /api/v1/unclassified`: the verdicts no rule explained, grouped by the shape of their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unclassified {
    /// The stored events read (the newest `unknown` ones of the window, at most a limit).
    pub events_read: u64,
    /// The groups, largest first.
    pub groups: Vec<UnclassifiedGroup>,
}

/// Unexplained verdicts whose texts have one shape (see `rebound_core::shape`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnclassifiedGroup {
    /// The text with addresses, IP addresses, numbers and ids replaced by placeholders.
    pub shape: String,
    pub count: u64,
    /// Distinct recipients among them.
    pub recipients: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// A staff rule pattern that matches the group's texts, to narrow before saving.
    pub draft_pattern: String,
    /// Up to five of the group's texts as they came, newest first, with their events.
    pub examples: Vec<UnclassifiedExample>,
}

/// One unexplained text and the event it came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnclassifiedExample {
    pub event_id: i64,
    pub recipient: Option<String>,
    pub text: String,
}

/// A staff account as listed (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub role: Role,
    /// At least 12 characters; when absent a password is generated and shown once.
    #[serde(default)]
    pub password: Option<String>,
}

/// `PATCH /api/v1/users/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A created account or a reset password; `password` is set only when it was generated, and is
/// shown only in this answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserWithPassword {
    pub user: UserInfo,
    pub password: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_omits_absent_field() {
        let body =
            ErrorBody { error: ErrorDetail { code: "not_found".into(), message: "no such thing".into(), field: None } };
        assert_eq!(
            serde_json::to_string(&body).ok().as_deref(),
            Some(r#"{"error":{"code":"not_found","message":"no such thing"}}"#)
        );
    }
}
