//! What Rebound watches and when it raises an alarm, as pure functions the server and the console
//! share: which mailbox provider a domain belongs to (`isp`), the counters kept per 5-minute
//! bucket and the rates computed from them with attempts, not bounces, as the denominator
//! (`counts`), and the alert thresholds, their presets and the state machine with hysteresis that
//! turns a rate into ok / warning / critical / resolved (`alerts`).
//!
//! No clock and no I/O: the server reads the counters and the current states, asks `evaluate` what
//! changed, and stores the answer.

pub mod alerts;
pub mod counts;
pub mod isp;

pub use alerts::{
    AlertAction, AlertLevel, AlertScope, Metric, MonitoringSettings, Observation, PRESETS, Preset, SettingsError,
    StateChange, Threshold, evaluate,
};
pub use counts::{BUCKET_SECONDS, Counts, Rates, bucket_of};
pub use isp::{IspMap, OTHER_ISP};
