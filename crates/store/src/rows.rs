//! Reading rows back into records, written once for both backends: the column names are the same
//! in both schemas, and these functions are generic over sqlx's row type.

use rebound_api::v1::{ApiKey, AuditEntry, Event, ImportFormat, ImportJob, ListChange, ListChangeKind, Suppression};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::audit::{AuditRow, ChainRow};
use crate::{IndexEntry, StoreError, User, json_from_db, reason_from_db, role_from_db, scopes_from_db};

/// The column list each reader expects, as literals usable in `concat!` so that queries stay
/// `&'static str` and are prepared once per connection.
#[macro_export]
macro_rules! columns {
    (user) => {
        "users.id, users.username, users.password_hash, users.role, users.disabled, users.created_at"
    };
    (suppression) => {
        "id, key, address, domain, domain_wide, scope, reason, source, rule, note, active, created_at, updated_at, \
         expires_at, lifted_at, lifted_by, lift_reason"
    };
    (event) => {
        "id, at, received_at, source, input, recipient, verdict, outcome, suppression_id, campaign, stream, \
         sending_ip, isp, raw"
    };
    (api_key) => {
        "id, name, prefix, scopes, created_by, created_at, revoked_at"
    };
    (audit) => {
        "id, at, actor, action, target, before, after, reason, prev_hash, hash"
    };
    (import) => {
        "id, format, scope, reason, created_by, created_at, updated_at, state, bytes_total, bytes_read, lines, \
         created, reopened, unchanged, rejected, rejected_lines, error"
    };
    (index) => {
        "id, key, scope, reason, active, created_at, expires_at"
    };
    (change) => {
        "c.sequence, c.change, c.suppression_id, s.address, s.scope, c.reason, c.actor, c.at, c.expires_at"
    };
}

pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Maps a unique-index violation to `Conflict`, anything else to `Backend`.
pub fn write_error(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        _ => backend(e),
    }
}

/// An import job's rejected lines as stored (a JSON array).
pub fn rejected_json(job: &ImportJob) -> Result<String, StoreError> {
    serde_json::to_string(&job.rejected_lines)
        .map_err(|e| StoreError::Corrupt { what: "rejected lines", detail: e.to_string() })
}

/// Appends `v1, v2, ...)` to a query ending in `IN (`, binding each value.
pub fn push_list<'a, DB, T>(b: &mut sqlx::QueryBuilder<'a, DB>, values: &[T])
where
    DB: sqlx::Database,
    T: Copy + 'a + sqlx::Encode<'a, DB> + Type<DB>,
{
    let mut list = b.separated(", ");
    for value in values {
        list.push_bind(*value);
    }
    b.push(")");
}

fn get<'r, R, T>(row: &'r R, column: &'static str) -> Result<T, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column).map_err(backend)
}

macro_rules! readers {
    ($($(#[$meta:meta])* fn $name:ident($row:ident) -> $ty:ty $body:block)+) => {$(
        $(#[$meta])*
        pub fn $name<'r, R: Row>($row: &'r R) -> Result<$ty, StoreError>
        where
            &'static str: ColumnIndex<R>,
            i64: Decode<'r, R::Database> + Type<R::Database>,
            bool: Decode<'r, R::Database> + Type<R::Database>,
            String: Decode<'r, R::Database> + Type<R::Database>,
            Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
            Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
            Option<String>: Decode<'r, R::Database> + Type<R::Database>,
            Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
        $body
    )+};
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt { what: "audit hash", detail: format!("{} bytes", b.len()) })
}

readers! {
    /// `columns!(user)` as `User`.
    fn user(row) -> User {
        Ok(User {
            id: get(row, "id")?,
            username: get(row, "username")?,
            password_hash: get(row, "password_hash")?,
            role: role_from_db(&get::<_, String>(row, "role")?)?,
            disabled: get(row, "disabled")?,
            created_at: get(row, "created_at")?,
        })
    }

    /// `columns!(suppression)` as `Suppression`.
    fn suppression(row) -> Suppression {
        Ok(Suppression {
            id: get(row, "id")?,
            address: get(row, "address")?,
            domain: get(row, "domain")?,
            domain_wide: get(row, "domain_wide")?,
            scope: get(row, "scope")?,
            reason: reason_from_db(&get::<_, String>(row, "reason")?)?,
            source: get(row, "source")?,
            rule: get(row, "rule")?,
            note: get(row, "note")?,
            active: get(row, "active")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            expires_at: get(row, "expires_at")?,
            lifted_at: get(row, "lifted_at")?,
            lifted_by: get(row, "lifted_by")?,
            lift_reason: get(row, "lift_reason")?,
        })
    }

    /// `columns!(change)` as `ListChange`.
    fn list_change(row) -> ListChange {
        let change: String = get(row, "change")?;
        Ok(ListChange {
            sequence: get(row, "sequence")?,
            change: ListChangeKind::parse(&change)
                .ok_or_else(|| StoreError::Corrupt { what: "list change", detail: change.clone() })?,
            suppression_id: get(row, "suppression_id")?,
            address: get(row, "address")?,
            scope: get(row, "scope")?,
            reason: reason_from_db(&get::<_, String>(row, "reason")?)?,
            actor: get(row, "actor")?,
            at: get(row, "at")?,
            expires_at: get(row, "expires_at")?,
        })
    }

    /// `columns!(index)` as `IndexEntry`.
    fn index_entry(row) -> IndexEntry {
        Ok(IndexEntry {
            id: get(row, "id")?,
            key: get(row, "key")?,
            scope: get(row, "scope")?,
            reason: reason_from_db(&get::<_, String>(row, "reason")?)?,
            active: get(row, "active")?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
        })
    }

    /// `columns!(event)` as `Event`; its input is shown as text (a part that is not UTF-8 as U+FFFD).
    fn event(row) -> Event {
        Ok(event_with_raw(row)?.0)
    }

    /// `columns!(event)` with the exact bytes of a stored input.
    fn stored_input(row) -> crate::StoredInput {
        let (event, raw) = event_with_raw(row)?;
        Ok(crate::StoredInput { event, raw: raw.unwrap_or_default() })
    }

    /// `idempotency_key, payload_digest, columns!(event)` as a `KeyedEvent`.
    fn keyed_event(row) -> crate::KeyedEvent {
        Ok(crate::KeyedEvent {
            key: get(row, "idempotency_key")?,
            payload_digest: get(row, "payload_digest")?,
            event: event_with_raw(row)?.0,
        })
    }

    /// `columns!(event)` as `Event`, and the bytes of its input.
    fn event_with_raw(row) -> (Event, Option<Vec<u8>>) {
        let raw: Option<Vec<u8>> = get(row, "raw")?;
        let event = Event {
            id: get(row, "id")?,
            at: get(row, "at")?,
            received_at: get(row, "received_at")?,
            source: get(row, "source")?,
            input: get(row, "input")?,
            recipient: get(row, "recipient")?,
            verdict: json_from_db("event verdict", &get::<_, String>(row, "verdict")?)?,
            outcome: json_from_db("event outcome", &get::<_, String>(row, "outcome")?)?,
            suppression_id: get(row, "suppression_id")?,
            campaign: get(row, "campaign")?,
            stream: get(row, "stream")?,
            sending_ip: get(row, "sending_ip")?,
            isp: get(row, "isp")?,
            raw: raw.as_deref().map(|r| String::from_utf8_lossy(r).into_owned()),
        };
        Ok((event, raw))
    }

    /// `id, received_at, recipient, verdict` as an `UnknownEvent`.
    fn unknown_event(row) -> crate::UnknownEvent {
        Ok(crate::UnknownEvent {
            id: get(row, "id")?,
            received_at: get(row, "received_at")?,
            recipient: get(row, "recipient")?,
            verdict: json_from_db("event verdict", &get::<_, String>(row, "verdict")?)?,
        })
    }

    /// `recipient_key, at, id, delivered` as a history mark.
    fn history_mark(row) -> crate::HistoryMark {
        Ok(crate::HistoryMark {
            recipient_key: get(row, "recipient_key")?,
            at: get(row, "at")?,
            id: get(row, "id")?,
            delivered: get(row, "delivered")?,
            unexplained: get(row, "unexplained")?,
        })
    }

    /// `columns!(api_key)` as `ApiKey`.
    fn api_key(row) -> ApiKey {
        Ok(ApiKey {
            id: get(row, "id")?,
            name: get(row, "name")?,
            prefix: get(row, "prefix")?,
            scopes: scopes_from_db(&get::<_, String>(row, "scopes")?)?,
            created_by: get(row, "created_by")?,
            created_at: get(row, "created_at")?,
            revoked_at: get(row, "revoked_at")?,
        })
    }

    /// `columns!(import)` as `ImportJob`.
    fn import_job(row) -> ImportJob {
        let format: String = get(row, "format")?;
        Ok(ImportJob {
            id: get(row, "id")?,
            format: ImportFormat::parse(&format)
                .ok_or_else(|| StoreError::Corrupt { what: "import format", detail: format.clone() })?,
            scope: get(row, "scope")?,
            reason: reason_from_db(&get::<_, String>(row, "reason")?)?,
            created_by: get(row, "created_by")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            state: get(row, "state")?,
            bytes_total: get(row, "bytes_total")?,
            bytes_read: get(row, "bytes_read")?,
            lines: get(row, "lines")?,
            created: get(row, "created")?,
            reopened: get(row, "reopened")?,
            unchanged: get(row, "unchanged")?,
            rejected: get(row, "rejected")?,
            rejected_lines: json_from_db("rejected lines", &get::<_, String>(row, "rejected_lines")?)?,
            error: get(row, "error")?,
        })
    }

    /// `columns!(audit)` as a chain row (hashes included).
    fn chain_row(row) -> ChainRow {
        Ok(ChainRow {
            id: get(row, "id")?,
            row: AuditRow {
                at: get(row, "at")?,
                actor: get(row, "actor")?,
                action: get(row, "action")?,
                target: get(row, "target")?,
                before: get(row, "before")?,
                after: get(row, "after")?,
                reason: get(row, "reason")?,
                prev_hash: hash32(get(row, "prev_hash")?)?,
                hash: hash32(get(row, "hash")?)?,
            },
        })
    }
}

impl ChainRow {
    /// The row as the API shows it (JSON columns parsed).
    pub fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let parse = |text: Option<String>| text.map(|t| json_from_db("audit value", &t)).transpose();
        Ok(AuditEntry {
            id: self.id,
            at: self.row.at,
            actor: self.row.actor,
            action: self.row.action,
            target: self.row.target,
            before: parse(self.row.before)?,
            after: parse(self.row.after)?,
            reason: self.row.reason,
        })
    }
}
