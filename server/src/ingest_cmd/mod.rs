//! `rebound ingest pmta|postfix PATH...`: an MTA's own log files read on the server's machine and
//! written to the database directly, through the same code as the upload endpoints (so the same
//! classification, policy, idempotency and audit), as the command line's actor (`cli`).
//!
//! Each file prints one JSON line, `{"file","records","events","skipped","errors"}`: the records
//! read (PowerMTA: the accounting records, the header line aside; Postfix: the log's lines), the
//! events taken (a record read again is recognised by its idempotency key and counted once),
//! the records that stand for nothing Rebound keeps, and those that could not be read or failed a
//! check. A file that cannot be opened or read, or is not an accounting file, makes the command
//! exit non-zero after the other files are done.
//!
//! From Postfix's log: `status=sent` is a delivery, `bounced` a failure whose text is classified
//! (both attempts), `deferred` a temporary failure classified the same way (no attempt: the message
//! ends later), and a message whose queue lifetime ended an `expired` soft failure (an attempt) of
//! each recipient still deferred. The recipient is the address as mailed (`orig_to`, before
//! Postfix rewrote it) when the line gives one.

use std::path::{Path, PathBuf};

use rebound_api::v1::EventInput;
use rebound_core::{Kind, Reason};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::auth::Principal;
use crate::config::Database;
use crate::error::StartError;
use crate::postfix_log::{Delivery, LogReader, Status};
use crate::service::events::LOG_BATCH;
use crate::service::log_ingest::{self, Outcome, Stretch};
use crate::state::AppState;

/// Bytes read from a file at a time.
const READ_CHUNK: usize = 256 * 1024;
/// Postfix deliveries stored at a time (a chunk's lines may add a few thousand more before the
/// count is looked at: the log mode's limit leaves room for them).
const POSTFIX_BATCH: usize = LOG_BATCH;

mod pmta;

pub use pmta::follow_dir as follow_pmta;

/// One file's summary line.
#[derive(Debug, Default, Serialize)]
struct Summary {
    file: String,
    records: u64,
    events: u64,
    skipped: u64,
    errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The MTAs whose logs the command reads.
#[derive(Debug, Clone, Copy)]
pub enum Mta {
    PowerMta,
    Postfix,
}

/// Reads the MTA's log files into the database, one summary line each.
pub async fn run(mta: Mta, database: Database, paths: &[PathBuf]) -> Result<(), StartError> {
    let state = AppState::for_command(database).await?;
    let mut failed = 0;
    for path in paths {
        let mut summary = Summary { file: path.display().to_string(), ..Summary::default() };
        let read = match mta {
            Mta::PowerMta => pmta::read_file(&state, path, &mut summary).await,
            Mta::Postfix => postfix_file(&state, path, &mut summary).await,
        };
        if let Err(why) = read {
            summary.error = Some(why);
            failed += 1;
        }
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    }
    if failed > 0 {
        return Err(StartError::Usage(format!("{failed} of {} files could not be read", paths.len())));
    }
    Ok(())
}

impl Summary {
    fn add(&mut self, outcome: &Outcome) {
        for problem in &outcome.problems {
            tracing::warn!(file = %self.file, "{problem}");
        }
        self.events += outcome.events;
        self.skipped += outcome.ignored;
        self.errors += outcome.errors;
    }
}

/// The deliveries of a Postfix log waiting to be stored, with the line each was read on.
#[derive(Default)]
struct Pending {
    items: Vec<EventInput>,
    attempts: Vec<bool>,
    lines: Vec<u64>,
}

/// Reads one Postfix log from where it was last read (a file is known by its identity, so a log
/// renamed by a rotation is still known), storing its deliveries in batches and recording after
/// each how far it got: a log read again gives only what was added since.
async fn postfix_file(state: &AppState, path: &Path, summary: &mut Summary) -> Result<(), String> {
    use tokio::io::AsyncSeekExt;
    let mut file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open the file: {e}"))?;
    let metadata = file.metadata().await.map_err(|e| format!("cannot read the file: {e}"))?;
    let id = file_id(&metadata);
    let source = format!("postfix-file:{id}");
    let stored = state.store.ingest_offset(&source).await.map_err(|e| e.to_string())?;
    let start = resume_at(stored.map(|(_, at)| at), metadata.len()) as i64;
    file.seek(std::io::SeekFrom::Start(start as u64)).await.map_err(|e| format!("cannot read the file: {e}"))?;
    let mut reader = LogReader::new(state.clock.now());
    let (mut pending, mut lines) = (Pending::default(), Lines::default());
    let (source, id) = (&source, &id);
    let save = |at: i64| async move {
        state.store.save_ingest_offset(source, id, at, state.clock.now()).await.map_err(|e| e.to_string())
    };
    loop {
        let read = lines
            .read(&mut file, |line, number| take_line(&mut reader, line, number, &mut pending, summary))
            .await
            .map_err(|e| format!("cannot read the file: {e}"))?;
        if read == 0 {
            // A last line without a line end is a whole line in a file read to its end.
            let rest = lines.rest().len() as i64;
            if rest > 0 {
                take_line(&mut reader, lines.rest(), lines.number + 1, &mut pending, summary);
            }
            store_pending(state, &mut pending, summary).await?;
            return save(start + lines.consumed as i64 + rest).await;
        }
        if pending.items.len() >= POSTFIX_BATCH {
            store_pending(state, &mut pending, summary).await?;
            save(start + lines.consumed as i64).await?;
        }
    }
}

/// Whole lines out of a file read in chunks: the part of a line a chunk cuts off waits for the next.
struct Lines {
    buffer: Vec<u8>,
    chunk: Vec<u8>,
    /// Lines handed out so far.
    number: u64,
    /// Bytes of the lines handed out so far, line ends included.
    consumed: u64,
}

impl Default for Lines {
    fn default() -> Self {
        Self { buffer: Vec::new(), chunk: vec![0; READ_CHUNK], number: 0, consumed: 0 }
    }
}

impl Lines {
    /// Reads the next chunk of `file` and hands each line it completes to `each`, without its line
    /// end, with its number; returns the bytes read (0 at the end of the file).
    async fn read(&mut self, file: &mut tokio::fs::File, mut each: impl FnMut(&[u8], u64)) -> std::io::Result<usize> {
        let read = file.read(&mut self.chunk).await?;
        self.buffer.extend_from_slice(&self.chunk[..read]);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &self.buffer[start..]) {
            self.number += 1;
            each(&self.buffer[start..start + end], self.number);
            start += end + 1;
        }
        self.buffer.drain(..start);
        self.consumed += start as u64;
        Ok(read)
    }

    /// What follows the last line end read.
    fn rest(&self) -> &[u8] {
        &self.buffer
    }
}

/// Reads one log line (`number` in its file) into `pending`.
fn take_line(reader: &mut LogReader, line: &[u8], number: u64, pending: &mut Pending, summary: &mut Summary) {
    summary.records += 1;
    let deliveries = reader.line(String::from_utf8_lossy(line).trim_end());
    if deliveries.is_empty() {
        summary.skipped += 1;
    }
    for delivery in deliveries {
        let (item, attempt) = postfix_event(&delivery);
        pending.items.push(item);
        pending.attempts.push(attempt);
        pending.lines.push(number);
    }
}

/// How long a follower waits at the end of its file before it reads again.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// A file's identity: its device and inode, which a rotation (a rename and a new file) changes,
/// and its creation time where the filesystem keeps one (an inode number is used again once its
/// file is deleted).
fn file_id(metadata: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    match metadata.created().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()) {
        Some(born) => format!("{}:{}:{}.{:09}", metadata.dev(), metadata.ino(), born.as_secs(), born.subsec_nanos()),
        None => format!("{}:{}", metadata.dev(), metadata.ino()),
    }
}

/// Where a file read before is read on from: the recorded position, or its start when the file
/// is now shorter (truncated in place, as logrotate's `copytruncate` does, which keeps its identity).
fn resume_at(recorded: Option<i64>, len: u64) -> u64 {
    recorded.and_then(|at| u64::try_from(at).ok()).filter(|&at| at <= len).unwrap_or(0)
}

/// Follows a live Postfix log: reads it from where the last follower of the same path stopped,
/// stores each stretch as it is read and records how far it got (in the database, after each
/// stretch is stored), and when the log is rotated (renamed and replaced, or truncated), finishes
/// the old file and goes on with the new one. A follower restarted after a rotation first finishes
/// the rotated file when it is still in the same directory. Runs until it is stopped; prints a
/// summary line for each stretch stored.
pub async fn follow_postfix(database: Database, path: &Path) -> Result<(), StartError> {
    let state = AppState::for_command(database).await?;
    let path = std::path::absolute(path)?;
    let source = format!("postfix:{}", path.display());
    let mut reader = LogReader::new(state.clock.now());
    let mut followed = Followed { state: &state, source: &source, reader: &mut reader, path: &path };
    let (mut file, mut id) = open_followed(&path).await?;
    let mut position = 0;
    match state.store.ingest_offset(&source).await? {
        Some((stored, at)) if stored == id => position = at,
        Some((stored, at)) => {
            if let Some(rotated) = find_file(&path, &stored) {
                let (mut old, _) = open_followed(&rotated).await?;
                followed.read_on(&mut old, &stored, at).await?;
            }
        }
        None => {}
    }
    loop {
        position = followed.read_on(&mut file, &id, position).await?;
        tokio::time::sleep(FOLLOW_POLL).await;
        let rotated = match tokio::fs::metadata(&path).await {
            Ok(metadata) => file_id(&metadata) != id || metadata.len() < position as u64,
            Err(_) => false,
        };
        if rotated {
            // What was written to the old file before it was rotated, then the new file.
            followed.read_on(&mut file, &id, position).await?;
            (file, id) = open_followed(&path).await?;
            position = 0;
        }
    }
}

/// Opens a followed file, with its identity.
async fn open_followed(path: &Path) -> Result<(tokio::fs::File, String), StartError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| StartError::Usage(format!("cannot open {}: {e}", path.display())))?;
    let id = file_id(&file.metadata().await?);
    Ok((file, id))
}

/// The file in `path`'s directory whose identity is `id` (a rotated log: `mail.log.1`, a dated name).
fn find_file(path: &Path, id: &str) -> Option<std::path::PathBuf> {
    let dir = path.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|entry| entry.metadata().is_ok_and(|m| m.is_file() && file_id(&m) == id))
        .map(|entry| entry.path())
}

/// What a follower reads with and writes to.
struct Followed<'a> {
    state: &'a AppState,
    source: &'a str,
    reader: &'a mut LogReader,
    path: &'a Path,
}

impl Followed<'_> {
    /// Reads `file` (identity `id`) from `position` to its last whole line, storing the deliveries
    /// in stretches and recording the position after each; returns where it stopped.
    async fn read_on(&mut self, file: &mut tokio::fs::File, id: &str, mut position: i64) -> Result<i64, StartError> {
        use tokio::io::AsyncSeekExt;
        file.seek(std::io::SeekFrom::Start(position as u64)).await?;
        self.reader.set_now(self.state.clock.now());
        let file_name = self.path.display().to_string();
        let (mut pending, mut lines, start) = (Pending::default(), Lines::default(), position);
        let mut summary = Summary { file: file_name.clone(), ..Summary::default() };
        loop {
            let reader = &mut *self.reader;
            // Lines are numbered from where this call started reading, not from the file's start.
            let read =
                lines.read(file, |line, number| take_line(reader, line, number, &mut pending, &mut summary)).await?;
            let read_to = start + lines.consumed as i64;
            if (read == 0 || pending.items.len() >= POSTFIX_BATCH) && read_to > position {
                store_pending(self.state, &mut pending, &mut summary).await.map_err(StartError::Usage)?;
                self.state.store.save_ingest_offset(self.source, id, read_to, self.state.clock.now()).await?;
                println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                summary = Summary { file: file_name.clone(), ..Summary::default() };
                position = read_to;
            }
            if read == 0 {
                return Ok(position);
            }
        }
    }
}

async fn store_pending(state: &AppState, pending: &mut Pending, summary: &mut Summary) -> Result<(), String> {
    let Pending { items, attempts, lines } = std::mem::take(pending);
    let last = lines.last().copied().unwrap_or(0);
    let engine = state.engine().await.map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let stored = match Stretch::new(engine, &Principal::Cli, now, items, attempts, ("line", lines), Outcome::default())
    {
        Ok(stretch) => log_ingest::store(state, &Principal::Cli, stretch).await,
        Err(e) => Err(e),
    };
    let outcome = stored.map_err(|e| format!("storing deliveries up to line {last}: {e}"))?;
    summary.add(&outcome);
    Ok(())
}

/// A Postfix delivery's event, and whether it ends an attempt.
fn postfix_event(delivery: &Delivery) -> (EventInput, bool) {
    let when = format!("{:?} {:?}", delivery.status, delivery.at);
    let parts = [&delivery.queue_id, &delivery.to, &delivery.text].map(|p| p.as_bytes());
    let key = log_ingest::record_key("postfix", delivery.at, parts.into_iter().chain([when.as_bytes()]));
    let mut event = EventInput {
        recipient: Some(delivery.orig_to.clone().unwrap_or_else(|| delivery.to.clone())),
        source: Some("postfix".to_owned()),
        idempotency_key: Some(key),
        occurred_at: delivery.at,
        ..EventInput::default()
    };
    match delivery.status {
        Status::Sent => event.kind = Some(Kind::Delivered),
        Status::Bounced | Status::Deferred => event.reply = Some(delivery.reply()),
        Status::Expired => (event.kind, event.reason) = (Some(Kind::Soft), Some(Reason::Expired)),
    }
    (event, delivery.status != Status::Deferred)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file is read on from its recorded position, or from its start when it is now shorter
    /// than that (truncated in place) or was never read.
    #[test]
    fn a_truncated_file_is_read_from_its_start() {
        assert_eq!(resume_at(Some(100), 250), 100);
        assert_eq!(resume_at(Some(250), 250), 250);
        assert_eq!(resume_at(Some(300), 250), 0);
        assert_eq!(resume_at(None, 250), 0);
    }

    /// Lines cut by chunk boundaries come out whole and numbered; what follows the last line end
    /// is kept apart (a follower waits for the rest of it, a file read to its end takes it).
    #[tokio::test]
    async fn lines_come_out_whole_across_chunks() {
        let path = std::env::temp_dir().join(format!("rebound-lines-{}", std::process::id()));
        let long = "x".repeat(READ_CHUNK + 10);
        std::fs::write(&path, format!("first\r\n{long}\nthird")).expect("a temporary file");
        let mut file = tokio::fs::File::open(&path).await.expect("it opens");
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        while lines.read(&mut file, |line, n| seen.push((n, line.len()))).await.expect("it reads") > 0 {}
        let _ = std::fs::remove_file(&path);
        assert_eq!(seen, [(1, "first\r".len()), (2, long.len())]);
        assert_eq!(lines.rest(), b"third");
        assert_eq!(lines.consumed, ("first\r\n".len() + long.len() + 1) as u64);
    }
}
