//! The SQLite implementation of `Store`: Rebound's zero-setup default, one database file.
//!
//! The file runs in WAL mode with `synchronous = FULL`, so a committed write survives a crash or a
//! power cut and readers never wait for the writer. Migrations from `migrations/sqlite` are
//! embedded and applied by `open`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rebound_store::{NewSession, NewUser, Store, StoreError, User, role_from_db};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A store on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(backend)?;
        Ok(Self { pool })
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn write_error(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        _ => backend(e),
    }
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id").map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        password_hash: row.try_get("password_hash").map_err(backend)?,
        role: role_from_db(row.try_get("role").map_err(backend)?)?,
        disabled: row.try_get("disabled").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

/// The columns `user_from_row` reads, as a literal so queries stay `&'static str` (and prepared once).
macro_rules! user_columns {
    () => {
        "users.id, users.username, users.password_hash, users.role, users.disabled, users.created_at"
    };
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&self.pool).await.map_err(backend)?;
        Ok(n.unsigned_abs())
    }

    async fn create_user(&self, user: NewUser<'_>) -> Result<User, StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING ",
            user_columns!()
        ))
        .bind(user.username)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(user.now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| write_error(e, "user"))?;
        user_from_row(&row)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE lower(username) = lower(?)"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_session(&self, session: NewSession<'_>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_digest, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(session.token_digest)
            .bind(session.user_id)
            .bind(session.created_at)
            .bind(session.expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "session"))?;
        Ok(())
    }

    async fn session_user(&self, token_digest: &[u8], now: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions JOIN users ON users.id = sessions.user_id \
             WHERE sessions.token_digest = ? AND sessions.expires_at > ?"
        ))
        .bind(token_digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_digest: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_digest = ?")
            .bind(token_digest)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
