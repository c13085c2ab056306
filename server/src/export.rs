//! Export of the suppression list as a stream, in the import formats, so that a million entries
//! leave the server page by page (ordered by address) without being held in memory.
//!
//! An entry past its expiry no longer applies: it is left out like a lifted one, and shown as not
//! active when lifted entries are asked for. The text format cannot carry an expiry, so it leaves
//! out every entry that has one (imported back, it would apply for ever); CSV keeps them.

use std::sync::Arc;

use axum::body::Bytes;
use futures_util::Stream;
use rebound_api::v1::{ImportFormat, Suppression};
use rebound_store::{Store, StoreError, SuppressionCursor, SuppressionQuery};

/// Entries read per page.
const PAGE: u32 = 5_000;

/// What to export (the list's filters, without pagination).
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub scope: Option<String>,
    pub reason: Option<rebound_api::v1::SuppressionReason>,
    /// `None`: active entries only.
    pub include_lifted: bool,
}

/// The export as a stream of chunks: a header line, then one line per entry.
pub fn stream(
    store: Arc<dyn Store>,
    format: ImportFormat,
    filter: ExportFilter,
    now: i64,
) -> impl Stream<Item = Result<Bytes, StoreError>> {
    let header = match format {
        ImportFormat::Text => format!(
            "# Rebound suppression list, exported at {}\n\
             # Entries with an expiry are left out (this format cannot carry one): export CSV to keep them.\n",
            rfc3339(now)
        ),
        ImportFormat::Csv => "address,reason,scope,source,note,created_at,expires_at,active\n".to_owned(),
    };
    let first = SuppressionQuery {
        key_prefix: Some(String::new()),
        scope: filter.scope,
        reason: filter.reason,
        active: (!filter.include_lifted).then_some(true),
        now,
        limit: PAGE,
        ..SuppressionQuery::default()
    };
    let pages = futures_util::stream::unfold(Some(first), move |query| {
        let store = store.clone();
        async move {
            let mut query = query?;
            match store.suppressions(&query).await {
                Err(e) => Some((Err(e), None)),
                Ok(page) => {
                    let mut out = String::with_capacity(page.len() * 48);
                    for entry in &page {
                        write_line(&mut out, format, &rebound_store::ops::as_of(entry.clone(), now));
                    }
                    let next = match page.last() {
                        Some(last) if page.len() == PAGE as usize => {
                            let key = crate::index::index_entry(last).map(|e| e.key).unwrap_or_default();
                            query.cursor = Some(SuppressionCursor::AfterKey(key, last.scope.clone()));
                            Some(query)
                        }
                        _ => None,
                    };
                    Some((Ok(Bytes::from(out)), next))
                }
            }
        }
    });
    futures_util::StreamExt::chain(futures_util::stream::iter([Ok(Bytes::from(header))]), pages)
}

fn write_line(out: &mut String, format: ImportFormat, s: &Suppression) {
    match format {
        ImportFormat::Text if s.expires_at.is_some() => {}
        ImportFormat::Text => {
            out.push_str(&s.address);
            out.push('\n');
        }
        ImportFormat::Csv => {
            let fields = [
                s.address.clone(),
                s.reason.as_str().to_owned(),
                s.scope.clone(),
                s.source.clone(),
                s.note.clone().unwrap_or_default(),
                rfc3339(s.created_at),
                s.expires_at.map(rfc3339).unwrap_or_default(),
                s.active.to_string(),
            ];
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let field = defused(field);
                if field.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&field.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(&field);
                }
            }
            out.push('\n');
        }
    }
}

/// The first characters with which a spreadsheet reads a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell that a spreadsheet would run as a formula (`=HYPERLINK(...)` in a note,
/// `=1+1@example.com` as an address) with a `'` before it, which spreadsheets show as text; the
/// import takes the `'` off again, so the list survives a round trip.
fn defused(field: &str) -> std::borrow::Cow<'_, str> {
    if field.starts_with(FORMULA_STARTS) { format!("'{field}").into() } else { field.into() }
}

/// Unix seconds as an RFC 3339 UTC time.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}
