//! The state every handler sees: the configuration, the store, the pre-send index, the API key
//! cache and the classification engine built from the saved policy.

use std::sync::{Arc, Mutex};

use rebound_api::v1::Policy;
use rebound_core::Classifier;
use rebound_store::{Store, StoreError};

use crate::auth::KeyCache;
use crate::clock::Clock;
use crate::config::{Config, Database};
use crate::error::StartError;
use crate::index::SuppressionIndex;
use crate::limit::LoginLimiter;
use crate::monitor::Monitor;

/// The policy and the classifier compiled from it, shared until the policy changes.
pub struct Engine {
    pub policy: Policy,
    pub classifier: Classifier,
}

/// What is built from a saved setting (the classifier from the policy, the provider map from the
/// monitoring settings), kept with the text it was built from. The setting is read on each use (one
/// indexed row), so a change made by any replica or process applies to the next request, and what
/// depends on it is rebuilt only when its text changed.
pub struct SettingCache<T>(Mutex<Option<(String, Arc<T>)>>);

impl<T> Default for SettingCache<T> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<T> SettingCache<T> {
    /// The value built from the saved setting `key` (`build` gets its text, empty when never saved).
    pub async fn get(
        &self,
        store: &dyn Store,
        key: &str,
        build: impl FnOnce(&str) -> Result<T, StoreError>,
    ) -> Result<Arc<T>, StoreError> {
        let text = store.setting(key).await?.unwrap_or_default();
        if let Ok(cached) = self.0.lock()
            && let Some((cached_text, value)) = cached.as_ref()
            && *cached_text == text
        {
            return Ok(value.clone());
        }
        let value = Arc::new(build(&text)?);
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((text, value.clone()));
        }
        Ok(value)
    }
}

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub index: Arc<SuppressionIndex>,
    pub keys: Arc<KeyCache>,
    pub logins: Arc<LoginLimiter>,
    pub monitor: Arc<Monitor>,
    pub clock: Clock,
    engine: Arc<SettingCache<Engine>>,
}

impl AppState {
    /// Opens the configured database (running its migrations), loads the pre-send index, and, on
    /// a backend with several replicas, starts following their changes.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config.database).await?;
        let missing = store.missing_guards().await?;
        if !missing.is_empty() {
            return Err(StartError::GuardsMissing(missing));
        }
        let index = SuppressionIndex::load(store.as_ref()).await?;
        tokio::spawn(index.clone().follow(store.clone()));
        let state = Self {
            config: Arc::new(config),
            store,
            index,
            keys: Arc::default(),
            logins: Arc::default(),
            monitor: Arc::default(),
            clock: Clock::default(),
            engine: Arc::default(),
        };
        state.refresh_pauses().await?;
        crate::import::interrupt_stale(state.store.as_ref(), state.clock.now()).await?;
        crate::monitor::spawn(state.clone());
        Ok(state)
    }

    /// The state a command (`rebound ingest`) writes through, on `database`: the same store, policy
    /// and monitoring counters as the server's, without serving, monitoring or the pre-send index
    /// (a server on the same database learns of the changes from the change feed).
    pub async fn for_command(database: Database) -> Result<Self, StartError> {
        let store = open_store(&database).await?;
        Ok(Self {
            config: Arc::new(Config::defaults(database)),
            store,
            index: SuppressionIndex::empty(),
            keys: Arc::default(),
            logins: Arc::default(),
            monitor: Arc::default(),
            clock: Clock::default(),
            engine: Arc::default(),
        })
    }

    /// The current policy and its classifier, compiled again only when the saved policy changed.
    pub async fn engine(&self) -> Result<Arc<Engine>, StoreError> {
        self.engine
            .get(self.store.as_ref(), rebound_store::ops::POLICY_SETTING, |text| {
                let policy: Policy =
                    if text.is_empty() { Policy::default() } else { rebound_store::json_from_db("policy", text)? };
                let classifier =
                    policy.classifier().map_err(|e| StoreError::Corrupt { what: "policy", detail: e.to_string() })?;
                Ok(Engine { policy, classifier })
            })
            .await
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
