//! The SQLite implementation of `Store`: Rebound's zero-setup default, one database file.
//!
//! The file runs in WAL mode with `synchronous = FULL`, so a committed write survives a crash or a
//! power cut and readers never wait for the writer. All writes go through one connection (the
//! `writer` pool has exactly one), and write transactions start with `BEGIN IMMEDIATE`: SQLite
//! allows one writer at a time anyway, and taking the write lock up front means a transaction
//! never fails half way because another one wrote first. Reads use a separate pool. Migrations
//! from `migrations/sqlite` are embedded and applied by `open`, one process at a time (a lock file
//! beside the database). The statements themselves are
//! shared with PostgreSQL (`rebound_store::sql_store!`).
//!
//! One server process serves the file, but the command line (`rebound import`, `rebound ingest`)
//! may write to it while the server runs: the change feed polls the `suppression_changes` table
//! (see `Poll`), so the server's pre-send index learns of those writes within a poll interval.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rebound_store::rows::backend;
use rebound_store::{ChangeFeed, StoreError, Tx};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A store on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
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
            .busy_timeout(Duration::from_secs(10))
            // Checkpoint every 256 MiB of WAL rather than every 4 MiB: index pages that many
            // transactions touch are copied into the database file once, not once per few batches
            // (a million-address import: 12–13 s instead of 13–16 s).
            .pragma("wal_autocheckpoint", "65536");
        // Page cache (SQLite's default is 2 MiB, and it is per connection): 128 MiB for the one
        // writer, so the list's indexes stay in memory while a million rows are imported; 16 MiB
        // for each reader.
        // Creating the file, turning on WAL and migrating happen under the migration lock.
        let lock = migration_lock(path).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().pragma("cache_size", "-131072"))
            .await
            .map_err(backend)?;
        MIGRATOR.run(&writer).await.map_err(backend)?;
        drop(lock);
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.pragma("cache_size", "-16384"))
            .await
            .map_err(backend)?;
        Ok(Self { reader, writer })
    }
}

/// Takes the exclusive lock on `<file>.migrate-lock` beside the database, held while a process
/// creates the file, turns on WAL and brings the schema up to date: a server and a command started
/// together on a new (or just upgraded) file would otherwise both apply the same migration, and one
/// of them fail. Released when dropped (or when the process ends).
async fn migration_lock(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".migrate-lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| failure(format!("cannot open the migration lock {}: {e}", name.display())))?;
    tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .map_err(|e| failure(format!("waiting for the migration lock failed: {e}")))?
        .map_err(|e| failure(format!("cannot take the migration lock: {e}")))
}

fn failure(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// SQLite has no notifications between processes: readers poll (see `Poll`).
async fn announce(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    Ok(())
}

/// SQLite serialises writers: the change feed's row order is the commit order already.
async fn feed_lock(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    Ok(())
}

/// The triggers the migrations create to guard the list, the audit log and the change feed.
const GUARDS: [&str; 4] =
    ["suppressions_never_deleted", "audit_log_no_update", "audit_log_no_delete", "suppression_changes_updated"];

/// How often the index looks for changes made by other processes.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The change feed's wake-up on a SQLite file: a timer. SQLite has no notifications between
/// processes, so the reader looks at the `suppression_changes` rows after the last one it applied
/// every interval; that is one indexed range read, and finds nothing unless another process wrote
/// (this process's own writes are taken at commit and not read back).
struct Poll;

#[async_trait::async_trait]
impl ChangeFeed for Poll {
    async fn next(&mut self) -> Result<(), StoreError> {
        tokio::time::sleep(POLL_INTERVAL).await;
        Ok(())
    }
}

rebound_store::sql_store! {
    db: Sqlite,
    store: SqliteStore,
    tx: SqliteTx,
    announce: announce,
    feed_lock: feed_lock,
    specific: {
        fn backend(&self) -> &'static str {
            "sqlite"
        }

        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.reader).await.map_err(backend)?;
            Ok(())
        }

        async fn missing_guards(&self) -> Result<Vec<&'static str>, StoreError> {
            let present: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                .fetch_all(&self.reader)
                .await
                .map_err(backend)?;
            Ok(GUARDS.iter().copied().filter(|g| !present.iter().any(|p| p == g)).collect())
        }

        async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
            let tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
            Ok(Box::new(SqliteTx::new(tx)))
        }

        async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
            Ok(Some(Box::new(Poll)))
        }
    }
}

rebound_store::monitor_sql! { db: ::sqlx::Sqlite, store: SqliteStore, tx: SqliteTx }
