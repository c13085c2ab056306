//! The write algorithms, written once over the `Tx` primitives so both backends share them:
//! ingesting events under the policy, suppressing and lifting, saving settings, managing keys.
//! Every change to the list, the settings or the keys appends an audit row in the same
//! transaction, so a change and its record commit together or not at all.

use rebound_api::v1::{ApiKey, ImportJob, Policy, Role, Suppression};
use rebound_policy::EventFacts;
use rebound_policy::plan::{self, Entry, EntryChange, LiftCheck, Reevaluated, lift_check, on_suppress};
use serde_json::{Value, json};

use crate::audit::{self, AuditAction, Change};
use crate::monitor::DailyDelta;
use crate::{
    Actor, FeedSpan, ImportRow, IndexEntry, Lift, NewApiKey, NewSuppression, NewUser, Store, StoreError,
    SuppressionCursor, SuppressionQuery, Tx, User,
};

/// The settings row that holds the policy.
pub const POLICY_SETTING: &str = "policy";

pub use crate::ingest::{IngestReport, Ingested, ingest};

fn corrupt_json(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt { what: "json", detail: e.to_string() }
}

/// What `suppress` did to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressChange {
    Created,
    /// A lifted or expired entry became active again.
    Reopened,
    /// An active entry became a complaint (which needs a confirmation to lift).
    Escalated,
    /// It was already in force; nothing was written.
    Unchanged,
}

impl SuppressChange {
    pub const fn as_str(self) -> &'static str {
        match self {
            SuppressChange::Created => "created",
            SuppressChange::Reopened => "reopened",
            SuppressChange::Escalated => "escalated",
            SuppressChange::Unchanged => "unchanged",
        }
    }
}

/// Whether an entry applies at `now`: active, and not past its expiry.
pub fn in_force(entry: &Suppression, now: i64) -> bool {
    state(entry).in_force(now)
}

/// What the policy's entry rules look at in an entry.
fn state(entry: &Suppression) -> Entry {
    Entry { reason: entry.reason, active: entry.active, expires_at: entry.expires_at }
}

/// An entry as it stands at `now`, as the API shows it: one past its expiry no longer applies, so
/// it is not active.
pub fn as_of(mut entry: Suppression, now: i64) -> Suppression {
    entry.active = in_force(&entry, now);
    entry
}

pub(crate) fn snapshot(entry: &Suppression) -> Option<Value> {
    serde_json::to_value(entry).ok()
}

async fn suppress_in(
    tx: &mut dyn Tx,
    new: &NewSuppression<'_>,
    actor: &Actor,
    cause: Option<&str>,
) -> Result<(Suppression, SuppressChange), StoreError> {
    let existing = tx.suppression_by_key(new.scope, new.target.key()).await?;
    let state = existing.as_ref().map(|old| (old.reason, in_force(old, new.now)));
    let (entry, change, before) = match (existing, on_suppress(state, new.reason)) {
        (Some(old), EntryChange::Unchanged) => return Ok((old, SuppressChange::Unchanged)),
        (Some(old), EntryChange::Escalate) => {
            (tx.reopen_suppression(old.id, new).await?, SuppressChange::Escalated, snapshot(&old))
        }
        (Some(old), _) => (tx.reopen_suppression(old.id, new).await?, SuppressChange::Reopened, snapshot(&old)),
        (None, _) => (tx.insert_suppression(new).await?, SuppressChange::Created, None),
    };
    if matches!(change, SuppressChange::Created | SuppressChange::Reopened) {
        tx.add_suppression_daily(&[DailyDelta::added(new.now, entry.reason.as_str(), 1)]).await?;
    }
    let action = match change {
        SuppressChange::Created => AuditAction::SuppressionAdd,
        SuppressChange::Reopened => AuditAction::SuppressionReopen,
        _ => AuditAction::SuppressionEscalate,
    };
    audit::append(
        tx,
        Change {
            at: new.now,
            actor,
            action,
            target: &audit_target(&entry),
            before,
            after: snapshot(&entry),
            reason: cause,
        },
    )
    .await?;
    Ok((entry, change))
}

/// How an entry is named in the audit log: `scope:address`.
pub fn audit_target(entry: &Suppression) -> String {
    format!("{}:{}", entry.scope, entry.address.to_lowercase())
}

/// Puts an address or domain on the list (or reopens its lifted entry), audited.
pub async fn suppress(
    store: &dyn Store,
    new: &NewSuppression<'_>,
    actor: &Actor,
) -> Result<(Suppression, SuppressChange, Option<FeedSpan>), StoreError> {
    let mut tx = store.begin().await?;
    let (entry, change) = suppress_in(tx.as_mut(), new, actor, new.note).await?;
    let feed = tx.commit().await?.feed();
    Ok((entry, change, feed))
}

/// Lifts an active entry inside the caller's transaction and records it in the audit log.
async fn lift_in(
    tx: &mut dyn Tx,
    old: &Suppression,
    lift: &Lift<'_>,
    actor: &Actor,
) -> Result<Suppression, StoreError> {
    let entry = tx.lift_suppression(old.id, lift).await?;
    tx.add_suppression_daily(&[DailyDelta::lifted(lift.now, old.reason.as_str(), 1)]).await?;
    let change = Change {
        at: lift.now,
        actor,
        action: AuditAction::SuppressionLift,
        target: &audit_target(&entry),
        before: snapshot(old),
        after: snapshot(&entry),
        reason: Some(lift.reason),
    };
    audit::append(tx, change).await?;
    Ok(entry)
}

/// Why a lift did not happen.
#[derive(Debug)]
pub enum LiftRefusal {
    NotFound,
    NotActive(Box<Suppression>),
    /// A complaint needs `confirm_complaint`.
    NeedsConfirmation(Box<Suppression>),
}

/// Lifts an entry, keeping it (inactive) with who and why; audited.
pub async fn lift(
    store: &dyn Store,
    id: i64,
    lift: &Lift<'_>,
    actor: &Actor,
    confirm_complaint: bool,
) -> Result<Result<(Suppression, Option<FeedSpan>), LiftRefusal>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(old) = tx.suppression_by_id(id).await? else { return Ok(Err(LiftRefusal::NotFound)) };
    match lift_check(&state(&old), confirm_complaint) {
        LiftCheck::NotActive => return Ok(Err(LiftRefusal::NotActive(Box::new(old)))),
        LiftCheck::NeedsConfirmation => return Ok(Err(LiftRefusal::NeedsConfirmation(Box::new(old)))),
        LiftCheck::Lift => {}
    }
    let entry = lift_in(tx.as_mut(), &old, lift, actor).await?;
    let feed = tx.commit().await?.feed();
    Ok(Ok((entry, feed)))
}

/// What lifting by cause did (or, for a preview, would do).
#[derive(Debug, Clone, Default)]
pub struct CauseLift {
    pub matched: u64,
    pub lifted: Vec<Suppression>,
    pub complaints_skipped: u64,
    /// The change-feed rows the lifts wrote.
    pub feed: Option<FeedSpan>,
}

/// Lifts, in one transaction, every active entry matching `query` (its cursor and limit are
/// ignored), leaving complaints unless `include_complaints`; each lift is audited, plus one row
/// for the operation (`target` names the cause).
pub async fn lift_by_cause(
    store: &dyn Store,
    query: &SuppressionQuery,
    lift: &Lift<'_>,
    actor: &Actor,
    include_complaints: bool,
    target: &str,
) -> Result<CauseLift, StoreError> {
    let ids = matching_ids(store, query).await?;
    let mut out = CauseLift { matched: ids.len() as u64, ..CauseLift::default() };
    let mut tx = store.begin().await?;
    for id in ids {
        let Some(old) = tx.suppression_by_id(id).await? else { continue };
        match lift_check(&state(&old), include_complaints) {
            LiftCheck::NotActive => continue,
            LiftCheck::NeedsConfirmation => {
                out.complaints_skipped += 1;
                continue;
            }
            LiftCheck::Lift => {}
        }
        out.lifted.push(lift_in(tx.as_mut(), &old, lift, actor).await?);
    }
    let change = Change {
        at: lift.now,
        actor,
        action: AuditAction::SuppressionLiftByCause,
        target,
        before: None,
        after: Some(json!({
            "matched": out.matched,
            "lifted": out.lifted.len(),
            "complaints_skipped": out.complaints_skipped,
        })),
        reason: Some(lift.reason),
    };
    audit::append(tx.as_mut(), change).await?;
    out.feed = tx.commit().await?.feed();
    Ok(out)
}

/// Ids of every active entry matching `query`, read page by page.
pub async fn matching_ids(store: &dyn Store, query: &SuppressionQuery) -> Result<Vec<i64>, StoreError> {
    const PAGE: u32 = 10_000;
    let mut query =
        SuppressionQuery { active: Some(true), key_prefix: None, limit: PAGE, cursor: None, ..query.clone() };
    let mut ids = Vec::new();
    loop {
        let page = store.suppressions(&query).await?;
        ids.extend(page.iter().map(|s| s.id));
        match page.last() {
            Some(last) if page.len() == PAGE as usize => query.cursor = Some(SuppressionCursor::BeforeId(last.id)),
            _ => return Ok(ids),
        }
    }
}

/// What a re-evaluation did (or, unconfirmed, would do).
#[derive(Debug, Clone, Default)]
pub struct Reevaluation {
    pub would_suppress: u64,
    pub would_lift: u64,
    /// Entries changed (empty unless confirmed).
    pub changed: Vec<Suppression>,
    pub suppressed: u64,
    pub lifted: u64,
    /// The change-feed rows the changes wrote.
    pub feed: Option<FeedSpan>,
}

fn facts<'a>(verdict: &rebound_api::v1::Verdict, stream: Option<&'a str>) -> EventFacts<'a> {
    EventFacts {
        kind: verdict.kind,
        reason: verdict.reason,
        spam_trap: false,
        stream,
        permanent: verdict.is_permanent_failure(),
    }
}

/// Applies new verdicts of stored events to the list, in one transaction: an event whose new
/// verdict suppresses (hard, complaint, unsubscribe) where the old one did not suppresses its
/// recipient; an entry an event caused, still active and still carrying the event's old rule, is
/// lifted when the new verdict would not have suppressed. Soft-bounce escalation is not
/// re-derived. Without `confirm` the transaction is rolled back and only the counts are kept.
pub async fn reevaluate(
    store: &dyn Store,
    changes: &[(&rebound_api::v1::Event, rebound_api::v1::Verdict)],
    policy: &Policy,
    actor: &Actor,
    reason: &str,
    now: i64,
    confirm: bool,
) -> Result<Reevaluation, StoreError> {
    let mut out = Reevaluation::default();
    let by = actor.to_string();
    let mut tx = store.begin().await?;
    for (event, new) in changes {
        let mut linked = None;
        let stream = event.stream.as_deref();
        match plan::reevaluate(policy, facts(&event.verdict, stream), facts(new, stream)) {
            Reevaluated::LiftWhatItCaused => {
                let Some(id) = event.suppression_id else { continue };
                let Some(old) = tx.suppression_by_id(id).await? else { continue };
                if !old.active || old.rule.as_deref() != Some(event.verdict.rule.as_ref()) {
                    continue;
                }
                out.would_lift += 1;
                let why =
                    format!("{reason} (re-evaluated: {} is now {} by {})", event.verdict.kind, new.kind, new.rule);
                let entry = lift_in(tx.as_mut(), &old, &Lift { by: &by, reason: &why, now }, actor).await?;
                out.lifted += 1;
                out.changed.push(entry);
            }
            Reevaluated::Suppress { reason: suppression_reason, scope } => {
                let Some(target) = event.recipient.as_deref().and_then(|r| rebound_policy::normalize(r).ok()) else {
                    continue;
                };
                out.would_suppress += 1;
                let new_entry = NewSuppression {
                    target: &target,
                    scope: &scope,
                    reason: suppression_reason,
                    source: "reevaluation",
                    added_by: &by,
                    rule: Some(&new.rule),
                    note: None,
                    expires_at: None,
                    now,
                };
                let why = format!("{reason} (re-evaluated event {}: now {} by {})", event.id, new.kind, new.rule);
                let (entry, change) = suppress_in(tx.as_mut(), &new_entry, actor, Some(&why)).await?;
                linked = Some(entry.id);
                if change != SuppressChange::Unchanged {
                    out.suppressed += 1;
                    out.changed.push(entry);
                }
            }
            Reevaluated::Keep => {}
        }
        // The event now carries its new verdict (and the entry it caused), so running the
        // re-evaluation again proposes nothing more, and a later one can lift what this one added.
        let verdict_json = serde_json::to_string(new).map_err(corrupt_json)?;
        tx.set_event_verdict(event.id, new, &verdict_json, linked).await?;
    }
    if !confirm {
        out.changed.clear();
        out.suppressed = 0;
        out.lifted = 0;
        return Ok(out);
    }
    let change = Change {
        at: now,
        actor,
        action: AuditAction::PolicyReevaluate,
        target: POLICY_SETTING,
        before: None,
        after: Some(json!({
            "events_changed": changes.len(),
            "suppressed": out.suppressed,
            "lifted": out.lifted,
        })),
        reason: Some(reason),
    };
    audit::append(tx.as_mut(), change).await?;
    out.feed = tx.commit().await?.feed();
    Ok(out)
}

/// The saved policy, or the defaults when none was saved.
pub async fn policy(store: &dyn Store) -> Result<Policy, StoreError> {
    setting_or_default(store, POLICY_SETTING).await
}

/// Saves a (validated) policy; audited with the before and after values.
pub async fn set_policy(
    store: &dyn Store,
    policy: &Policy,
    actor: &Actor,
    reason: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    save_setting(store, POLICY_SETTING, policy, actor, reason, now).await
}

/// A saved setting, or its defaults when none was saved.
pub async fn setting_or_default<T: serde::de::DeserializeOwned + Default>(
    store: &dyn Store,
    name: &'static str,
) -> Result<T, StoreError> {
    match store.setting(name).await? {
        Some(text) => crate::json_from_db(name, &text),
        None => Ok(T::default()),
    }
}

/// Saves a (validated) setting; audited with the before and after values.
pub async fn save_setting<T: serde::Serialize + Default>(
    store: &dyn Store,
    name: &'static str,
    value: &T,
    actor: &Actor,
    reason: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let after = serde_json::to_value(value).map_err(corrupt_json)?;
    let mut tx = store.begin().await?;
    let before = match tx.setting(name).await? {
        Some(text) => crate::json_from_db::<Value>(name, &text)?,
        None => serde_json::to_value(T::default()).map_err(corrupt_json)?,
    };
    tx.put_setting(name, &after.to_string(), now).await?;
    let change = Change {
        at: now,
        actor,
        action: AuditAction::SettingsUpdate,
        target: name,
        before: Some(before),
        after: Some(after),
        reason,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await.map(crate::Committed::unlisted)
}

/// Creates an API key; audited (without its secret).
pub async fn create_api_key(store: &dyn Store, key: &NewApiKey<'_>, actor: &Actor) -> Result<ApiKey, StoreError> {
    let mut tx = store.begin().await?;
    let created = tx.insert_api_key(key).await?;
    let change = Change {
        at: key.now,
        actor,
        action: AuditAction::KeyCreate,
        target: &format!("key:{}", created.id),
        before: None,
        after: Some(json!({ "name": created.name, "prefix": created.prefix, "scopes": created.scopes })),
        reason: None,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await?.unlisted();
    Ok(created)
}

/// Revokes an API key; audited. `None` when there is no such key.
pub async fn revoke_api_key(store: &dyn Store, id: i64, actor: &Actor, now: i64) -> Result<Option<ApiKey>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(key) = tx.revoke_api_key(id, now).await? else { return Ok(None) };
    let change = Change {
        at: now,
        actor,
        action: AuditAction::KeyRevoke,
        target: &format!("key:{id}"),
        before: None,
        after: Some(json!({ "name": key.name, "revoked_at": key.revoked_at })),
        reason: None,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await?.unlisted();
    Ok(Some(key))
}

/// The `source` of entries an import created: `import:<job id>`.
pub fn import_source(job_id: i64) -> String {
    format!("import:{job_id}")
}

/// Commits one batch of an import: its rows, the job's progress (`job` already counts the batch's
/// lines, bytes and rejections; this adds what the rows did) and, when anything changed, one
/// audit row naming the job and the batch's line range. Returns the changed entries when
/// `want_entries`.
pub async fn import_batch(
    store: &dyn Store,
    job: &mut ImportJob,
    rows: &[ImportRow],
    lines: (u64, u64),
    actor: &Actor,
    want_entries: bool,
) -> Result<(Vec<IndexEntry>, Option<FeedSpan>), StoreError> {
    let mut tx = store.begin().await?;
    let counts = tx.import_suppressions(rows, &import_source(job.id), job.updated_at, want_entries).await?;
    let (created, reopened) = (counts.created as i64, counts.reopened as i64);
    let unchanged = rows.len() as i64 - created - reopened;
    job.created += created;
    job.reopened += reopened;
    job.unchanged += unchanged;
    if created + reopened > 0 {
        let added = DailyDelta::added(job.updated_at, job.reason.as_str(), (created + reopened) as u64);
        tx.add_suppression_daily(&[added]).await?;
        let change = Change {
            at: job.updated_at,
            actor,
            action: AuditAction::SuppressionImport,
            target: &import_source(job.id),
            before: None,
            after: Some(json!({
                "lines": [lines.0, lines.1],
                "created": created,
                "reopened": reopened,
                "unchanged": unchanged,
            })),
            reason: None,
        };
        audit::append(tx.as_mut(), change).await?;
    }
    tx.update_import(job).await?;
    let feed = tx.commit().await?.feed();
    Ok((counts.entries, feed))
}

/// Saves a job's state outside a batch (started, finished, failed).
pub async fn save_import(store: &dyn Store, job: &ImportJob) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.update_import(job).await?;
    tx.commit().await.map(crate::Committed::unlisted)
}

fn user_snapshot(user: &User) -> Value {
    json!({ "username": user.username, "role": user.role, "disabled": user.disabled })
}

/// Creates a staff account; audited (without the password).
pub async fn create_user(store: &dyn Store, user: &NewUser<'_>, actor: &Actor) -> Result<User, StoreError> {
    let mut tx = store.begin().await?;
    let created = tx.insert_user(user).await?;
    let change = Change {
        at: user.now,
        actor,
        action: AuditAction::UserCreate,
        target: &format!("user:{}", created.username),
        before: None,
        after: Some(user_snapshot(&created)),
        reason: None,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await?.unlisted();
    Ok(created)
}

/// Why a change to an account was refused.
#[derive(Debug)]
pub enum UserRefusal {
    NotFound,
    /// It would leave no active admin.
    LastAdmin,
}

/// Changes an account's role or disables it (a disabled account's sessions stop working at
/// once); audited. The last active admin cannot be demoted or disabled.
pub async fn update_user(
    store: &dyn Store,
    id: i64,
    role: Option<Role>,
    disabled: Option<bool>,
    actor: &Actor,
    now: i64,
) -> Result<Result<User, UserRefusal>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(old) = tx.user_by_id(id).await? else { return Ok(Err(UserRefusal::NotFound)) };
    let role = role.unwrap_or(old.role);
    let disabled = disabled.unwrap_or(old.disabled);
    let stays_admin = role == Role::Admin && !disabled;
    if old.role == Role::Admin && !old.disabled && !stays_admin && tx.other_active_admins(id).await? == 0 {
        return Ok(Err(UserRefusal::LastAdmin));
    }
    let user = tx.update_user(id, role, disabled).await?;
    let change = Change {
        at: now,
        actor,
        action: AuditAction::UserUpdate,
        target: &format!("user:{}", user.username),
        before: Some(user_snapshot(&old)),
        after: Some(user_snapshot(&user)),
        reason: None,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await?.unlisted();
    Ok(Ok(user))
}

/// Sets a new password hash and signs the account out everywhere; audited (without the secret).
pub async fn reset_password(
    store: &dyn Store,
    id: i64,
    password_hash: &str,
    actor: &Actor,
    now: i64,
) -> Result<Option<User>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(user) = tx.user_by_id(id).await? else { return Ok(None) };
    tx.set_password(id, password_hash).await?;
    let change = Change {
        at: now,
        actor,
        action: AuditAction::UserResetPassword,
        target: &format!("user:{}", user.username),
        before: None,
        after: None,
        reason: None,
    };
    audit::append(tx.as_mut(), change).await?;
    tx.commit().await?.unlisted();
    Ok(Some(user))
}
