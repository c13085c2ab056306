//! The audit log's hash chain. Each row stores the hash of the row before it and its own hash over
//! that previous hash and its content, so changing, removing or reordering any row breaks every
//! hash after it. The databases also refuse `UPDATE` and `DELETE` on the table (triggers); the
//! chain catches what a trigger cannot, such as edits by someone who dropped the triggers first.

use rebound_api::v1::AuditVerification;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Actor, Store, StoreError, Tx};

/// A row as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// JSON text.
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// A row as read back for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub id: i64,
    pub row: AuditRow,
}

/// What an audit row records, named `resource.verb` in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    SuppressionAdd,
    SuppressionReopen,
    SuppressionEscalate,
    SuppressionLift,
    SuppressionLiftByCause,
    SuppressionImport,
    SettingsUpdate,
    PolicyReevaluate,
    KeyCreate,
    KeyRevoke,
    UserCreate,
    UserUpdate,
    UserResetPassword,
    AlertTransition,
    PauseCreate,
    PauseResume,
    WebhookCreate,
    WebhookUpdate,
}

impl AuditAction {
    /// The action's name in the log (and in its filter).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SuppressionAdd => "suppression.add",
            Self::SuppressionReopen => "suppression.reopen",
            Self::SuppressionEscalate => "suppression.escalate",
            Self::SuppressionLift => "suppression.lift",
            Self::SuppressionLiftByCause => "suppression.lift_by_cause",
            Self::SuppressionImport => "suppression.import",
            Self::SettingsUpdate => "settings.update",
            Self::PolicyReevaluate => "policy.reevaluate",
            Self::KeyCreate => "key.create",
            Self::KeyRevoke => "key.revoke",
            Self::UserCreate => "user.create",
            Self::UserUpdate => "user.update",
            Self::UserResetPassword => "user.reset_password",
            Self::AlertTransition => "alert.transition",
            Self::PauseCreate => "pause.create",
            Self::PauseResume => "pause.resume",
            Self::WebhookCreate => "webhook.create",
            Self::WebhookUpdate => "webhook.update",
        }
    }
}

/// A change to record.
pub struct Change<'a> {
    pub at: i64,
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<&'a str>,
}

/// The hash of a row: SHA-256 over the previous hash and every field, each length-prefixed (an
/// absent field has its own marker), so no two different rows hash alike by concatenation.
pub fn row_hash(row: &AuditRow) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(row.prev_hash);
    h.update(row.at.to_le_bytes());
    for field in [Some(&row.actor), Some(&row.action), Some(&row.target), row.before.as_ref(), row.after.as_ref()]
        .into_iter()
        .chain([row.reason.as_ref()])
    {
        match field {
            Some(text) => {
                h.update((text.len() as u64).to_le_bytes());
                h.update(text.as_bytes());
            }
            None => h.update(u64::MAX.to_le_bytes()),
        }
    }
    h.finalize().into()
}

/// The row that records `change` after the row whose hash is `prev_hash`.
fn chained(change: Change<'_>, prev_hash: [u8; 32]) -> AuditRow {
    let mut row = AuditRow {
        at: change.at,
        actor: change.actor.to_string(),
        action: change.action.as_str().to_owned(),
        target: change.target.to_owned(),
        before: change.before.map(|v| v.to_string()),
        after: change.after.map(|v| v.to_string()),
        reason: change.reason.map(str::to_owned),
        prev_hash,
        hash: [0; 32],
    };
    row.hash = row_hash(&row);
    row
}

/// Appends a change inside the caller's transaction; returns the new row's id.
pub async fn append(tx: &mut dyn Tx, change: Change<'_>) -> Result<i64, StoreError> {
    let prev_hash = tx.last_audit_hash().await?;
    tx.insert_audit(&chained(change, prev_hash)).await
}

/// Appends several changes, in order, with one read of the last hash and one multi-row insert.
pub async fn append_many(tx: &mut dyn Tx, changes: Vec<Change<'_>>) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut prev_hash = tx.last_audit_hash().await?;
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        let row = chained(change, prev_hash);
        prev_hash = row.hash;
        rows.push(row);
    }
    tx.insert_audits(&rows).await
}

/// Walks the whole chain in pages and reports the first row that does not follow.
pub async fn verify(store: &dyn Store) -> Result<AuditVerification, StoreError> {
    const PAGE: u32 = 5_000;
    let mut prev = [0u8; 32];
    let mut after = 0;
    let mut rows = 0u64;
    loop {
        let page = store.audit_chain(after, PAGE).await?;
        for ChainRow { id, row } in &page {
            rows += 1;
            if row.prev_hash != prev || row_hash(row) != row.hash {
                return Ok(AuditVerification { ok: false, rows, first_bad_id: Some(*id), missing_guards: Vec::new() });
            }
            prev = row.hash;
            after = *id;
        }
        if page.len() < PAGE as usize {
            return Ok(AuditVerification { ok: true, rows, first_bad_id: None, missing_guards: Vec::new() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reason: Option<&str>) -> AuditRow {
        AuditRow {
            at: 1,
            actor: "user:admin".into(),
            action: "suppression.lift".into(),
            target: "jane@example.com".into(),
            before: None,
            after: Some("{}".into()),
            reason: reason.map(str::to_owned),
            prev_hash: [7; 32],
            hash: [0; 32],
        }
    }

    #[test]
    fn every_field_counts_and_absence_differs_from_empty() {
        let base = row_hash(&row(None));
        assert_ne!(base, row_hash(&row(Some(""))));
        assert_ne!(base, row_hash(&AuditRow { at: 2, ..row(None) }));
        assert_ne!(base, row_hash(&AuditRow { prev_hash: [8; 32], ..row(None) }));
        let shifted = AuditRow { actor: "user:admi".into(), action: "nsuppression.lift".into(), ..row(None) };
        assert_ne!(base, row_hash(&shifted));
    }
}
