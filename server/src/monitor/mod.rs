//! Monitoring in the server: the saved monitoring settings (compiled with the provider map), the
//! pauses in force (kept in memory, because every pre-send check asks), the figures the dashboards
//! and alerts read (`figures`), the loop that evaluates alerts and drains the outbox (`evaluate`,
//! `outbox`), and the Prometheus exposition (`prometheus`).
//!
//! The loop runs on every replica. Evaluation and the outbox claim their work inside write
//! transactions (serialised across replicas), so a transition is stored once and a delivery is
//! attempted by one replica at a time.

pub mod evaluate;
pub mod figures;
pub mod outbox;
pub mod prometheus;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rebound_api::v1::{MonitoringSettings, PauseHit};
use rebound_monitor::IspMap;
use rebound_store::StoreError;
use tokio::sync::Notify;

use crate::AppState;
use crate::state::SettingCache;

/// Saved settings with the provider map built from them.
pub struct Monitoring {
    pub settings: MonitoringSettings,
    pub isps: IspMap,
}

/// Monitoring state shared by handlers and the loop.
pub struct Monitor {
    cache: SettingCache<Monitoring>,
    /// The last settings read, for the pre-send check (which never waits for the database).
    current: RwLock<Arc<Monitoring>>,
    /// Active pauses: (id, scope).
    pauses: RwLock<Vec<(i64, String)>>,
    /// Woken after events are ingested or settings change, so alerts don't wait for the tick.
    pub wake: Notify,
    pub metrics: prometheus::Metrics,
    pub http: reqwest::Client,
}

impl Default for Monitor {
    fn default() -> Self {
        Self {
            cache: SettingCache::default(),
            current: RwLock::new(Arc::new(Monitoring {
                settings: MonitoringSettings::default(),
                isps: IspMap::new(&Default::default()),
            })),
            pauses: RwLock::default(),
            wake: Notify::new(),
            metrics: prometheus::Metrics::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("Rebound/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Monitor {
    /// The pause holding a recipient at `domain` (and in `campaign`), if any. The domain's
    /// provider is looked up only when something is paused: most checks find nothing to hold.
    pub fn pause_for(&self, isps: &IspMap, domain: &str, campaign: Option<&str>) -> Option<PauseHit> {
        let pauses = self.pauses.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if pauses.is_empty() {
            return None;
        }
        let isp = isps.isp_of(domain);
        pauses
            .iter()
            .find(|(_, scope)| {
                scope == "all"
                    || scope.strip_prefix("isp:") == Some(isp)
                    || (campaign.is_some() && scope.strip_prefix("campaign:") == campaign)
            })
            .map(|(id, scope)| PauseHit { pause_id: *id, scope: scope.clone() })
    }

    /// The settings as last read (at most `PAUSE_REFRESH` old).
    pub fn current(&self) -> Arc<Monitoring> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn active_pauses(&self) -> usize {
        self.pauses.read().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

impl AppState {
    /// The saved monitoring settings (re-read on each call, one indexed row; rebuilt on change).
    pub async fn monitoring(&self) -> Result<Arc<Monitoring>, StoreError> {
        let m = self
            .monitor
            .cache
            .get(self.store.as_ref(), rebound_store::monitor::MONITORING_SETTING, |text| {
                let settings: MonitoringSettings = if text.is_empty() {
                    MonitoringSettings::default()
                } else {
                    rebound_store::json_from_db("monitoring settings", text)?
                };
                let isps = IspMap::new(&settings.isp_domains);
                Ok(Monitoring { settings, isps })
            })
            .await?;
        *self.monitor.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = m.clone();
        Ok(m)
    }

    /// Reloads the active pauses (and the settings) from the store.
    pub async fn refresh_pauses(&self) -> Result<(), StoreError> {
        self.monitoring().await?;
        let active = self.store.pauses(true, 1_000).await?;
        let list = active.into_iter().map(|p| (p.id, p.scope)).collect();
        *self.monitor.pauses.write().unwrap_or_else(std::sync::PoisonError::into_inner) = list;
        Ok(())
    }
}

/// How often pauses and settings changed by other replicas are picked up.
const PAUSE_REFRESH: Duration = Duration::from_secs(2);

/// Starts the background work: pause refresh, and the evaluate-and-deliver loop.
pub fn spawn(state: AppState) {
    let pauses = state.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = pauses.refresh_pauses().await {
                tracing::warn!(error = %e, "refreshing pauses failed");
            }
            tokio::time::sleep(PAUSE_REFRESH).await;
        }
    });
    tokio::spawn(async move {
        let interval = state.config.monitor_interval;
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = state.monitor.wake.notified() => tokio::time::sleep(Duration::from_millis(200)).await,
            }
            let now = state.clock.now();
            if let Err(e) = evaluate::run(&state, now).await {
                tracing::warn!(error = %e, "evaluating alerts failed");
            }
            if let Err(e) = outbox::drain(&state).await {
                tracing::warn!(error = %e, "draining the outbox failed");
            }
            if let Err(e) = crate::import::interrupt_stale(state.store.as_ref(), now).await {
                tracing::warn!(error = %e, "looking for stopped imports failed");
            }
            let before = now - crate::service::sends::RECORD_KEYS_KEPT;
            if let Err(e) = state.store.prune_counted_records(before).await {
                tracing::warn!(error = %e, "forgetting old counted records failed");
            }
        }
    });
}
