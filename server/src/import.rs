//! Bulk import of suppressions from a stream of bytes (an HTTP upload or a file), in the seed's
//! text format (one address or domain per line, `#` comment lines) or as CSV with a header
//! (RFC 4180, read by `csv-core`: quoted fields with commas, quotes and line breaks, CRLF or LF,
//! a byte-order mark, `#` comment lines).
//!
//! The stream is read chunk by chunk and never held whole: lines (CSV records) are parsed as they complete,
//! collected into batches of `BATCH` rows, and each batch is committed in its own transaction
//! together with the job's progress, so memory stays flat for any file size, a client polling the
//! job sees only committed counts, and an interrupted upload leaves whole batches, never half of
//! one. Rejected lines are reported with their line numbers.
//!
//! A job whose upload broke off, or whose process stopped, is `interrupted` (the latter found by
//! `interrupt_stale`: a running job commits its progress at least every `HEARTBEAT`, even while its
//! client sends nothing, so one not updated for `STALE_AFTER` has no process behind it). The same
//! file uploaded again to an interrupted job resumes it: the lines its committed batches covered
//! are read past (a CSV header is read again), and its counts go on from where they stopped.

use std::collections::HashSet;
use std::fmt::Display;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use rebound_api::v1::{ImportFormat, ImportJob, RejectedLine, SuppressionReason};
use rebound_store::{Actor, ImportRow, Store, StoreError, ops};

use crate::clock::Clock;
use crate::csv::{CsvRecords, CsvStep};
use crate::index::SuppressionIndex;
use crate::service::names;

/// Rows in the first transaction. Each batch after it is twice as large, up to `MAX_BATCH`: small
/// files report progress often, and a million-line file commits a few large batches, which writes
/// each hot index page to the WAL far fewer times (the list's indexes are keyed by address and by
/// domain, so any batch touches pages all over them).
pub const BATCH: usize = 2_500;
/// Rows in the largest transaction.
pub const MAX_BATCH: usize = 160_000;
/// Rejected lines kept for the report (all are counted).
pub const MAX_REPORTED: usize = 1_000;
/// Why a line whose bytes are not UTF-8 is rejected (read otherwise, `é` saved as Latin-1 would
/// become another address).
const NOT_UTF8: &str = "the line is not UTF-8 text: save the file as UTF-8";
/// Longest line accepted; a longer one is rejected and skipped.
const MAX_LINE: usize = 4_096;
/// Longest CSV record accepted (a quoted note may span lines); a longer one is rejected and skipped.
const MAX_RECORD: usize = 65_536;
/// Most fields a CSV record may have.
const MAX_FIELDS: usize = 64;
/// Largest upload accepted.
pub const MAX_UPLOAD: i64 = 4 * 1024 * 1024 * 1024;
/// Longest a running job goes without committing its progress.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(10);
/// A running job not updated for this long (seconds) has no process behind it.
pub const STALE_AFTER: i64 = 60;

/// Marks interrupted the running jobs whose process stopped (at start, and each monitor round).
pub async fn interrupt_stale(store: &dyn Store, now: i64) -> Result<(), StoreError> {
    let stopped = store.interrupt_stale_imports(now - STALE_AFTER, now).await?;
    if stopped > 0 {
        tracing::warn!(
            jobs = stopped,
            "imports whose process stopped are marked interrupted: upload their files again to resume"
        );
    }
    Ok(())
}

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
    clock: &'a Clock,
    actor: &'a Actor,
    job: ImportJob,
    columns: Option<Columns>,
    rows: Vec<ImportRow>,
    seen: HashSet<(String, String)>,
    line: u64,
    /// Lines committed before an interruption, read past when the job resumes.
    resume_after: u64,
    batch_first_line: u64,
    /// Rows the current batch collects before it is committed.
    batch_size: usize,
    /// Bytes of the line being read.
    carry: Vec<u8>,
    /// The current line is too long: skip to its end.
    skipping: bool,
    /// The CSV reader, for a CSV import.
    csv: Option<Box<CsvRecords>>,
}

/// Runs a claimed (`running`) job over `body` to the end and returns it `done`, `failed` (the
/// file cannot be imported) or `interrupted` (the upload broke off). A job claimed again after an
/// interruption resumes after its committed lines. A store error stops the import; the job is
/// saved as failed when the store still answers.
pub async fn run<S, E>(
    store: &dyn Store,
    index: Option<&SuppressionIndex>,
    clock: &Clock,
    job: ImportJob,
    actor: &Actor,
    mut body: S,
) -> Result<ImportJob, StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let csv = (job.format == ImportFormat::Csv).then(|| Box::new(CsvRecords::new(MAX_RECORD, MAX_FIELDS, true)));
    let resume_after = u64::try_from(job.lines).unwrap_or(0);
    let mut importer = Importer {
        store,
        index,
        clock,
        actor,
        job,
        columns: None,
        rows: Vec::with_capacity(BATCH),
        seen: HashSet::with_capacity(BATCH),
        line: 0,
        resume_after,
        batch_first_line: resume_after + 1,
        batch_size: BATCH,
        carry: Vec::new(),
        skipping: false,
        csv,
    };
    let outcome = importer.consume(&mut body).await;
    let mut job = importer.job;
    job.updated_at = clock.now();
    match outcome {
        Ok(Ok(())) => job.state = "done".to_owned(),
        Ok(Err(Stop::Failed(message))) => {
            job.state = "failed".to_owned();
            job.error = Some(message);
        }
        Ok(Err(Stop::Interrupted(message))) => {
            job.state = "interrupted".to_owned();
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

/// Why an import stopped before the end of its file.
enum Stop {
    /// The file cannot be imported (an unusable header, too large).
    Failed(String),
    /// The upload broke off: the same file uploaded again resumes the job.
    Interrupted(String),
}

impl Importer<'_> {
    /// Reads the whole stream. The inner error is why the input stopped the job; the outer one a
    /// store failure.
    async fn consume<S, E>(&mut self, body: &mut S) -> Result<Result<(), Stop>, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
    {
        loop {
            // A client that sends nothing for a while still has a live job: its progress is
            // committed meanwhile, so that it is not taken for one whose process stopped.
            let chunk = match tokio::time::timeout(HEARTBEAT, body.next()).await {
                Err(_) => {
                    self.heartbeat().await?;
                    continue;
                }
                Ok(None) => break,
                Ok(Some(chunk)) => chunk,
            };
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.flush().await?;
                    return Ok(Err(Stop::Interrupted(format!(
                        "the upload was interrupted ({e}); committed batches are kept: upload the same file again to resume"
                    ))));
                }
            };
            self.job.bytes_read += chunk.len() as i64;
            if self.job.bytes_read > MAX_UPLOAD {
                self.flush().await?;
                return Ok(Err(Stop::Failed(format!("the file is larger than {MAX_UPLOAD} bytes"))));
            }
            if self.csv.is_some() {
                // An empty input tells the CSV reader the stream ended: only the end may give one.
                if !chunk.is_empty()
                    && let Err(message) = self.read_csv(&chunk).await?
                {
                    self.flush().await?;
                    return Ok(Err(Stop::Failed(message)));
                }
                continue;
            }
            let mut rest: &[u8] = &chunk;
            while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                self.extend_line(&rest[..end]);
                if let Err(message) = self.end_line() {
                    self.flush().await?;
                    return Ok(Err(Stop::Failed(message)));
                }
                rest = &rest[end + 1..];
                if self.rows.len() >= self.batch_size {
                    self.flush().await?;
                    self.batch_size = (self.batch_size * 2).min(MAX_BATCH);
                }
            }
            self.extend_line(rest);
        }
        let ended = if self.csv.is_some() {
            self.read_csv(&[]).await?
        } else if !self.carry.is_empty() || self.skipping {
            self.end_line()
        } else {
            Ok(())
        };
        if let Err(message) = ended {
            self.flush().await?;
            return Ok(Err(Stop::Failed(message)));
        }
        if self.columns.is_none() && self.job.format == ImportFormat::Csv && self.job.lines > 0 {
            return Ok(Err(Stop::Failed("the CSV file has no header line".to_owned())));
        }
        self.flush().await?;
        Ok(Ok(()))
    }

    /// Commits what has been read so far: the rows waiting for their batch, or (none waiting) the
    /// job's progress alone. A job's committed line count never covers a row not committed.
    async fn heartbeat(&mut self) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            self.job.updated_at = self.clock.now();
            ops::save_import(self.store, &self.job).await
        } else {
            self.flush().await
        }
    }

    /// Reads the records `input` completes (an empty `input` is the end of the stream),
    /// committing batches as they fill. The inner error fails the job (an unusable header).
    async fn read_csv(&mut self, mut input: &[u8]) -> Result<Result<(), String>, StoreError> {
        loop {
            let Some(csv) = self.csv.as_mut() else { return Ok(Ok(())) };
            let (step, used) = csv.step(input);
            input = &input[used..];
            match step {
                CsvStep::NeedInput | CsvStep::End => return Ok(Ok(())),
                CsvStep::Record(record, line) => {
                    self.job.lines = i64::try_from(line).unwrap_or(i64::MAX);
                    self.line = line;
                    if let Err(message) = self.end_record(record) {
                        return Ok(Err(message));
                    }
                    if self.rows.len() >= self.batch_size {
                        self.flush().await?;
                        self.batch_size = (self.batch_size * 2).min(MAX_BATCH);
                    }
                }
            }
        }
    }

    /// Handles a CSV record just completed. `Err` is fatal to the job (a header without an
    /// address column).
    fn end_record(&mut self, record: Result<Vec<String>, String>) -> Result<(), String> {
        let fields = match record {
            Ok(fields) => fields,
            Err(why) => {
                self.reject(String::new(), format!("the record is {why}"));
                return Ok(());
            }
        };
        if fields.iter().all(|f| f.trim().is_empty()) {
            return Ok(());
        }
        let Some(columns) = &self.columns else {
            self.columns = Some(header(&fields)?);
            return Ok(());
        };
        if self.line <= self.resume_after {
            return Ok(());
        }
        let parsed = csv_row(columns, &fields, &self.job.scope, self.job.reason);
        self.take(parsed, || fields.join(","));
        Ok(())
    }

    /// Keeps a parsed row for the batch (once per scope and address), or rejects the line.
    fn take(&mut self, parsed: Result<ImportRow, String>, text: impl FnOnce() -> String) {
        match parsed {
            Ok(row) => {
                if self.seen.insert((row.scope.clone(), row.target.key().to_owned())) {
                    self.rows.push(row);
                } else {
                    self.job.unchanged += 1;
                }
            }
            Err(error) => self.reject(text(), error),
        }
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

    /// Handles the text line just completed.
    fn end_line(&mut self) -> Result<(), String> {
        self.line += 1;
        let bytes = std::mem::take(&mut self.carry);
        if self.line <= self.resume_after {
            self.skipping = false;
            return Ok(());
        }
        self.job.lines += 1;
        if std::mem::take(&mut self.skipping) {
            self.reject(String::new(), format!("the line is longer than {MAX_LINE} bytes"));
            return Ok(());
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            self.reject(String::from_utf8_lossy(&bytes).into_owned(), NOT_UTF8.to_owned());
            return Ok(());
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() || text.starts_with('#') {
            return Ok(());
        }
        let parsed = self.text_row(text);
        self.take(parsed, || text.to_owned());
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
        self.job.updated_at = self.clock.now();
        // In key order, each statement's inserts land on neighbouring index pages.
        self.rows.sort_unstable_by(|a, b| a.target.key().cmp(b.target.key()));
        let last_line = self.line;
        let lines = (self.batch_first_line, last_line);
        let (entries, feed) =
            ops::import_batch(self.store, &mut self.job, &self.rows, lines, self.actor, self.index.is_some()).await?;
        if let Some(index) = self.index {
            index.publish(feed, &entries).await;
        }
        self.rows.clear();
        self.seen.clear();
        self.batch_first_line = last_line + 1;
        Ok(())
    }
}

/// Reads a CSV header record (the file's first, after any byte-order mark).
fn header(fields: &[String]) -> Result<Columns, String> {
    let name = |f: &String| f.trim_start_matches('\u{feff}').trim().to_lowercase();
    let position = |names: &[&str]| fields.iter().position(|f| names.contains(&name(f).as_str()));
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

fn csv_row(columns: &Columns, fields: &[String], scope: &str, reason: SuppressionReason) -> Result<ImportRow, String> {
    // A cell the export defused (`'=...`, see `export::defused`) loses its `'`.
    let field = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|f| f.trim())
            .map(|f| f.strip_prefix('\'').filter(|rest| rest.starts_with(crate::export::FORMULA_STARTS)).unwrap_or(f))
            .filter(|f| !f.is_empty())
    };
    let address = field(Some(columns.address)).ok_or("the address is empty")?;
    // The CSV reader replaced bytes that are not UTF-8 with U+FFFD: the address is not what was meant.
    if address.contains('\u{fffd}') {
        return Err(NOT_UTF8.to_owned());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of a CSV text fed in chunks of `chunk` bytes.
    fn records(text: &[u8], chunk: usize) -> Vec<(Result<Vec<String>, String>, u64)> {
        let mut csv = CsvRecords::new(MAX_RECORD, MAX_FIELDS, true);
        let mut found = Vec::new();
        let mut collect = |csv: &mut CsvRecords, mut input: &[u8]| loop {
            let (step, used) = csv.step(input);
            input = &input[used..];
            match step {
                CsvStep::Record(record, line) => found.push((record, line)),
                CsvStep::NeedInput | CsvStep::End => break,
            }
        };
        for piece in text.chunks(chunk) {
            collect(&mut csv, piece);
        }
        collect(&mut csv, &[]);
        found
    }

    fn fields(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn csv_records_keep_quotes_commas_and_line_breaks_across_chunks() {
        let text = "\u{feff}address,note\r\n# a comment\r\na@b.c,\"x, \"\"y\"\"\r\nline two\"\r\nd@e.f,plain";
        let expected =
            [fields(&["address", "note"]), fields(&["a@b.c", "x, \"y\"\r\nline two"]), fields(&["d@e.f", "plain"])];
        for chunk in [1, 2, 3, 7, 1024] {
            let found = records(text.as_bytes(), chunk);
            let lines: Vec<u64> = found.iter().map(|(_, line)| *line).collect();
            // csv-core drops a byte-order mark it reads whole; `header` drops one split across chunks.
            let unmarked = |record: Vec<String>| record.into_iter().map(|f| f.replace('\u{feff}', "")).collect();
            let got: Vec<Vec<String>> = found.into_iter().map(|(record, _)| unmarked(record.unwrap())).collect();
            assert_eq!(got, expected, "in chunks of {chunk} bytes");
            assert_eq!(lines, [1, 4, 5], "the line each record ends on, in chunks of {chunk} bytes");
        }
    }

    #[test]
    fn an_oversized_record_is_refused_and_the_next_one_read() {
        let long = format!("a@b.c,{}\nd@e.f,ok\n", "x".repeat(MAX_RECORD + 10));
        let found = records(long.as_bytes(), 4096);
        assert!(found[0].0.is_err());
        assert_eq!(found[1], (Ok(fields(&["d@e.f", "ok"])), 2));
        let wide = format!("{}\nd@e.f\n", ",".repeat(MAX_FIELDS + 1));
        let found = records(wide.as_bytes(), 4096);
        assert!(found[0].0.is_err());
        assert_eq!(found[1], (Ok(fields(&["d@e.f"])), 2));
    }

    #[test]
    fn headers_need_an_address_column() {
        let columns = header(&fields(&["\u{feff}Email", "Reason", "expires_at"])).unwrap();
        assert_eq!((columns.address, columns.reason, columns.expires_at), (0, Some(1), Some(2)));
        assert!(header(&fields(&["name", "phone"])).is_err());
    }

    #[test]
    fn csv_rows_take_their_own_reason_scope_and_expiry() {
        let columns = header(&fields(&["address", "reason", "scope", "expires_at"])).unwrap();
        let row = csv_row(
            &columns,
            &fields(&["Jane@Example.com", "complaint", "news", "2030-01-01T00:00:00Z"]),
            "global",
            SuppressionReason::Manual,
        )
        .unwrap();
        assert_eq!(row.target.key(), "jane@example.com");
        assert_eq!(
            (row.reason, row.scope.as_str(), row.expires_at),
            (SuppressionReason::Complaint, "news", Some(1_893_456_000))
        );
        assert!(csv_row(&columns, &fields(&["a@b.c", "bored"]), "global", SuppressionReason::Manual).is_err());
    }
}
