//! The state every handler sees: the configuration and the store.

use std::sync::Arc;

use rebound_store::Store;

use crate::config::{Config, Database};
use crate::error::StartError;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
}

impl AppState {
    /// Opens the configured database (running its migrations) and builds the state.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config.database).await?;
        Ok(Self { config: Arc::new(config), store })
    }
}

/// Opens a database, creating the SQLite file's directory if needed, and runs its migrations.
pub async fn open_store(database: &Database) -> Result<Arc<dyn Store>, StartError> {
    Ok(match database {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StartError::DataDir { path: dir.to_path_buf(), source: e })?;
            }
            Arc::new(rebound_store_sqlite::SqliteStore::open(path).await?)
        }
        Database::Postgres(url) => Arc::new(rebound_store_postgres::PostgresStore::connect(url, 16).await?),
    })
}
