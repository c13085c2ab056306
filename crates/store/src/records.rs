//! The records that cross the store boundary, and the parsing of stored names back into types.

use rebound_api::v1::{ImportFormat, KeyScope, Outcome, Role, SuppressionReason, Verdict};
use rebound_policy::Target;

use crate::StoreError;

/// A staff account. `password_hash` is an argon2 PHC string; the plain password is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A user to create.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub now: i64,
}

/// A signed-in browser session, found by the SHA-256 digest of its cookie token.
pub struct NewSession<'a> {
    pub token_digest: &'a [u8],
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Who made a change, as written in the audit log and on lifted entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    /// An API key, by id (names need not be unique: a rotated key may keep its old name) and name.
    Key {
        id: i64,
        name: String,
    },
    /// The policy acting on an event.
    System,
    /// Someone with shell access to the server, through the `rebound` command.
    Cli,
    /// The bounce mailbox: mail a remote system sent to the return path (`smtp`).
    Mailbox,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(name) => write!(f, "user:{name}"),
            Actor::Key { id, name } => write!(f, "key:{id}:{name}"),
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
            Actor::Mailbox => f.write_str("smtp"),
        }
    }
}

/// A suppression to create (or to reopen a lifted entry with).
#[derive(Debug, Clone)]
pub struct NewSuppression<'a> {
    pub target: &'a Target,
    pub scope: &'a str,
    pub reason: SuppressionReason,
    pub source: &'a str,
    /// Who put it there (`Actor`'s display): the change feed's actor of its `added` row.
    pub added_by: &'a str,
    pub rule: Option<&'a str>,
    pub note: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub now: i64,
}

/// Lifting an entry: who, why, when.
#[derive(Debug, Clone)]
pub struct Lift<'a> {
    pub by: &'a str,
    pub reason: &'a str,
    pub now: i64,
}

/// An incoming event, classified, before the policy has looked at it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// When it happened (as reported; defaults to `received_at`).
    pub at: i64,
    pub received_at: i64,
    pub source: String,
    /// What the verdict was read from: `reply`, `message` (a bounce email) or `event` (the sender
    /// classified it). Stored replies and messages can be classified again under a new policy.
    pub input: &'static str,
    pub idempotency_key: Option<String>,
    pub recipient: Option<Target>,
    pub verdict: Verdict,
    /// The sender reported a spam-trap hit.
    pub spam_trap: bool,
    pub campaign: Option<String>,
    pub stream: Option<String>,
    pub sending_ip: Option<String>,
    pub isp: Option<String>,
    /// The input as received (bytes exactly: a NUL or a part that is not UTF-8 is kept), already
    /// cut to the storage limit.
    pub raw: Option<Vec<u8>>,
    /// The SHA-256 of the request item it came from, stored with the idempotency key so that the
    /// same key with another payload is told apart from a repeat.
    pub payload_digest: Option<[u8; 32]>,
    /// A delivery read from an MTA's log: counted, and marked as its recipient's last delivery,
    /// but not stored as an event of its own (most of a log's records are deliveries, and an
    /// event row each would make the log's volume the database's). Its idempotency key is kept
    /// among the counted records, so the same record read again counts nothing twice.
    pub mark_only: bool,
}

/// An event whose verdict is `unknown`, as the unclassified view reads it.
#[derive(Debug, Clone)]
pub struct UnknownEvent {
    pub id: i64,
    pub received_at: i64,
    pub recipient: Option<String>,
    pub verdict: rebound_api::v1::Verdict,
}

/// A stored event with the bytes of its input, for classifying it again.
#[derive(Debug, Clone)]
pub struct StoredInput {
    pub event: rebound_api::v1::Event,
    pub raw: Vec<u8>,
}

/// A stored event found by its idempotency key.
#[derive(Debug, Clone)]
pub struct KeyedEvent {
    pub key: String,
    pub event: rebound_api::v1::Event,
    /// `None` for events stored before payload digests were kept.
    pub payload_digest: Option<Vec<u8>>,
}

/// An event as written: the event, what the policy did, and the entry it is evidence for.
pub struct EventRow<'a> {
    pub event: &'a NewEvent,
    pub verdict_json: &'a str,
    pub outcome: &'a Outcome,
    pub outcome_json: &'a str,
    pub suppression_id: Option<i64>,
}

/// A soft bounce, a delivery or an unexplained permanent failure in a recipient's recent history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryMark {
    pub recipient_key: String,
    pub at: i64,
    pub id: i64,
    pub delivered: bool,
    /// An unexplained permanent failure (kind `unknown`), which counts only when the policy says so.
    pub unexplained: bool,
}

/// An API key to create; only the digest of its token is stored.
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_digest: &'a [u8],
    pub scopes: &'a [KeyScope],
    pub created_by: &'a str,
    pub now: i64,
}

/// The change feed's rows one committed transaction wrote before its commit: the sequences after
/// `after`, up to and including `last` (on PostgreSQL the rows of entries it changed, rather than
/// created, are numbered at commit, after `last`, and are read back by the follower). Writers are
/// serialised (SQLite's write lock, PostgreSQL's advisory lock), so no other transaction's rows fall
/// between them; a reader that has applied the feed up to `after` can take the transaction's own
/// changes and skip reading these rows back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSpan {
    pub after: i64,
    pub last: i64,
}

/// A committed transaction, with the change-feed rows it wrote. A write to the list hands them on
/// (`feed`) to the server, which publishes them (the pre-send index, long polls of the feed); any
/// other write says it changed no entry (`unlisted`), which debug builds (the tests) check, so a
/// new write path that forgets to publish fails its first test.
#[must_use = "publish the changes (`feed`) or say there are none (`unlisted`)"]
#[derive(Debug)]
pub struct Committed {
    feed: Option<FeedSpan>,
    /// Whether the transaction wrote to the list at all (its feed rows may all be numbered at commit).
    listed: bool,
}

impl Committed {
    /// What a store's `commit` returns: whether the transaction wrote to the list, and the
    /// change-feed rows it wrote before its commit.
    pub fn new(listed: bool, feed: Option<FeedSpan>) -> Self {
        Self { feed, listed }
    }

    /// The change-feed rows this transaction wrote before its commit, if any.
    pub fn feed(self) -> Option<FeedSpan> {
        self.feed
    }

    /// For a transaction that changed no entry of the list.
    pub fn unlisted(self) {
        debug_assert!(!self.listed, "a transaction that wrote to the list was not published: {:?}", self.feed);
    }
}

/// What the pre-send index keeps of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub id: i64,
    /// The normalised key (`local@domain` lower-cased, or `@domain`).
    pub key: String,
    pub scope: String,
    pub reason: SuppressionReason,
    pub active: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// One line of an import, checked and normalised.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub target: Target,
    pub scope: String,
    pub reason: SuppressionReason,
    pub note: Option<String>,
    pub expires_at: Option<i64>,
}

/// What importing a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    /// Lifted entries in force again.
    pub reopened: u64,
    /// The entries that changed, when asked for.
    pub entries: Vec<IndexEntry>,
}

/// An import job to create.
pub struct NewImport<'a> {
    pub format: ImportFormat,
    pub scope: &'a str,
    pub reason: SuppressionReason,
    pub created_by: &'a str,
    pub now: i64,
}

/// Order of a suppression list page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressionCursor {
    /// Newest first; continue below this id.
    BeforeId(i64),
    /// By key (for prefix search); continue after this (key, scope).
    AfterKey(String, String),
}

/// Filters of a suppression list page. With `key_prefix` the page is ordered by key, otherwise
/// newest first.
#[derive(Debug, Clone, Default)]
pub struct SuppressionQuery {
    pub key_prefix: Option<String>,
    pub domain: Option<String>,
    pub reason: Option<SuppressionReason>,
    pub scope: Option<String>,
    pub source: Option<String>,
    pub rule: Option<String>,
    /// In force (`true`: active and not past its expiry at `now`) or not (lifted, or expired).
    pub active: Option<bool>,
    /// The time `active` is judged at (Unix seconds).
    pub now: i64,
    pub created_from: Option<i64>,
    pub created_until: Option<i64>,
    /// Last put in force (created, reopened or escalated) in this range.
    pub changed_from: Option<i64>,
    pub changed_until: Option<i64>,
    pub cursor: Option<SuppressionCursor>,
    pub limit: u32,
}

/// Filters of an audit page, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// An action or an action family (`suppression` matches `suppression.add`, ...).
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

pub fn reason_from_db(name: &str) -> Result<SuppressionReason, StoreError> {
    SuppressionReason::parse(name)
        .ok_or_else(|| StoreError::Corrupt { what: "suppression reason", detail: name.into() })
}

/// Scopes are stored space-separated.
pub fn scopes_to_db(scopes: &[KeyScope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

pub fn scopes_from_db(text: &str) -> Result<Vec<KeyScope>, StoreError> {
    text.split_whitespace()
        .map(|s| KeyScope::parse(s).ok_or_else(|| StoreError::Corrupt { what: "key scope", detail: s.into() }))
        .collect()
}

/// Reads a JSON column back.
pub fn json_from_db<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { what, detail: e.to_string() })
}
