//! Storage of monitoring: the traits a backend implements for it (`MonitorTx` inside a write
//! transaction, `MonitorStore` for reads), their records, and the operations built from them —
//! recording sends, applying alert changes (state, transition, audit row, webhook deliveries and
//! pause in one transaction), webhooks, pauses, and the claim-and-finish cycle of the outbox the
//! delivery worker drains.

use std::collections::HashMap;

use async_trait::async_trait;
use rebound_api::v1::{
    AlertAction, AlertLevel, AlertState, AlertTransition, Counts, MtaState, Pause, Webhook, WebhookDelivery,
    WebhookFormat,
};
use rebound_monitor::{StateChange, bucket_of};
use serde_json::{Value, json};

use crate::audit::{self, AuditAction, Change};
use crate::{Actor, Store, StoreError};

/// The setting monitoring is saved under.
pub const MONITORING_SETTING: &str = "monitoring";
const DAY: i64 = 86_400;

/// Counters to add to one bucket of one dimension (`isp` or `campaign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDelta {
    pub dimension: &'static str,
    pub bucket: i64,
    pub name: String,
    pub counts: Counts,
}

/// Entries added and lifted on one day for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDelta {
    pub day: i64,
    pub reason: String,
    pub added: u64,
    pub lifted: u64,
}

impl DailyDelta {
    pub fn added(at: i64, reason: &str, n: u64) -> Self {
        Self { day: at.div_euclid(DAY) * DAY, reason: reason.to_owned(), added: n, lifted: 0 }
    }

    pub fn lifted(at: i64, reason: &str, n: u64) -> Self {
        Self { day: at.div_euclid(DAY) * DAY, reason: reason.to_owned(), added: 0, lifted: n }
    }

    /// One delta per (day, reason): a statement may not update the same row twice.
    pub fn merged(mut deltas: Vec<DailyDelta>) -> Vec<DailyDelta> {
        deltas.sort_by(|a, b| (a.day, &a.reason).cmp(&(b.day, &b.reason)));
        deltas.dedup_by(|later, kept| {
            let same = later.day == kept.day && later.reason == kept.reason;
            if same {
                kept.added += later.added;
                kept.lifted += later.lifted;
            }
            same
        });
        deltas
    }
}

/// A day of the list's growth as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRow {
    pub day: i64,
    pub reason: String,
    pub added: u64,
    pub lifted: u64,
}

/// A delivery the worker has claimed, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub format: WebhookFormat,
    pub body: String,
    pub attempts: u32,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub state: rebound_api::v1::DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// A pause whose MTA suspension is due for a call, with the suspension ids known so far.
#[derive(Debug, Clone)]
pub struct DueMta {
    pub pause: Pause,
    pub ids: Vec<String>,
    pub attempts: u32,
}

/// What an MTA call did to a pause's suspension.
#[derive(Debug, Clone)]
pub struct MtaUpdate {
    pub state: MtaState,
    pub ids: Vec<String>,
    pub attempts: u32,
    pub next_at: Option<i64>,
    pub error: Option<String>,
}

/// A pause to create.
pub struct NewPause<'a> {
    pub scope: &'a str,
    pub reason: &'a str,
    pub now: i64,
    pub by: &'a str,
    pub transition_id: Option<i64>,
    /// Mirror it on the MTA (a KumoMTA admin URL is configured).
    pub mirror: bool,
}

/// Monitoring writes inside a write transaction.
#[async_trait]
pub trait MonitorTx: Send {
    async fn add_metric_counts(&mut self, deltas: &[MetricDelta]) -> Result<(), StoreError>;
    /// Records `keys` as counted at `now`; answers, per key, whether it is new (a key already
    /// recorded, or earlier in `keys`, is not).
    async fn claim_records(&mut self, keys: &[&str], now: i64) -> Result<Vec<bool>, StoreError>;
    async fn add_suppression_daily(&mut self, deltas: &[DailyDelta]) -> Result<(), StoreError>;

    async fn alert_states(&mut self) -> Result<Vec<AlertState>, StoreError>;
    async fn put_alert_state(&mut self, state: &AlertState) -> Result<(), StoreError>;
    /// Stores a transition (its `id` is ignored) and returns its id.
    async fn insert_transition(&mut self, t: &AlertTransition) -> Result<i64, StoreError>;
    async fn set_transition_pause(&mut self, id: i64, pause_id: i64) -> Result<(), StoreError>;

    /// Ids of the enabled webhooks.
    async fn enabled_webhooks(&mut self) -> Result<Vec<i64>, StoreError>;
    async fn insert_delivery(&mut self, webhook_id: i64, at: i64, event: &str, body: &str) -> Result<i64, StoreError>;
    async fn insert_webhook(
        &mut self,
        name: &str,
        url: &str,
        secret: &str,
        format: WebhookFormat,
        now: i64,
        by: &str,
    ) -> Result<Webhook, StoreError>;
    async fn set_webhook_enabled(&mut self, id: i64, enabled: bool) -> Result<Option<Webhook>, StoreError>;
    /// Pending deliveries due at `now` (at most `limit`), leased until `lease_until` so no other
    /// worker takes them meanwhile.
    async fn claim_deliveries(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    async fn finish_delivery(&mut self, id: i64, attempt: &Attempt) -> Result<(), StoreError>;

    async fn active_pause(&mut self, scope: &str) -> Result<Option<Pause>, StoreError>;
    async fn pause_by_id(&mut self, id: i64) -> Result<Option<Pause>, StoreError>;
    async fn insert_pause(&mut self, new: &NewPause<'_>) -> Result<Pause, StoreError>;
    /// Marks an active pause resumed (and, when mirrored, its suspension due for lifting).
    async fn resume_pause(&mut self, id: i64, now: i64, by: &str, reason: &str) -> Result<Pause, StoreError>;
    async fn claim_mta(&mut self, now: i64, lease_until: i64, limit: u32) -> Result<Vec<DueMta>, StoreError>;
    async fn update_mta(&mut self, id: i64, update: &MtaUpdate) -> Result<(), StoreError>;
    /// Replaces a suspended pause's suspension ids, if they are still `expected` and the pause is
    /// still suspended; whether it did.
    async fn replace_mta_ids(&mut self, id: i64, expected: &[String], ids: &[String]) -> Result<bool, StoreError>;
}

/// Monitoring reads.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Counters per name of a dimension over buckets in `[from, until)`.
    async fn metric_totals(&self, dimension: &str, from: i64, until: i64) -> Result<Vec<(String, Counts)>, StoreError>;
    /// Counters per step (a multiple of 300 s) over `[from, until)`, of one name or all.
    async fn metric_series(
        &self,
        dimension: &str,
        name: Option<&str>,
        from: i64,
        until: i64,
        step: i64,
    ) -> Result<Vec<(i64, Counts)>, StoreError>;
    async fn suppression_daily(&self, from_day: i64) -> Result<Vec<DailyRow>, StoreError>;
    async fn alert_states(&self) -> Result<Vec<AlertState>, StoreError>;
    /// The newest transitions first, below `before` when given.
    async fn alert_transitions(&self, before: Option<i64>, limit: u32) -> Result<Vec<AlertTransition>, StoreError>;
    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError>;
    async fn webhook_deliveries(&self, webhook_id: i64, limit: u32) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Pauses, newest first; only those in force when `active_only`.
    async fn pauses(&self, active_only: bool, limit: u32) -> Result<Vec<Pause>, StoreError>;
    /// Pauses in force that an MTA mirrors (suspending or suspended), with their suspension ids.
    async fn mirrored_pauses(&self) -> Result<Vec<DueMta>, StoreError>;
    /// Forgets the counted records' keys older than `before`; answers how many.
    async fn prune_counted_records(&self, before: i64) -> Result<u64, StoreError>;
}

/// Adds attempts reported in bulk.
pub async fn record_sends(store: &dyn Store, deltas: &[MetricDelta]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.add_metric_counts(deltas).await?;
    tx.commit().await.map(crate::Committed::unlisted)
}

/// Adds attempts that each come with a key (a log record's), each key counted once ever: in one
/// transaction, the keys not seen before are recorded and only their attempts counted. Answers how
/// many attempts were counted.
pub async fn record_sends_once(
    store: &dyn Store,
    sends: &[(&str, CountedAt<'_>, u64)],
    now: i64,
) -> Result<u64, StoreError> {
    let mut tx = store.begin().await?;
    let keys: Vec<&str> = sends.iter().map(|(key, _, _)| *key).collect();
    let new = tx.claim_records(&keys, now).await?;
    let mut deltas = MetricDeltas::default();
    let mut counted = 0;
    for ((_, place, count), _) in sends.iter().zip(&new).filter(|(_, new)| **new) {
        deltas.count(*place, Counts { sent: *count, ..Counts::default() });
        counted += count;
    }
    if !deltas.is_empty() {
        tx.add_metric_counts(deltas.as_slice()).await?;
    }
    tx.commit().await.map(crate::Committed::unlisted)?;
    Ok(counted)
}

/// Where an event (or a bulk count of attempts) is counted.
#[derive(Debug, Clone, Copy)]
pub struct CountedAt<'a> {
    pub at: i64,
    pub isp: &'a str,
    pub campaign: Option<&'a str>,
    pub stream: Option<&'a str>,
}

/// Counters to add, one delta per (dimension, bucket, name), gathered event by event: a batch of
/// a log's records adds to a few hundred buckets, found by key rather than by a scan.
#[derive(Debug, Default)]
pub struct MetricDeltas {
    deltas: Vec<MetricDelta>,
    /// Where each delta is, by (dimension, bucket), then by name.
    index: HashMap<(&'static str, i64), HashMap<String, usize>>,
}

impl MetricDeltas {
    /// Adds counts to the overall, per-provider, per-campaign and per-stream buckets.
    pub fn count(&mut self, place: CountedAt<'_>, counts: Counts) {
        let bucket = bucket_of(place.at);
        self.add("all", bucket, "", counts);
        self.add("isp", bucket, place.isp, counts);
        if let Some(campaign) = place.campaign {
            self.add("campaign", bucket, campaign, counts);
        }
        if let Some(stream) = place.stream {
            self.add("stream", bucket, stream, counts);
        }
    }

    fn add(&mut self, dimension: &'static str, bucket: i64, name: &str, counts: Counts) {
        let names = self.index.entry((dimension, bucket)).or_default();
        match names.get(name) {
            Some(&i) => self.deltas[i].counts.add(&counts),
            None => {
                names.insert(name.to_owned(), self.deltas.len());
                self.deltas.push(MetricDelta { dimension, bucket, name: name.to_owned(), counts });
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    pub fn as_slice(&self) -> &[MetricDelta] {
        &self.deltas
    }
}

/// The JSON a webhook receives for a transition.
pub fn transition_payload(t: &AlertTransition) -> Value {
    json!({
        "event": format!("alert.{}", t.to.as_str()),
        "at": t.at,
        "alert": t,
    })
}

fn transition_cause(c: &StateChange) -> String {
    format!(
        "{} at {} is {:.2}% over {} attempts ({} level {:.2}%)",
        c.metric,
        c.scope,
        c.value,
        c.volume,
        if c.to == AlertLevel::Resolved { "below the" } else { "crossed the" },
        c.threshold
    )
}

/// Applies the level changes `evaluate` decided, in one transaction: the new states, one stored
/// and audited transition each, a delivery per enabled webhook, and for a critical level whose
/// action is `pause` a pause of the scope (unless one is in force). Changes that another replica
/// already applied (the stored level is no longer `from`) are skipped. Returns the transitions
/// and pauses made.
pub async fn apply_changes(
    store: &dyn Store,
    changes: &[StateChange],
    now: i64,
    mirror: bool,
) -> Result<(Vec<AlertTransition>, Vec<Pause>), StoreError> {
    let mut tx = store.begin().await?;
    let stored = tx.alert_states().await?;
    let hooks = tx.enabled_webhooks().await?;
    let (mut transitions, mut pauses) = (Vec::new(), Vec::new());
    for c in changes {
        let level =
            stored.iter().find(|s| s.metric == c.metric && s.scope == c.scope).map_or(AlertLevel::Ok, |s| s.level);
        if level != c.from {
            continue;
        }
        let state = AlertState {
            metric: c.metric,
            scope: c.scope.clone(),
            level: c.to,
            value: c.value,
            volume: c.volume,
            since: now,
            updated_at: now,
        };
        tx.put_alert_state(&state).await?;
        let mut t = AlertTransition {
            id: 0,
            at: now,
            metric: c.metric,
            scope: c.scope.clone(),
            from: c.from,
            to: c.to,
            value: c.value,
            volume: c.volume,
            threshold: c.threshold,
            pause_id: None,
        };
        t.id = tx.insert_transition(&t).await?;
        let cause = transition_cause(c);
        if c.to == AlertLevel::Critical && c.action == AlertAction::Pause && tx.active_pause(&c.scope).await?.is_none()
        {
            let new =
                NewPause { scope: &c.scope, reason: &cause, now, by: "system", transition_id: Some(t.id), mirror };
            let pause = tx.insert_pause(&new).await?;
            tx.set_transition_pause(t.id, pause.id).await?;
            t.pause_id = Some(pause.id);
            audit_pause(tx.as_mut(), &pause, AuditAction::PauseCreate, None, &Actor::System, &cause, now).await?;
            pauses.push(pause);
        }
        let target = format!("{}:{}", c.metric, c.scope);
        let change = Change {
            at: now,
            actor: &Actor::System,
            action: AuditAction::AlertTransition,
            target: &target,
            before: Some(json!({ "level": c.from })),
            after: serde_json::to_value(&t).ok(),
            reason: Some(&cause),
        };
        audit::append(tx.as_mut(), change).await?;
        let body = transition_payload(&t).to_string();
        for hook in &hooks {
            tx.insert_delivery(*hook, now, &format!("alert.{}", t.to.as_str()), &body).await?;
        }
        transitions.push(t);
    }
    tx.commit().await?.unlisted();
    Ok((transitions, pauses))
}

async fn audit_pause(
    tx: &mut dyn crate::Tx,
    pause: &Pause,
    action: AuditAction,
    before: Option<&Pause>,
    actor: &Actor,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    let target = format!("pause:{}", pause.scope);
    let change = Change {
        at: now,
        actor,
        action,
        target: &target,
        before: before.and_then(|p| serde_json::to_value(p).ok()),
        after: serde_json::to_value(pause).ok(),
        reason: Some(reason),
    };
    audit::append(tx, change).await.map(drop)
}

/// Pauses a scope by hand; `Ok(None)` when it is paused already.
pub async fn pause(
    store: &dyn Store,
    scope: &str,
    reason: &str,
    actor: &Actor,
    now: i64,
    mirror: bool,
) -> Result<Option<Pause>, StoreError> {
    let mut tx = store.begin().await?;
    if tx.active_pause(scope).await?.is_some() {
        return Ok(None);
    }
    let by = actor.to_string();
    let new = NewPause { scope, reason, now, by: &by, transition_id: None, mirror };
    let pause = tx.insert_pause(&new).await?;
    audit_pause(tx.as_mut(), &pause, AuditAction::PauseCreate, None, actor, reason, now).await?;
    tx.commit().await?.unlisted();
    Ok(Some(pause))
}

/// Why a resume did not happen.
#[derive(Debug)]
pub enum ResumeRefusal {
    NotFound,
    AlreadyResumed(Box<Pause>),
}

/// Resumes a paused scope (a staff action with a reason), audited; a mirrored suspension is then
/// lifted on the MTA by the worker.
pub async fn resume(
    store: &dyn Store,
    id: i64,
    reason: &str,
    actor: &Actor,
    now: i64,
) -> Result<Result<Pause, ResumeRefusal>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(old) = tx.pause_by_id(id).await? else { return Ok(Err(ResumeRefusal::NotFound)) };
    if old.resumed_at.is_some() {
        return Ok(Err(ResumeRefusal::AlreadyResumed(Box::new(old))));
    }
    let pause = tx.resume_pause(id, now, &actor.to_string(), reason).await?;
    audit_pause(tx.as_mut(), &pause, AuditAction::PauseResume, Some(&old), actor, reason, now).await?;
    tx.commit().await?.unlisted();
    Ok(Ok(pause))
}

/// Creates a webhook; audited (without its secret).
pub async fn create_webhook(
    store: &dyn Store,
    name: &str,
    url: &str,
    secret: &str,
    format: WebhookFormat,
    actor: &Actor,
    now: i64,
) -> Result<Webhook, StoreError> {
    let mut tx = store.begin().await?;
    let hook = tx.insert_webhook(name, url, secret, format, now, &actor.to_string()).await?;
    audit_webhook(tx.as_mut(), &hook, AuditAction::WebhookCreate, None, actor, now).await?;
    tx.commit().await?.unlisted();
    Ok(hook)
}

/// Enables or disables a webhook; audited. `None` if there is no such webhook.
pub async fn set_webhook_enabled(
    store: &dyn Store,
    id: i64,
    enabled: bool,
    actor: &Actor,
    now: i64,
) -> Result<Option<Webhook>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(hook) = tx.set_webhook_enabled(id, enabled).await? else { return Ok(None) };
    let before = Webhook { enabled: !enabled, ..hook.clone() };
    audit_webhook(tx.as_mut(), &hook, AuditAction::WebhookUpdate, Some(&before), actor, now).await?;
    tx.commit().await?.unlisted();
    Ok(Some(hook))
}

async fn audit_webhook(
    tx: &mut dyn crate::Tx,
    hook: &Webhook,
    action: AuditAction,
    before: Option<&Webhook>,
    actor: &Actor,
    now: i64,
) -> Result<(), StoreError> {
    let target = format!("webhook:{}", hook.name);
    let change = Change {
        at: now,
        actor,
        action,
        target: &target,
        before: before.and_then(|h| serde_json::to_value(h).ok()),
        after: serde_json::to_value(hook).ok(),
        reason: None,
    };
    audit::append(tx, change).await.map(drop)
}

/// Queues a test notification to one webhook.
pub async fn queue_test(store: &dyn Store, webhook_id: i64, now: i64) -> Result<i64, StoreError> {
    let body = json!({ "event": "test", "at": now, "message": "Rebound webhook test" }).to_string();
    let mut tx = store.begin().await?;
    let id = tx.insert_delivery(webhook_id, now, "test", &body).await?;
    tx.commit().await?.unlisted();
    Ok(id)
}

/// Claims due deliveries (leased for `lease` seconds).
pub async fn claim_deliveries(
    store: &dyn Store,
    now: i64,
    lease: i64,
    limit: u32,
) -> Result<Vec<DueDelivery>, StoreError> {
    let mut tx = store.begin().await?;
    let due = tx.claim_deliveries(now, now + lease, limit).await?;
    tx.commit().await?.unlisted();
    Ok(due)
}

/// Records an attempt's result.
pub async fn finish_delivery(store: &dyn Store, id: i64, attempt: &Attempt) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.finish_delivery(id, attempt).await?;
    tx.commit().await.map(crate::Committed::unlisted)
}

/// Claims pauses whose MTA suspension needs a call.
pub async fn claim_mta(store: &dyn Store, now: i64, lease: i64, limit: u32) -> Result<Vec<DueMta>, StoreError> {
    let mut tx = store.begin().await?;
    let due = tx.claim_mta(now, now + lease, limit).await?;
    tx.commit().await?.unlisted();
    Ok(due)
}

/// Replaces a suspended pause's suspension ids (see `MonitorTx::replace_mta_ids`).
pub async fn replace_mta_ids(
    store: &dyn Store,
    id: i64,
    expected: &[String],
    ids: &[String],
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let replaced = tx.replace_mta_ids(id, expected, ids).await?;
    tx.commit().await?.unlisted();
    Ok(replaced)
}

/// Records what an MTA call did.
pub async fn update_mta(store: &dyn Store, id: i64, update: &MtaUpdate) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.update_mta(id, update).await?;
    tx.commit().await.map(crate::Committed::unlisted)
}
