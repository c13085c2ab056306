//! `GET /metrics` in the Prometheus text format, for Grafana users who build their own boards.
//!
//! Counters are this process's (Prometheus sums replicas and handles restarts); gauges come from
//! the shared state: the list's size, the pauses in force and every alert's level. Reading it
//! needs the `suppressions:read` key scope (or a staff session).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use rebound_api::v1::AlertLevel;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;

/// Upper bounds of the check-latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1];

/// A counter per mailbox provider.
type ByIsp = BTreeMap<String, u64>;

/// This process's counters.
#[derive(Default)]
pub struct Metrics {
    /// Events ingested by (kind, reason), then provider.
    events: Mutex<BTreeMap<(&'static str, &'static str), ByIsp>>,
    ingest_requests: AtomicU64,
    sends: AtomicU64,
    checks: [AtomicU64; 3],
    latency: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    webhooks: [AtomicU64; 2],
    skipped_records: [AtomicU64; 3],
}

/// Why an MTA log record was left out (see `routes::kumomta`).
#[derive(Debug, Clone, Copy)]
pub enum SkippedRecord {
    /// Its fields could not be read or failed a check (a bad address, a time in the future).
    Unreadable = 0,
    /// The MTA's own transient failure, with no remote host behind it (a suspended queue).
    Internal = 1,
    /// A complaint that does not say who complained.
    NoComplainer = 2,
}

/// What a checked address was answered.
#[derive(Debug, Clone, Copy)]
pub enum CheckAnswer {
    Send = 0,
    Suppressed = 1,
    Paused = 2,
}

impl Metrics {
    /// Counts a batch's events (kind, reason, provider) under one lock, allocating only for a
    /// provider not seen before with that kind and reason.
    pub fn events<'a>(&self, batch: impl IntoIterator<Item = (&'static str, &'static str, &'a str)>) {
        let Ok(mut events) = self.events.lock() else { return };
        for (kind, reason, isp) in batch {
            let by_isp = events.entry((kind, reason)).or_default();
            match by_isp.get_mut(isp) {
                Some(n) => *n += 1,
                None => {
                    by_isp.insert(isp.to_owned(), 1);
                }
            }
        }
    }

    pub fn ingest_request(&self) {
        self.ingest_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sends(&self, n: u64) {
        self.sends.fetch_add(n, Ordering::Relaxed);
    }

    pub fn check(&self, answer: CheckAnswer) {
        self.checks[answer as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// One check request's handling time.
    pub fn check_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&le| seconds <= le) {
            self.latency[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn skipped_record(&self, why: SkippedRecord) {
        self.skipped_records[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn webhook_attempt(&self, delivered: bool) {
        self.webhooks[usize::from(!delivered)].fetch_add(1, Ordering::Relaxed);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn render(m: &Metrics, state_lines: &str) -> String {
    let mut out = String::new();
    family(&mut out, "rebound_events_total", "counter", "Events ingested, by kind, reason and mailbox provider.");
    if let Ok(events) = m.events.lock() {
        for ((kind, reason), by_isp) in events.iter() {
            for (isp, n) in by_isp {
                let _ = writeln!(
                    out,
                    "rebound_events_total{{kind=\"{}\",reason=\"{}\",isp=\"{}\"}} {n}",
                    label(kind),
                    label(reason),
                    label(isp)
                );
            }
        }
    }
    family(&mut out, "rebound_ingest_requests_total", "counter", "Event ingestion requests handled.");
    let _ = writeln!(out, "rebound_ingest_requests_total {}", m.ingest_requests.load(Ordering::Relaxed));
    family(&mut out, "rebound_sends_total", "counter", "Attempts reported in bulk.");
    let _ = writeln!(out, "rebound_sends_total {}", m.sends.load(Ordering::Relaxed));
    family(&mut out, "rebound_checks_total", "counter", "Addresses checked before sending, by answer.");
    for (answer, n) in ["send", "suppressed", "paused"].iter().zip(&m.checks) {
        let _ = writeln!(out, "rebound_checks_total{{answer=\"{answer}\"}} {}", n.load(Ordering::Relaxed));
    }
    family(&mut out, "rebound_check_duration_seconds", "histogram", "Time to answer a pre-send check request.");
    let mut cumulative = 0;
    for (le, n) in LATENCY_BUCKETS.iter().zip(&m.latency) {
        cumulative += n.load(Ordering::Relaxed);
        let _ = writeln!(out, "rebound_check_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let count = m.latency_count.load(Ordering::Relaxed);
    let _ = writeln!(out, "rebound_check_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
    let sum = m.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
    let _ = writeln!(out, "rebound_check_duration_seconds_sum {sum}\nrebound_check_duration_seconds_count {count}");
    family(&mut out, "rebound_webhook_attempts_total", "counter", "Webhook delivery attempts, by result.");
    for (result, n) in ["delivered", "failed"].iter().zip(&m.webhooks) {
        let _ = writeln!(out, "rebound_webhook_attempts_total{{result=\"{result}\"}} {}", n.load(Ordering::Relaxed));
    }
    family(&mut out, "rebound_log_records_skipped_total", "counter", "MTA log records left out, by why.");
    for (why, n) in ["unreadable", "internal", "no_complainer"].iter().zip(&m.skipped_records) {
        let _ = writeln!(out, "rebound_log_records_skipped_total{{why=\"{why}\"}} {}", n.load(Ordering::Relaxed));
    }
    out.push_str(state_lines);
    out
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>, principal: Principal) -> Result<impl IntoResponse, ApiError> {
    principal.require(Permission::Read)?;
    let mut lines = String::new();
    family(&mut lines, "rebound_suppressions_active", "gauge", "Entries in force on the suppression list.");
    let _ = writeln!(lines, "rebound_suppressions_active {}", state.index.len());
    family(&mut lines, "rebound_pauses_active", "gauge", "Paused scopes.");
    let _ = writeln!(lines, "rebound_pauses_active {}", state.monitor.active_pauses());
    family(
        &mut lines,
        "rebound_alert_level",
        "gauge",
        "Alert level per metric and scope: 0 ok, 1 warning, 2 critical.",
    );
    for s in state.store.alert_states().await? {
        let level = match s.level {
            AlertLevel::Ok | AlertLevel::Resolved => 0,
            AlertLevel::Warning => 1,
            AlertLevel::Critical => 2,
        };
        let _ = writeln!(lines, "rebound_alert_level{{metric=\"{}\",scope=\"{}\"}} {level}", s.metric, label(&s.scope));
    }
    let body = render(&state.monitor.metrics, &lines);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.events([("hard", "user_unknown", "Google")]);
        m.check(CheckAnswer::Paused);
        m.check_latency(Duration::from_micros(80));
        m.check_latency(Duration::from_millis(3));
        let text = render(&m, "");
        assert!(text.contains("rebound_events_total{kind=\"hard\",reason=\"user_unknown\",isp=\"Google\"} 1"));
        assert!(text.contains("rebound_checks_total{answer=\"paused\"} 1"));
        assert!(text.contains("rebound_check_duration_seconds_bucket{le=\"0.0001\"} 1"));
        assert!(text.contains("rebound_check_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("rebound_check_duration_seconds_count 2"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
