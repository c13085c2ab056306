//! Bulk import of suppressions from a stream of bytes (an HTTP upload or a file), in the seed's
//! text format (one address or domain per line, `#` comment lines) or as CSV with a header.
//!
//! The stream is read chunk by chunk and never held whole: lines are parsed as they complete,
//! collected into batches of `BATCH` rows, and each batch is committed in its own transaction
//! together with the job's progress, so memory stays flat for any file size, a client polling the
//! job sees only committed counts, and an interrupted upload leaves whole batches, never half of
//! one. Rejected lines are reported with their line numbers.

use std::collections::HashSet;
use std::fmt::Display;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use rebound_api::v1::{ImportFormat, ImportJob, RejectedLine, SuppressionReason};
use rebound_store::{Actor, ImportRow, Store, StoreError, ops};

use crate::auth;
use crate::index::SuppressionIndex;
use crate::routes::names;

/// Rows in the first transaction. Each batch after it is twice as large, up to `MAX_BATCH`: small
/// files report progress often, and a million-line file commits a few large batches, which writes
/// each hot index page to the WAL far fewer times (the list's indexes are keyed by address and by
/// domain, so any batch touches pages all over them).
pub const BATCH: usize = 2_500;
/// Rows in the largest transaction.
pub const MAX_BATCH: usize = 160_000;
/// Rejected lines kept for the report (all are counted).
pub const MAX_REPORTED: usize = 1_000;
/// Longest line accepted; a longer one is rejected and skipped.
const MAX_LINE: usize = 4_096;
/// Largest upload accepted.
pub const MAX_UPLOAD: i64 = 4 * 1024 * 1024 * 1024;

/// The CSV columns found in the header.
#[derive(Debug, Default)]
struct Columns {
    address: usize,
    reason: Option<usize>,
    scope: Option<usize>,
    note: Option<usize>,
    expires_at: Option<usize>,
}

struct Importer<'a> {
    store: &'a dyn Store,
    /// The pre-send index to keep current (a server's; the CLI has none).
    index: Option<&'a SuppressionIndex>,
    actor: &'a Actor,
    job: ImportJob,
    columns: Option<Columns>,
    rows: Vec<ImportRow>,
    seen: HashSet<(String, String)>,
    line: u64,
    batch_first_line: u64,
    /// Rows the current batch collects before it is committed.
    batch_size: usize,
    /// Bytes of the line being read.
    carry: Vec<u8>,
    /// The current line is too long: skip to its end.
    skipping: bool,
}

/// Runs a claimed (`running`) job over `body` to the end and returns it `done` or `failed`.
/// A store error stops the import; the job is saved as failed when the store still answers.
pub async fn run<S, E>(
    store: &dyn Store,
    index: Option<&SuppressionIndex>,
    job: ImportJob,
    actor: &Actor,
    mut body: S,
) -> Result<ImportJob, StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let mut importer = Importer {
        store,
        index,
        actor,
        job,
        columns: None,
        rows: Vec::with_capacity(BATCH),
        seen: HashSet::with_capacity(BATCH),
        line: 0,
        batch_first_line: 1,
        batch_size: BATCH,
        carry: Vec::new(),
        skipping: false,
    };
    let outcome = importer.consume(&mut body).await;
    let mut job = importer.job;
    job.updated_at = auth::now();
    match outcome {
        Ok(Ok(())) => job.state = "done".to_owned(),
        Ok(Err(message)) => {
            job.state = "failed".to_owned();
            job.error = Some(message);
        }
        Err(e) => {
            job.state = "failed".to_owned();
            job.error = Some("the database failed during the import; committed batches are kept".to_owned());
            let _ = ops::save_import(store, &job).await;
            return Err(e);
        }
    }
    ops::save_import(store, &job).await?;
    Ok(job)
}

impl Importer<'_> {
    /// Reads the whole stream. The inner error is a failure of the input (interrupted upload,
    /// unusable header) that fails the job; the outer one a store failure.
    async fn consume<S, E>(&mut self, body: &mut S) -> Result<Result<(), String>, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
    {
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.flush().await?;
                    return Ok(Err(format!("the upload was interrupted ({e}); committed batches are kept")));
                }
            };
            self.job.bytes_read += chunk.len() as i64;
            if self.job.bytes_read > MAX_UPLOAD {
                self.flush().await?;
                return Ok(Err(format!("the file is larger than {MAX_UPLOAD} bytes")));
            }
            let mut rest: &[u8] = &chunk;
            while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                self.extend_line(&rest[..end]);
                if let Err(message) = self.end_line() {
                    self.flush().await?;
                    return Ok(Err(message));
                }
                rest = &rest[end + 1..];
                if self.rows.len() >= self.batch_size {
                    self.flush().await?;
                    self.batch_size = (self.batch_size * 2).min(MAX_BATCH);
                }
            }
            self.extend_line(rest);
        }
        if (!self.carry.is_empty() || self.skipping)
            && let Err(message) = self.end_line()
        {
            self.flush().await?;
            return Ok(Err(message));
        }
        if self.columns.is_none() && self.job.format == ImportFormat::Csv && self.job.lines > 0 {
            return Ok(Err("the CSV file has no header line".to_owned()));
        }
        self.flush().await?;
        Ok(Ok(()))
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.carry.len() + bytes.len() > MAX_LINE {
            self.skipping = true;
            self.carry.clear();
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }

    /// Handles the line just completed. `Err` is fatal to the job (a CSV header without an
    /// address column).
    fn end_line(&mut self) -> Result<(), String> {
        self.line += 1;
        self.job.lines += 1;
        let bytes = std::mem::take(&mut self.carry);
        if std::mem::take(&mut self.skipping) {
            self.reject(String::new(), format!("the line is longer than {MAX_LINE} bytes"));
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() || text.starts_with('#') {
            return Ok(());
        }
        let parsed = match self.job.format {
            ImportFormat::Text => self.text_row(text),
            ImportFormat::Csv => match &self.columns {
                None => {
                    self.columns = Some(header(text)?);
                    return Ok(());
                }
                Some(columns) => csv_row(columns, text, &self.job.scope, self.job.reason),
            },
        };
        match parsed {
            Ok(row) => {
                if self.seen.insert((row.scope.clone(), row.target.key().to_owned())) {
                    self.rows.push(row);
                } else {
                    self.job.unchanged += 1;
                }
            }
            Err(error) => self.reject(text.to_owned(), error),
        }
        Ok(())
    }

    fn text_row(&self, text: &str) -> Result<ImportRow, String> {
        let target = rebound_policy::normalize(text).map_err(|e| format!("`{text}` {e}"))?;
        Ok(ImportRow { target, scope: self.job.scope.clone(), reason: self.job.reason, note: None, expires_at: None })
    }

    fn reject(&mut self, mut text: String, error: String) {
        self.job.rejected += 1;
        if self.job.rejected_lines.len() < MAX_REPORTED {
            text.truncate(text.floor_char_boundary(200));
            self.job.rejected_lines.push(RejectedLine { line: self.line, text, error });
        }
    }

    /// Commits the rows collected so far (and the job's progress).
    async fn flush(&mut self) -> Result<(), StoreError> {
        self.job.updated_at = auth::now();
        // In key order, each statement's inserts land on neighbouring index pages.
        self.rows.sort_unstable_by(|a, b| a.target.key().cmp(b.target.key()));
        let last_line = self.line;
        let lines = (self.batch_first_line, last_line);
        let entries =
            ops::import_batch(self.store, &mut self.job, &self.rows, lines, self.actor, self.index.is_some()).await?;
        if let Some(index) = self.index {
            index.apply_entries(&entries);
        }
        self.rows.clear();
        self.seen.clear();
        self.batch_first_line = last_line + 1;
        Ok(())
    }
}

/// Reads a CSV header line.
fn header(text: &str) -> Result<Columns, String> {
    let fields = split_csv(text).map_err(|e| format!("line 1 (the header): {e}"))?;
    let position = |names: &[&str]| fields.iter().position(|f| names.contains(&f.trim().to_lowercase().as_str()));
    let address = position(&["address", "email", "email_address"])
        .ok_or("the CSV header must name an `address` (or `email`) column")?;
    Ok(Columns {
        address,
        reason: position(&["reason"]),
        scope: position(&["scope"]),
        note: position(&["note"]),
        expires_at: position(&["expires_at"]),
    })
}

fn csv_row(columns: &Columns, text: &str, scope: &str, reason: SuppressionReason) -> Result<ImportRow, String> {
    let fields = split_csv(text)?;
    // A cell the export defused (`'=...`, see `export::defused`) loses its `'`.
    let field = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|f| f.trim())
            .map(|f| f.strip_prefix('\'').filter(|rest| rest.starts_with(crate::export::FORMULA_STARTS)).unwrap_or(f))
            .filter(|f| !f.is_empty())
    };
    let address = field(Some(columns.address)).ok_or("the address is empty")?;
    let target = rebound_policy::normalize(address).map_err(|e| format!("`{address}` {e}"))?;
    let reason = match field(columns.reason) {
        Some(r) => SuppressionReason::parse(r).ok_or_else(|| format!("`{r}` is not a suppression reason"))?,
        None => reason,
    };
    let scope = match field(columns.scope) {
        Some(s) => names::label("scope", s).map_err(|e| format!("scope {e}"))?,
        None => scope.to_owned(),
    };
    let note = field(columns.note).map(|n| n.chars().take(1_000).collect::<String>());
    if let Some(c) = note.as_deref().and_then(names::stray_control) {
        return Err(format!("the note contains the control character {c:?}"));
    }
    let expires_at = field(columns.expires_at).map(parse_time).transpose()?;
    Ok(ImportRow { target, scope, reason, note, expires_at })
}

/// Unix seconds or an RFC 3339 time.
fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("`{text}` is neither Unix seconds nor an RFC 3339 time"))
}

/// Splits one CSV record (RFC 4180: fields may be quoted, `""` is a quote inside quotes).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = at_start && c.is_whitespace();
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted() {
        assert_eq!(split_csv(r#"a@b.c,"x, ""y""",,z"#).unwrap(), ["a@b.c", r#"x, "y""#, "", "z"]);
        assert!(split_csv(r#""open"#).is_err());
    }

    #[test]
    fn headers_need_an_address_column() {
        let columns = header("Email,Reason,expires_at").unwrap();
        assert_eq!((columns.address, columns.reason, columns.expires_at), (0, Some(1), Some(2)));
        assert!(header("name,phone").is_err());
    }

    #[test]
    fn csv_rows_take_their_own_reason_scope_and_expiry() {
        let columns = header("address,reason,scope,expires_at").unwrap();
        let row = csv_row(
            &columns,
            "Jane@Example.com,complaint,news,2030-01-01T00:00:00Z",
            "global",
            SuppressionReason::Manual,
        )
        .unwrap();
        assert_eq!(row.target.key(), "jane@example.com");
        assert_eq!(
            (row.reason, row.scope.as_str(), row.expires_at),
            (SuppressionReason::Complaint, "news", Some(1_893_456_000))
        );
        assert!(csv_row(&columns, "a@b.c,bored", "global", SuppressionReason::Manual).is_err());
    }
}
