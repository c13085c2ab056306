//! The storage boundary of Rebound: a `Store` trait that the server holds as `Arc<dyn Store>`, and
//! the records it reads and writes. Each database has its own crate implementing it
//! (`rebound-store-sqlite`, `rebound-store-postgres`); SQL lives only there.
//!
//! Writes go through a transaction (`Tx`) whose primitives are plain SQL in each backend, while
//! the algorithms built from them — ingesting events under the policy, suppressing, lifting,
//! appending to the audit chain — live once, in `ops`, so both backends behave identically by
//! construction. A backend serialises its write transactions (SQLite: one writer connection;
//! PostgreSQL: a transaction-scoped advisory lock), which keeps soft-bounce counts and the audit
//! hash chain consistent even with several server replicas.
//!
//! Times cross this boundary as Unix seconds (`i64`) and are passed in by the caller, never read
//! here, so that behaviour that depends on time is testable.

pub mod audit;
mod ingest;
pub mod monitor;
pub mod ops;
mod records;
pub mod rows;
mod sql;
mod sql_monitor;

pub use records::*;

use async_trait::async_trait;
use rebound_api::v1::{ApiKey, AuditEntry, Event, ImportJob, ListChange, Role, Suppression};

/// What can go wrong in a store. Backends map their own errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (for example a second user with the same name).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// The event at this index of an ingested batch reuses an idempotency key that was first sent
    /// with a different payload.
    #[error("the idempotency key of event {event} was used before with a different payload")]
    KeyReused { event: usize },
    /// A stored value could not be read back (a corrupted or hand-edited row).
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One write transaction. Dropping it without `commit` rolls everything back, so a failure half
/// way leaves no partial state.
#[async_trait]
pub trait Tx: monitor::MonitorTx + Send {
    /// Commits; says which change-feed rows the transaction wrote, if any, so that the pre-send
    /// index can take this process's own changes without reading them back.
    async fn commit(self: Box<Self>) -> Result<Committed, StoreError>;

    /// Stored events carrying any of these idempotency keys, with their key and payload digest.
    async fn events_by_idempotency_keys(&mut self, keys: &[&str]) -> Result<Vec<KeyedEvent>, StoreError>;
    /// Soft bounces, deliveries and unexplained permanent failures of these recipients at or after
    /// `since`, for soft-bounce counts; a last delivery marked by an MTA's log comes with the id
    /// `i64::MAX` (it has no event: at the same second, it is taken as the later).
    async fn soft_history(&mut self, recipient_keys: &[&str], since: i64) -> Result<Vec<HistoryMark>, StoreError>;
    /// Marks each recipient key's last delivery at the given time, unless a later one is marked.
    /// A key comes at most once.
    async fn mark_deliveries(&mut self, marks: &[(&str, i64)]) -> Result<(), StoreError>;
    /// Inserts events in one statement per few thousand; returns their ids in the given order.
    async fn insert_events(&mut self, events: &[EventRow<'_>]) -> Result<Vec<i64>, StoreError>;
    /// Replaces a stored event's verdict (re-evaluation), linking it to `suppression_id` when given.
    async fn set_event_verdict(
        &mut self,
        id: i64,
        verdict: &rebound_api::v1::Verdict,
        verdict_json: &str,
        suppression_id: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Every entry (any scope, active or not) of these keys, with its key.
    async fn suppressions_by_keys(&mut self, keys: &[&str]) -> Result<Vec<(String, Suppression)>, StoreError>;
    /// Inserts new entries in one statement per few thousand; returns them in the given order.
    async fn insert_suppressions(&mut self, new: &[NewSuppression<'_>]) -> Result<Vec<Suppression>, StoreError>;
    async fn suppression_by_key(&mut self, scope: &str, key: &str) -> Result<Option<Suppression>, StoreError>;
    async fn suppression_by_id(&mut self, id: i64) -> Result<Option<Suppression>, StoreError>;
    async fn insert_suppression(&mut self, new: &NewSuppression<'_>) -> Result<Suppression, StoreError>;
    /// Makes a lifted entry active again with the new cause.
    async fn reopen_suppression(&mut self, id: i64, new: &NewSuppression<'_>) -> Result<Suppression, StoreError>;
    async fn lift_suppression(&mut self, id: i64, lift: &Lift<'_>) -> Result<Suppression, StoreError>;
    /// Inserts imported rows (distinct scope and key within one call), reopening lifted entries
    /// and leaving active ones alone; counts what changed, with the changed entries when
    /// `want_entries` (for a pre-send index to apply).
    async fn import_suppressions(
        &mut self,
        rows: &[ImportRow],
        source: &str,
        now: i64,
        want_entries: bool,
    ) -> Result<ImportCounts, StoreError>;
    /// Saves a job's progress and state.
    async fn update_import(&mut self, job: &ImportJob) -> Result<(), StoreError>;

    /// The hash of the newest audit row (all zeros for an empty log).
    async fn last_audit_hash(&mut self) -> Result<[u8; 32], StoreError>;
    async fn insert_audit(&mut self, row: &audit::AuditRow) -> Result<i64, StoreError>;
    async fn insert_audits(&mut self, rows: &[audit::AuditRow]) -> Result<(), StoreError>;

    async fn setting(&mut self, name: &str) -> Result<Option<String>, StoreError>;
    async fn put_setting(&mut self, name: &str, value: &str, now: i64) -> Result<(), StoreError>;

    /// Creates a user; `Conflict` if the name (compared case-insensitively) is taken.
    async fn insert_user(&mut self, user: &NewUser<'_>) -> Result<User, StoreError>;
    async fn user_by_id(&mut self, id: i64) -> Result<Option<User>, StoreError>;
    /// Active admins other than `except`.
    async fn other_active_admins(&mut self, except: i64) -> Result<u64, StoreError>;
    /// Sets role and disabled state; disabling also ends the user's sessions.
    async fn update_user(&mut self, id: i64, role: Role, disabled: bool) -> Result<User, StoreError>;
    /// Replaces the password hash and ends the user's sessions.
    async fn set_password(&mut self, id: i64, password_hash: &str) -> Result<(), StoreError>;

    async fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> Result<ApiKey, StoreError>;
    async fn revoke_api_key(&mut self, id: i64, now: i64) -> Result<Option<ApiKey>, StoreError>;
}

/// Everything the server needs from a database. Implementations must make every write durable
/// before returning `Ok`: the server acknowledges with a 2xx only what is on disk.
#[async_trait]
pub trait Store: monitor::MonitorStore + Send + Sync + 'static {
    /// A short name of the backend, for health reports (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The database triggers that keep the list and the audit log from being deleted or rewritten
    /// (and keep the change feed whole) which are missing: someone with access to the database
    /// dropped them. Empty when all are in place.
    async fn missing_guards(&self) -> Result<Vec<&'static str>, StoreError>;

    /// Starts a write transaction; write transactions are serialised.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;

    async fn count_users(&self) -> Result<u64, StoreError>;

    /// A page of staff accounts, newest first: at most `limit`, with ids below `before_id` when given.
    async fn users(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<User>, StoreError>;

    /// Finds a user by name, case-insensitively.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;

    async fn create_session(&self, session: NewSession<'_>) -> Result<(), StoreError>;

    /// The user of a session that has not expired at `now`.
    async fn session_user(&self, token_digest: &[u8], now: i64) -> Result<Option<User>, StoreError>;

    async fn delete_session(&self, token_digest: &[u8]) -> Result<(), StoreError>;

    /// A key by the SHA-256 digest of its token (revoked keys included: the caller refuses them).
    async fn api_key_by_digest(&self, digest: &[u8]) -> Result<Option<ApiKey>, StoreError>;
    /// A page of API keys (revoked ones included), newest first, like `users`.
    async fn api_keys(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<ApiKey>, StoreError>;

    async fn suppression(&self, id: i64) -> Result<Option<Suppression>, StoreError>;
    /// A page of the list; see `SuppressionQuery` for order and cursor.
    async fn suppressions(&self, query: &SuppressionQuery) -> Result<Vec<Suppression>, StoreError>;
    /// Active entries with an id above `after_id`, in id order: how the pre-send index is loaded.
    async fn active_suppressions(&self, after_id: i64, limit: u32) -> Result<Vec<IndexEntry>, StoreError>;
    /// The entries the change feed names after sequence `after`, in sequence order, each with its
    /// sequence and its state now (at most `limit` rows): how the pre-send index follows changes
    /// made elsewhere (other replicas, the command line on the same file).
    async fn changed_entries(&self, after: i64, limit: u32) -> Result<Vec<(i64, IndexEntry)>, StoreError>;
    /// The events linked to an entry (newest first, at most `limit`).
    async fn suppression_events(&self, id: i64, limit: u32) -> Result<Vec<Event>, StoreError>;

    /// The newest events whose verdict is `unknown`, received at or after `since` (at most
    /// `limit`), without their raw input.
    async fn unknown_events(&self, since: i64, limit: u32) -> Result<Vec<UnknownEvent>, StoreError>;

    /// The newest events stored with a reply or message that can be classified again, received in
    /// `[from, until)` when given.
    async fn reclassifiable_events(
        &self,
        from: Option<i64>,
        until: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredInput>, StoreError>;

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Audit rows with their hashes in id order from `after_id`, for verifying the chain.
    async fn audit_chain(&self, after_id: i64, limit: u32) -> Result<Vec<audit::ChainRow>, StoreError>;

    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn create_import(&self, job: &NewImport<'_>) -> Result<ImportJob, StoreError>;
    async fn import_job(&self, id: i64) -> Result<Option<ImportJob>, StoreError>;
    /// Moves a `waiting` or `interrupted` job to `running` and returns it (an interrupted one with
    /// its committed progress, `bytes_read` from 0 again); `None` otherwise, so only one upload at
    /// a time ever feeds a job.
    async fn claim_import(&self, id: i64, now: i64) -> Result<Option<ImportJob>, StoreError>;
    /// Marks `interrupted` every `running` job not updated since `stale_before` (its process
    /// stopped: a running import commits its progress at least every few seconds), and answers how
    /// many.
    async fn interrupt_stale_imports(&self, stale_before: i64, now: i64) -> Result<u64, StoreError>;
    /// Where a followed log was last read to: its file's identity and the byte position.
    async fn ingest_offset(&self, source: &str) -> Result<Option<(String, i64)>, StoreError>;
    /// Records where a followed log has been read to.
    async fn save_ingest_offset(&self, source: &str, file_id: &str, position: i64, now: i64) -> Result<(), StoreError>;
    /// The most recent jobs, newest first.
    async fn import_jobs(&self, limit: u32) -> Result<Vec<ImportJob>, StoreError>;

    /// The change feed after `after`, in sequence order: at most `limit` changes.
    async fn list_changes(&self, after: i64, limit: u32) -> Result<Vec<ListChange>, StoreError>;

    /// The change feed's latest sequence (0 when it is empty).
    async fn last_change(&self) -> Result<i64, StoreError>;

    /// Waits for suppressions changed by other processes: other replicas on PostgreSQL (`LISTEN`),
    /// the command line (`rebound import`, `rebound ingest`) writing to the same SQLite file.
    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError>;
}

/// A wake-up when another process may have changed the list; what changed is read from the
/// change feed's table (`changed_entries`), which every write fills in its own transaction.
#[async_trait]
pub trait ChangeFeed: Send {
    /// Returns when the change feed may have grown (a notification, or a poll interval).
    async fn next(&mut self) -> Result<(), StoreError>;
}

/// Reads a stored role name back.
pub fn role_from_db(name: &str) -> Result<Role, StoreError> {
    Role::parse(name).ok_or_else(|| StoreError::Corrupt { what: "role", detail: name.to_owned() })
}
