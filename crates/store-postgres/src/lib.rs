//! The PostgreSQL implementation of `Store`: the scale-out path, where several stateless server
//! replicas share one database. Migrations from `migrations/postgres` (same versions as SQLite's)
//! are embedded and applied by `connect`; PostgreSQL's migration lock makes concurrent starts safe.

use std::time::Duration;

use async_trait::async_trait;
use rebound_store::{NewSession, NewUser, Store, StoreError, User, role_from_db};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A store on one PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(backend)?;
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

fn user_from_row(row: &PgRow) -> Result<User, StoreError> {
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
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
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
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE lower(username) = lower($1)"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_session(&self, session: NewSession<'_>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
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
             WHERE sessions.token_digest = $1 AND sessions.expires_at > $2"
        ))
        .bind(token_digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_digest: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
