//! Alert thresholds and the state machine that applies them.
//!
//! Each threshold names a metric, a scope (everything, every provider, every campaign, or one of
//! them), a warning and a critical level in percent, and what a critical level does (notify, or
//! pause the scope). A rate below the minimum volume is shown but never moves an alert: three
//! bounces out of ten sends say nothing. To go back down a level the rate must fall below that
//! level by the hysteresis margin, so a rate hovering at a threshold raises one alert, not one
//! per evaluation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::isp::check_entry;

/// What an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Hard and soft bounces over attempts.
    BounceRate,
    HardRate,
    SoftRate,
    BlockRate,
    ComplaintRate,
    /// Entries added to the list over the window, against the list's size at its start.
    SuppressionGrowth,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::BounceRate,
        Metric::HardRate,
        Metric::SoftRate,
        Metric::BlockRate,
        Metric::ComplaintRate,
        Metric::SuppressionGrowth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::BounceRate => "bounce_rate",
            Metric::HardRate => "hard_rate",
            Metric::SoftRate => "soft_rate",
            Metric::BlockRate => "block_rate",
            Metric::ComplaintRate => "complaint_rate",
            Metric::SuppressionGrowth => "suppression_growth",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a threshold applies. Written as text: `all`, `isp:*` (each provider), `campaign:*` (each
/// campaign), `isp:NAME`, `campaign:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlertScope {
    All,
    EachIsp,
    EachCampaign,
    Isp(String),
    Campaign(String),
}

impl AlertScope {
    pub fn parse(text: &str) -> Option<AlertScope> {
        let scope = match text {
            "all" => AlertScope::All,
            "isp:*" => AlertScope::EachIsp,
            "campaign:*" => AlertScope::EachCampaign,
            _ => match text.split_once(':') {
                Some(("isp", name)) if !name.is_empty() => AlertScope::Isp(name.to_owned()),
                Some(("campaign", name)) if !name.is_empty() => AlertScope::Campaign(name.to_owned()),
                _ => return None,
            },
        };
        Some(scope)
    }

    /// Whether a concrete scope (`all`, `isp:Google`, `campaign:spring`) falls under this one.
    pub fn covers(&self, concrete: &str) -> bool {
        match self {
            AlertScope::All => concrete == "all",
            AlertScope::EachIsp => concrete.starts_with("isp:"),
            AlertScope::EachCampaign => concrete.starts_with("campaign:"),
            AlertScope::Isp(_) | AlertScope::Campaign(_) => self.to_string() == concrete,
        }
    }
}

impl fmt::Display for AlertScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertScope::All => f.write_str("all"),
            AlertScope::EachIsp => f.write_str("isp:*"),
            AlertScope::EachCampaign => f.write_str("campaign:*"),
            AlertScope::Isp(name) => write!(f, "isp:{name}"),
            AlertScope::Campaign(name) => write!(f, "campaign:{name}"),
        }
    }
}

impl Serialize for AlertScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AlertScope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AlertScope::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a scope: use all, isp:*, campaign:*, isp:NAME or campaign:NAME"
            ))
        })
    }
}

/// What reaching the critical level does (warnings always only notify).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    Notify,
    /// Pause sending to the scope: pre-send checks answer `paused`, and a configured MTA is told
    /// to suspend it.
    Pause,
}

impl AlertAction {
    pub const ALL: [AlertAction; 2] = [AlertAction::Notify, AlertAction::Pause];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Notify => "notify",
            AlertAction::Pause => "pause",
        }
    }
}

/// One threshold, in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub metric: Metric,
    pub scope: AlertScope,
    pub warning: f64,
    pub critical: f64,
    pub action: AlertAction,
}

/// Everything staff configure about monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringSettings {
    /// The rolling window rates are computed over, in hours.
    pub window_hours: u32,
    /// Fewer attempts than this in the window (entries, for list growth): shown, never alerting.
    pub min_volume: u64,
    /// How far below a level (as a fraction of it) a rate must fall to leave it.
    pub hysteresis: f64,
    pub thresholds: Vec<Threshold>,
    /// Extra domain → provider entries (`example.com` or `name.*`), over the built-in table.
    pub isp_domains: BTreeMap<String, String>,
}

fn threshold(metric: Metric, scope: AlertScope, warning: f64, critical: f64, action: AlertAction) -> Threshold {
    Threshold { metric, scope, warning, critical, action }
}

impl Default for MonitoringSettings {
    /// The mission's defaults: overall bounce rate 2% / 3% (pause), hard 1% / 2% (pause), soft 5% /
    /// 10%, any one provider 5% / 10%, list growth 10% / 20% per day.
    fn default() -> Self {
        use AlertAction::{Notify, Pause};
        Self {
            window_hours: 24,
            min_volume: 100,
            hysteresis: 0.2,
            thresholds: vec![
                threshold(Metric::BounceRate, AlertScope::All, 2.0, 3.0, Pause),
                threshold(Metric::HardRate, AlertScope::All, 1.0, 2.0, Pause),
                threshold(Metric::SoftRate, AlertScope::All, 5.0, 10.0, Notify),
                threshold(Metric::BounceRate, AlertScope::EachIsp, 5.0, 10.0, Notify),
                threshold(Metric::SuppressionGrowth, AlertScope::All, 10.0, 20.0, Notify),
            ],
            isp_domains: BTreeMap::new(),
        }
    }
}

/// An industry's bounce-rate benchmark: its target is the warning level, its acceptable limit the
/// critical one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub name: &'static str,
    pub warning: f64,
    pub critical: f64,
}

pub const PRESETS: [Preset; 5] = [
    Preset { id: "ecommerce", name: "E-commerce / retail", warning: 1.5, critical: 3.0 },
    Preset { id: "saas", name: "SaaS / software", warning: 1.0, critical: 2.0 },
    Preset { id: "financial", name: "Financial services", warning: 0.5, critical: 1.0 },
    Preset { id: "media", name: "Media / publishing", warning: 2.0, critical: 4.0 },
    Preset { id: "agency", name: "Agency / marketing", warning: 2.0, critical: 5.0 },
];

impl MonitoringSettings {
    /// Sets the overall bounce-rate levels from an industry preset (adding the threshold if absent).
    pub fn apply_preset(&mut self, preset: &Preset) {
        let overall = |t: &Threshold| t.metric == Metric::BounceRate && t.scope == AlertScope::All;
        match self.thresholds.iter_mut().find(|t| overall(t)) {
            Some(t) => {
                t.warning = preset.warning;
                t.critical = preset.critical;
            }
            None => self.thresholds.push(threshold(
                Metric::BounceRate,
                AlertScope::All,
                preset.warning,
                preset.critical,
                AlertAction::Pause,
            )),
        }
    }

    /// Checks every field; the error names the first bad one (`thresholds[2].critical`).
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |field: String, message: String| Err(SettingsError { field, message });
        if !(1..=168).contains(&self.window_hours) {
            return bad("window_hours".into(), "must be between 1 and 168 hours".into());
        }
        if !(0.0..=0.9).contains(&self.hysteresis) {
            return bad("hysteresis".into(), "must be a fraction between 0 and 0.9".into());
        }
        let mut seen = HashMap::new();
        for (i, t) in self.thresholds.iter().enumerate() {
            let field = |name: &str| format!("thresholds[{i}].{name}");
            let limit = if t.metric == Metric::SuppressionGrowth { 1000.0 } else { 100.0 };
            if !(t.warning > 0.0 && t.warning <= limit) {
                return bad(field("warning"), format!("must be above 0 and at most {limit}"));
            }
            if !(t.critical > t.warning && t.critical <= limit) {
                return bad(field("critical"), format!("must be above the warning level and at most {limit}"));
            }
            if t.metric == Metric::SuppressionGrowth && t.scope != AlertScope::All {
                return bad(field("scope"), "list growth is measured for the whole list only: use `all`".into());
            }
            if t.metric == Metric::SuppressionGrowth && t.action == AlertAction::Pause {
                return bad(field("action"), "list growth cannot pause sending; use `notify`".into());
            }
            if let Some(first) = seen.insert((t.metric, t.scope.to_string()), i) {
                return bad(field("scope"), format!("thresholds[{first}] already covers this metric and scope"));
            }
        }
        for (pattern, isp) in &self.isp_domains {
            if let Err(message) = check_entry(pattern, isp) {
                return bad(format!("isp_domains.{pattern}"), message);
            }
        }
        Ok(())
    }

    /// The threshold for a metric at a concrete scope: a named scope wins over `isp:*`/`campaign:*`.
    pub fn threshold_for(&self, metric: Metric, concrete: &str) -> Option<&Threshold> {
        let candidates = || self.thresholds.iter().filter(|t| t.metric == metric && t.scope.covers(concrete));
        candidates()
            .find(|t| matches!(t.scope, AlertScope::All | AlertScope::Isp(_) | AlertScope::Campaign(_)))
            .or_else(|| candidates().next())
    }
}

/// A settings field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

/// An alert's level. `resolved` is `ok` after an alert: it tells staff the alarm is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    Ok,
    Warning,
    Critical,
    Resolved,
}

impl AlertLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Ok => "ok",
            AlertLevel::Warning => "warning",
            AlertLevel::Critical => "critical",
            AlertLevel::Resolved => "resolved",
        }
    }

    pub fn parse(name: &str) -> Option<AlertLevel> {
        [AlertLevel::Ok, AlertLevel::Warning, AlertLevel::Critical, AlertLevel::Resolved]
            .into_iter()
            .find(|l| l.as_str() == name)
    }

    fn raised(self) -> bool {
        matches!(self, AlertLevel::Warning | AlertLevel::Critical)
    }
}

/// The level a value leads to from the current one.
fn next_level(current: AlertLevel, value: f64, t: &Threshold, hysteresis: f64) -> AlertLevel {
    let keep = 1.0 - hysteresis;
    if value > t.critical || (current == AlertLevel::Critical && value > t.critical * keep) {
        AlertLevel::Critical
    } else if value > t.warning || (current.raised() && value > t.warning * keep) {
        AlertLevel::Warning
    } else if current.raised() {
        AlertLevel::Resolved
    } else {
        current
    }
}

/// A metric's value at a concrete scope over the current window.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub metric: Metric,
    /// `all`, `isp:NAME` or `campaign:NAME`.
    pub scope: String,
    pub value: f64,
    /// Attempts (entries, for list growth) behind the value.
    pub volume: u64,
}

/// A level change `evaluate` decided.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub metric: Metric,
    pub scope: String,
    pub from: AlertLevel,
    pub to: AlertLevel,
    pub value: f64,
    pub volume: u64,
    /// The level crossed (the one reached, or for a way down the one left).
    pub threshold: f64,
    pub action: AlertAction,
}

/// The level changes the observations cause, given the current levels (missing means `ok`).
/// Observations without a threshold, or below the minimum volume, change nothing.
pub fn evaluate(
    settings: &MonitoringSettings,
    observations: &[Observation],
    current: &HashMap<(Metric, String), AlertLevel>,
) -> Vec<StateChange> {
    let mut changes = Vec::new();
    for o in observations {
        let Some(t) = settings.threshold_for(o.metric, &o.scope) else { continue };
        if o.volume < settings.min_volume {
            continue;
        }
        let from = current.get(&(o.metric, o.scope.clone())).copied().unwrap_or(AlertLevel::Ok);
        let to = next_level(from, o.value, t, settings.hysteresis);
        if to == from {
            continue;
        }
        let threshold = if to == AlertLevel::Critical || from == AlertLevel::Critical { t.critical } else { t.warning };
        changes.push(StateChange {
            metric: o.metric,
            scope: o.scope.clone(),
            from,
            to,
            value: o.value,
            volume: o.volume,
            threshold,
            action: t.action,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(metric: Metric, scope: &str, value: f64, volume: u64) -> Observation {
        Observation { metric, scope: scope.to_owned(), value, volume }
    }

    /// Feeds values one after another and returns the levels passed through.
    fn walk(settings: &MonitoringSettings, values: &[f64]) -> Vec<AlertLevel> {
        let mut current = HashMap::new();
        let mut levels = Vec::new();
        for &v in values {
            for c in evaluate(settings, &[observe(Metric::BounceRate, "all", v, 1000)], &current) {
                current.insert((c.metric, c.scope.clone()), c.to);
                levels.push(c.to);
            }
        }
        levels
    }

    #[test]
    fn defaults_are_valid_and_follow_the_mission() {
        let s = MonitoringSettings::default();
        s.validate().expect("defaults validate");
        let t = s.threshold_for(Metric::BounceRate, "all").expect("overall threshold");
        assert_eq!((t.warning, t.critical, t.action), (2.0, 3.0, AlertAction::Pause));
        let isp = s.threshold_for(Metric::BounceRate, "isp:Google").expect("per-provider threshold");
        assert_eq!((isp.warning, isp.critical), (5.0, 10.0));
    }

    #[test]
    fn a_rate_climbs_ok_warning_critical_and_comes_back_resolved() {
        let s = MonitoringSettings::default();
        let levels = walk(&s, &[1.0, 2.5, 3.5, 1.0]);
        assert_eq!(levels, vec![AlertLevel::Warning, AlertLevel::Critical, AlertLevel::Resolved]);
    }

    #[test]
    fn hovering_at_a_threshold_does_not_flap() {
        let s = MonitoringSettings::default();
        // Around the 2% warning level: up once, then values between 1.6% and 2.1% keep it.
        let levels = walk(&s, &[2.1, 1.9, 2.05, 1.7, 2.1, 1.65]);
        assert_eq!(levels, vec![AlertLevel::Warning]);
        // Falling below 80% of the level resolves it.
        assert_eq!(walk(&s, &[2.1, 1.5]), vec![AlertLevel::Warning, AlertLevel::Resolved]);
        // Critical holds above 80% of 3%, then drops to warning.
        assert_eq!(walk(&s, &[3.1, 2.5, 2.3]), vec![AlertLevel::Critical, AlertLevel::Warning]);
    }

    #[test]
    fn low_volume_never_alerts() {
        let s = MonitoringSettings::default();
        let changes = evaluate(&s, &[observe(Metric::BounceRate, "all", 50.0, 99)], &HashMap::new());
        assert!(changes.is_empty());
    }

    #[test]
    fn a_named_scope_wins_over_each() {
        let mut s = MonitoringSettings::default();
        s.thresholds.push(threshold(
            Metric::BounceRate,
            AlertScope::Isp("Google".into()),
            1.0,
            1.5,
            AlertAction::Pause,
        ));
        s.validate().expect("valid");
        assert_eq!(s.threshold_for(Metric::BounceRate, "isp:Google").map(|t| t.critical), Some(1.5));
        assert_eq!(s.threshold_for(Metric::BounceRate, "isp:Yahoo").map(|t| t.critical), Some(10.0));
        assert!(s.threshold_for(Metric::BounceRate, "campaign:x").is_none());
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = MonitoringSettings::default();
        s.thresholds[1].critical = 0.5;
        assert_eq!(s.validate().map_err(|e| e.field), Err("thresholds[1].critical".to_owned()));
        let mut s = MonitoringSettings::default();
        s.thresholds.push(s.thresholds[0].clone());
        assert_eq!(s.validate().map_err(|e| e.field), Err("thresholds[5].scope".to_owned()));
        let mut s = MonitoringSettings::default();
        s.isp_domains.insert("bad domain".into(), "X".into());
        assert_eq!(s.validate().map_err(|e| e.field), Err("isp_domains.bad domain".to_owned()));
    }

    #[test]
    fn presets_set_the_overall_levels() {
        let mut s = MonitoringSettings::default();
        let saas = PRESETS.iter().find(|p| p.id == "saas").expect("saas preset");
        s.apply_preset(saas);
        let t = s.threshold_for(Metric::BounceRate, "all").expect("overall");
        assert_eq!((t.warning, t.critical), (1.0, 2.0));
        s.validate().expect("valid after a preset");
    }

    #[test]
    fn scopes_round_trip_as_text() {
        for text in ["all", "isp:*", "campaign:*", "isp:Google", "campaign:spring sale"] {
            let scope = AlertScope::parse(text).expect("parses");
            assert_eq!(scope.to_string(), text);
        }
        assert!(AlertScope::parse("region:eu").is_none());
        assert!(serde_json::from_str::<AlertScope>("\"isp:\"").is_err());
    }

    #[test]
    fn names_are_the_wire_names() {
        for action in AlertAction::ALL {
            assert_eq!(serde_json::to_value(action).ok(), Some(action.as_str().into()));
        }
        for metric in Metric::ALL {
            assert_eq!(serde_json::to_value(metric).ok(), Some(metric.as_str().into()));
        }
    }
}
