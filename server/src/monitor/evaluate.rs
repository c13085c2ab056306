//! One evaluation: the window's figures become observations, `rebound_monitor::evaluate` decides
//! the level changes against the stored states, and `apply_changes` stores them (with their audit
//! rows, webhook deliveries and pauses) in one transaction.

use std::collections::HashMap;

use rebound_api::v1::{AlertScope, Metric};
use rebound_monitor::{Observation, evaluate};
use rebound_store::StoreError;
use rebound_store::monitor::apply_changes;

use crate::AppState;
use crate::monitor::figures;

/// Evaluates every threshold at `now` and applies what changed.
pub async fn run(state: &AppState, now: i64) -> Result<(), StoreError> {
    let monitoring = state.monitoring().await?;
    let settings = &monitoring.settings;
    let window = figures::window(now, settings.window_hours);
    let store = state.store.as_ref();
    let (_, total) = figures::rows(store, "all", window, settings.min_volume).await?;
    let wants = |each: fn(&AlertScope) -> bool| settings.thresholds.iter().any(|t| each(&t.scope));
    let mut scoped = vec![("all".to_owned(), total)];
    if wants(|s| matches!(s, AlertScope::EachIsp | AlertScope::Isp(_))) {
        let (isps, _) = figures::rows(store, "isp", window, settings.min_volume).await?;
        scoped.extend(isps.into_iter().map(|r| (format!("isp:{}", r.name), r.counts)));
    }
    if wants(|s| matches!(s, AlertScope::EachCampaign | AlertScope::Campaign(_))) {
        let (campaigns, _) = figures::rows(store, "campaign", window, settings.min_volume).await?;
        scoped.extend(campaigns.into_iter().map(|r| (format!("campaign:{}", r.name), r.counts)));
    }
    let mut observations = Vec::new();
    for (scope, counts) in &scoped {
        let rates = counts.rates();
        for metric in Metric::ALL {
            if let Some(value) = figures::rate(metric, &rates) {
                observations.push(Observation { metric, scope: scope.clone(), value, volume: rates.attempts });
            }
        }
    }
    let active = state.index.len() as u64;
    let growth = figures::list_growth(store, active, now, settings.window_hours).await?;
    observations.push(Observation {
        metric: Metric::SuppressionGrowth,
        scope: "all".to_owned(),
        value: growth.growth_rate,
        volume: (active + growth.lifted).saturating_sub(growth.added),
    });
    let current: HashMap<(Metric, String), _> =
        store.alert_states().await?.into_iter().map(|s| ((s.metric, s.scope), s.level)).collect();
    let changes = evaluate(settings, &observations, &current);
    if changes.is_empty() {
        return Ok(());
    }
    let (transitions, pauses) = apply_changes(store, &changes, now, state.config.kumo.is_some()).await?;
    for t in &transitions {
        tracing::info!(metric = %t.metric, scope = %t.scope, from = t.from.as_str(), to = t.to.as_str(), value = t.value, "alert");
    }
    if !pauses.is_empty() {
        state.refresh_pauses().await?;
    }
    Ok(())
}
