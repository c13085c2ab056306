//! The storage boundary of Rebound: a `Store` trait that the server holds as `Arc<dyn Store>`, and
//! the records it reads and writes. Each database has its own crate implementing it
//! (`rebound-store-sqlite`, `rebound-store-postgres`); SQL lives only there.
//!
//! Times cross this boundary as Unix seconds (`i64`) and are passed in by the caller, never read
//! here, so that behaviour that depends on time is testable.

use async_trait::async_trait;
use rebound_api::v1::Role;

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

/// What can go wrong in a store. Backends map their own errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (for example a second user with the same name).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// A stored value could not be read back (a corrupted or hand-edited row).
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Everything the server needs from a database. Implementations must make every write durable
/// before returning `Ok`: the server acknowledges with a 2xx only what is on disk.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name of the backend, for health reports (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn count_users(&self) -> Result<u64, StoreError>;

    /// Creates a user; `Conflict` if the name (compared case-insensitively) is taken.
    async fn create_user(&self, user: NewUser<'_>) -> Result<User, StoreError>;

    /// Finds a user by name, case-insensitively.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;

    async fn create_session(&self, session: NewSession<'_>) -> Result<(), StoreError>;

    /// The user of a session that has not expired at `now`.
    async fn session_user(&self, token_digest: &[u8], now: i64) -> Result<Option<User>, StoreError>;

    async fn delete_session(&self, token_digest: &[u8]) -> Result<(), StoreError>;
}

/// Reads a stored role name back.
pub fn role_from_db(name: &str) -> Result<Role, StoreError> {
    Role::parse(name).ok_or_else(|| StoreError::Corrupt { what: "role", detail: name.to_owned() })
}
