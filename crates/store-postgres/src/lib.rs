//! The PostgreSQL implementation of `Store`: the scale-out path, where several stateless server
//! replicas share one database. Migrations from `migrations/postgres` (same versions as SQLite's)
//! are embedded and applied by `connect`; PostgreSQL's migration lock makes concurrent starts safe.
//!
//! Write transactions take one transaction-scoped advisory lock, so writes are serialised across
//! every replica exactly as SQLite serialises them: soft-bounce counts and the audit hash chain
//! stay consistent without retry loops. A commit that changed suppressions notifies the
//! `rebound_suppressions` channel (inside the transaction, so the notification is delivered only
//! if the commit succeeds); every replica `LISTEN`s and then reads the change feed's new rows into
//! its pre-send index.
//! The statements themselves are shared with SQLite (`rebound_store::sql_store!`).

use std::time::Duration;

use async_trait::async_trait;
use rebound_store::rows::backend;
use rebound_store::{ChangeFeed, StoreError, Tx};
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The notification channel of suppression changes.
const CHANNEL: &str = "rebound_suppressions";
/// The advisory lock key that serialises write transactions ("rebound" in ASCII).
const WRITE_LOCK: i64 = 0x0072_6562_6f75_6e64;

/// A store on one PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    reader: PgPool,
    writer: PgPool,
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
        Ok(Self { reader: pool.clone(), writer: pool })
    }
}

/// Wakes every replica's index on commit (a notification is delivered only if the transaction
/// commits); what changed is read from the change feed's table.
async fn announce(tx: &mut sqlx::Transaction<'static, Postgres>) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

/// The lock under which the change feed's sequence numbers are drawn, held to the end of the
/// commit, so that they are in commit order across replicas (the feed's trigger takes it too).
async fn feed_lock(tx: &mut sqlx::Transaction<'static, Postgres>) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(7365021)").execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

/// Notifications of `CHANNEL`.
struct Feed(PgListener);

#[async_trait]
impl ChangeFeed for Feed {
    async fn next(&mut self) -> Result<(), StoreError> {
        // `None`: the connection was lost and re-established, and notifications may have been
        // missed; the reader catches up from the table either way.
        self.0.try_recv().await.map_err(backend)?;
        Ok(())
    }
}

/// The triggers the migrations create to guard the list, the audit log and the change feed (a
/// disabled one counts as missing).
const GUARDS: [&str; 4] =
    ["suppressions_never_deleted", "audit_log_no_update", "audit_log_no_truncate", "suppression_changes_feed"];

rebound_store::sql_store! {
    db: Postgres,
    store: PostgresStore,
    tx: PostgresTx,
    announce: announce,
    feed_lock: feed_lock,
    specific: {
        fn backend(&self) -> &'static str {
            "postgres"
        }

        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.reader).await.map_err(backend)?;
            Ok(())
        }

        async fn missing_guards(&self) -> Result<Vec<&'static str>, StoreError> {
            let present: Vec<String> = sqlx::query_scalar(
                "SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'",
            )
            .fetch_all(&self.reader)
            .await
            .map_err(backend)?;
            Ok(GUARDS.iter().copied().filter(|g| !present.iter().any(|p| p == g)).collect())
        }

        async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
            let mut tx = self.writer.begin().await.map_err(backend)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(&mut *tx).await.map_err(backend)?;
            Ok(Box::new(PostgresTx::new(tx)))
        }

        async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
            let mut listener = PgListener::connect_with(&self.reader).await.map_err(backend)?;
            listener.listen(CHANNEL).await.map_err(backend)?;
            Ok(Some(Box::new(Feed(listener))))
        }
    }
}

rebound_store::monitor_sql! { db: ::sqlx::Postgres, store: PostgresStore, tx: PostgresTx }
