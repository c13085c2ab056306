//! The dashboards' figures, read from the bucket counters (never from the events, so they answer
//! in constant time however many events are stored).

use std::collections::BTreeMap;

use rebound_api::v1::{Counts, GrowthDay, ListGrowth, Metric, MetricRow, Rates};
use rebound_monitor::{BUCKET_SECONDS, bucket_of};
use rebound_store::{Store, StoreError};

const DAY: i64 = 86_400;

/// The window `[from, until)` of the last `hours`, in whole buckets, including the current one.
pub fn window(now: i64, hours: u32) -> (i64, i64) {
    let until = bucket_of(now) + BUCKET_SECONDS;
    (until - i64::from(hours) * 3600, until)
}

pub fn row(name: String, counts: Counts, min_volume: u64) -> MetricRow {
    let rates = counts.rates();
    MetricRow { name, counts, rates, enough_volume: rates.attempts >= min_volume }
}

/// Per-name rows of a dimension over the window, most attempts first, and their total.
pub async fn rows(
    store: &dyn Store,
    dimension: &str,
    (from, until): (i64, i64),
    min_volume: u64,
) -> Result<(Vec<MetricRow>, Counts), StoreError> {
    let mut total = Counts::default();
    let mut rows: Vec<MetricRow> = store
        .metric_totals(dimension, from, until)
        .await?
        .into_iter()
        .map(|(name, counts)| {
            total.add(&counts);
            row(name, counts, min_volume)
        })
        .collect();
    rows.sort_by(|a, b| b.rates.attempts.cmp(&a.rates.attempts).then_with(|| a.name.cmp(&b.name)));
    Ok((rows, total))
}

/// A rate metric's value from rates (list growth is not a rate of attempts).
pub fn rate(metric: Metric, rates: &Rates) -> Option<f64> {
    Some(match metric {
        Metric::BounceRate => rates.bounce_rate,
        Metric::HardRate => rates.hard_rate,
        Metric::SoftRate => rates.soft_rate,
        Metric::BlockRate => rates.block_rate,
        Metric::ComplaintRate => rates.complaint_rate,
        Metric::SuppressionGrowth => return None,
    })
}

/// The list's growth per UTC day over the last `days` days (today included), newest last.
pub async fn growth_days(
    store: &dyn Store,
    active_now: u64,
    now: i64,
    days: u32,
) -> Result<Vec<GrowthDay>, StoreError> {
    let today = now.div_euclid(DAY) * DAY;
    let first = today - i64::from(days.saturating_sub(1)) * DAY;
    let mut by_day: BTreeMap<i64, GrowthDay> = (0..i64::from(days))
        .map(|i| {
            let day = first + i * DAY;
            (day, GrowthDay { day, added: 0, added_by_reason: BTreeMap::new(), lifted: 0, active: 0, growth_rate: 0.0 })
        })
        .collect();
    for r in store.suppression_daily(first).await? {
        if let Some(d) = by_day.get_mut(&r.day) {
            d.added += r.added;
            d.lifted += r.lifted;
            *d.added_by_reason.entry(r.reason).or_default() += r.added;
        }
    }
    // Walk back from today's active count: each day's start is its end minus what it added plus
    // what it lifted.
    let mut end = active_now;
    for d in by_day.values_mut().rev() {
        d.active = end;
        let start = (end + d.lifted).saturating_sub(d.added);
        d.growth_rate = if start == 0 { 0.0 } else { d.added as f64 * 100.0 / start as f64 };
        end = start;
    }
    Ok(by_day.into_values().collect())
}

/// The list's growth over the days a window of `hours` spans (today included).
pub async fn list_growth(store: &dyn Store, active_now: u64, now: i64, hours: u32) -> Result<ListGrowth, StoreError> {
    let days = hours.div_ceil(24).max(1);
    let growth = growth_days(store, active_now, now, days).await?;
    let added: u64 = growth.iter().map(|d| d.added).sum();
    let lifted: u64 = growth.iter().map(|d| d.lifted).sum();
    let start = (active_now + lifted).saturating_sub(added);
    let growth_rate = if start == 0 { 0.0 } else { added as f64 * 100.0 / start as f64 };
    Ok(ListGrowth { active: active_now, added, lifted, growth_rate })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_whole_buckets_up_to_the_current_one() {
        let (from, until) = window(1_000_000, 24);
        assert_eq!(until, 1_000_200);
        assert_eq!(until - from, 86_400);
        assert_eq!(from % BUCKET_SECONDS, 0);
    }
}
