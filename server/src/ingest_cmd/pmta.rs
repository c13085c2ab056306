//! `rebound ingest pmta`: PowerMTA accounting files, read once (`FILE...`) or followed in their
//! directory (`--follow DIR`).
//!
//! A file is known by its identity (device, inode and, where the filesystem keeps one, its
//! creation time), not by its name: PowerMTA renames its live file when it rotates it. Once a
//! batch of a file's records is stored, the position after its last record is recorded in the
//! database under the file's identity, and a file read again (by a later command, by a follower
//! after a restart, or after its rotation) is read on from there: nothing is stored or counted
//! twice and nothing is skipped. A batch is classified while the one before it is being stored,
//! so reading and the database each keep a core busy.

use std::collections::HashMap;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{FOLLOW_POLL, READ_CHUNK, Summary, file_id, resume_at};
use crate::auth::Principal;
use crate::config::Database;
use crate::csv::{CsvRecords, CsvStep};
use crate::error::StartError;
use crate::service::events::LOG_BATCH;
use crate::service::log_ingest::{self, Outcome, Stretch};
use crate::service::powermta::{self, Columns, MAX_FIELDS, MAX_RECORD};
use crate::state::AppState;

/// Records as the CSV reader gives them, each with the line it ends on.
type Records = Vec<(Result<Vec<String>, String>, u64)>;

/// Where a file's reading is recorded.
fn source_of(id: &str) -> String {
    format!("pmta:{id}")
}

/// Why a file was not read to its end.
enum Failure {
    /// The file: it cannot be read, or it is no accounting file. Reading it again will not help.
    File(String),
    /// The database: reading on would lose what was read.
    Store(String),
}

impl Failure {
    fn text(self) -> String {
        match self {
            Self::File(why) | Self::Store(why) => why,
        }
    }
}

fn unreadable(e: std::io::Error) -> Failure {
    Failure::File(format!("cannot read the file: {e}"))
}

/// Reads one accounting file from where it was last read to its end (a last record without a line
/// end included: the file is taken as closed), adding to `summary`.
pub(super) async fn read_file(state: &AppState, path: &Path, summary: &mut Summary) -> Result<(), String> {
    let mut file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open the file: {e}"))?;
    let metadata = file.metadata().await.map_err(|e| format!("cannot read the file: {e}"))?;
    let id = file_id(&metadata);
    let recorded = state.store.ingest_offset(&source_of(&id)).await.map_err(|e| e.to_string())?;
    let start = resume_at(recorded.map(|(_, at)| at), metadata.len());
    read_on(state, &mut file, &id, start, true, summary).await.map(|_| ()).map_err(Failure::text)
}

/// Follows a directory that PowerMTA writes one accounting file's files to (the live file and
/// those it rotated out): every `.csv` file in it is read, oldest first, from where it was last
/// read, then again as it grows, every half second, until stopped. A summary line is printed
/// for each file that gave records.
pub async fn follow_dir(database: Database, dir: &Path) -> Result<(), StartError> {
    let state = AppState::for_command(database).await?;
    // How far each file (by identity) has been read, once looked up.
    let mut read_to: HashMap<String, u64> = HashMap::new();
    loop {
        for (path, id, len) in accounting_files(dir)? {
            let recorded = match read_to.get(&id) {
                Some(&at) => Some(at as i64),
                None => state.store.ingest_offset(&source_of(&id)).await?.map(|(_, at)| at),
            };
            let start = resume_at(recorded, len);
            if len <= start {
                read_to.insert(id, start);
                continue;
            }
            let mut summary = Summary { file: path.display().to_string(), ..Summary::default() };
            let reached = match tokio::fs::File::open(&path).await {
                Ok(mut file) => read_on(&state, &mut file, &id, start, false, &mut summary).await,
                Err(e) => Err(Failure::File(format!("cannot open the file: {e}"))),
            };
            let at = match reached {
                Ok(at) => at,
                Err(Failure::File(why)) => {
                    // Named once; the file is not tried again until it grows.
                    summary.error = Some(why);
                    len
                }
                Err(Failure::Store(why)) => {
                    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                    return Err(StartError::Usage(format!("{}: {why}", path.display())));
                }
            };
            read_to.insert(id, at);
            if summary.records > 0 || summary.error.is_some() {
                println!("{}", serde_json::to_string(&summary).unwrap_or_default());
            }
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    }
}

/// The regular `.csv` files in `dir`, oldest first (by modification time, then name), with their
/// identity and length.
fn accounting_files(dir: &Path) -> Result<Vec<(std::path::PathBuf, String, u64)>, StartError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| StartError::Usage(format!("cannot read {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        if metadata.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            let modified = metadata.modified().ok();
            files.push((modified, path, file_id(&metadata), metadata.len()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, path, id, len)| (path, id, len)).collect())
}

/// The file's header line: the columns it names, and the position after it. `None` for a file
/// with no whole line yet (a live file just created).
async fn header(file: &mut tokio::fs::File) -> Result<Option<(Columns, u64)>, Failure> {
    file.seek(std::io::SeekFrom::Start(0)).await.map_err(unreadable)?;
    let mut reader = CsvRecords::new(MAX_RECORD, MAX_FIELDS, false);
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut position = 0;
    loop {
        let read = file.read(&mut buffer).await.map_err(unreadable)?;
        if read == 0 {
            return Ok(None);
        }
        // The reader stops at the first record, or wants more once the chunk is used up.
        let (step, used) = reader.step(&buffer[..read]);
        position += used as u64;
        if let CsvStep::Record(record, _) = step {
            let header = record.map_err(|e| Failure::File(format!("the header line is {e}")))?;
            return Ok(Some((Columns::read(&header).map_err(Failure::File)?, position)));
        }
    }
}

/// A batch being stored; it answers how many records it held and what they gave, once stored
/// and its end recorded.
type Storing = tokio::task::JoinHandle<Result<(u64, Outcome), String>>;

/// Reads `file` (identity `id`) from `start` (or after its header line), storing its records in
/// batches and recording after each where it ended; `closed`: a last record without a line end is
/// whole (a follower leaves it until its line end is written). Answers the position reached.
async fn read_on(
    state: &AppState,
    file: &mut tokio::fs::File,
    id: &str,
    start: u64,
    closed: bool,
    summary: &mut Summary,
) -> Result<u64, Failure> {
    let Some((columns, after_header)) = header(file).await? else {
        return if closed { Err(Failure::File("the file is empty: no header line".to_owned())) } else { Ok(start) };
    };
    let mut position = start.max(after_header);
    file.seek(std::io::SeekFrom::Start(position)).await.map_err(unreadable)?;
    let mut reader = CsvRecords::new(MAX_RECORD, MAX_FIELDS, false);
    let mut buffer = vec![0u8; READ_CHUNK];
    let (mut batch, mut consumed, mut stored_to): (Records, u64, u64) =
        (Vec::with_capacity(LOG_BATCH), position, position);
    let mut storing: Option<Storing> = None;
    loop {
        let read = file.read(&mut buffer).await.map_err(unreadable)?;
        if read == 0 && !closed {
            break;
        }
        let mut input = &buffer[..read];
        loop {
            let (step, used) = reader.step(input);
            consumed += used as u64;
            input = &input[used..];
            match step {
                CsvStep::Record(record, line) => {
                    batch.push((record, line));
                    position = consumed;
                    if batch.len() == LOG_BATCH {
                        let next = dispatch(state, &columns, std::mem::take(&mut batch), id, position).await?;
                        if let Some(previous) = storing.replace(next) {
                            finish(previous, summary).await?;
                        }
                        stored_to = position;
                    }
                }
                CsvStep::NeedInput | CsvStep::End => break,
            }
        }
        if read == 0 {
            break;
        }
    }
    if let Some(previous) = storing.take() {
        finish(previous, summary).await?;
    }
    if !batch.is_empty() {
        finish(dispatch(state, &columns, batch, id, position).await?, summary).await?;
        stored_to = position;
    }
    Ok(stored_to)
}

/// Classifies a batch (ending at `end` in the file `id`), then stores it in a task of its own,
/// which records `end` once the batch is stored.
async fn dispatch(state: &AppState, columns: &Columns, batch: Records, id: &str, end: u64) -> Result<Storing, Failure> {
    let last_line = batch.last().map_or(0, |(_, line)| *line);
    let engine = state.engine().await.map_err(|e| Failure::Store(e.to_string()))?;
    let stretch = powermta::read_records(state, engine, &Principal::Cli, state.clock.now(), columns, &batch)
        .map_err(|e| Failure::File(format!("reading records up to line {last_line}: {e}")))?;
    let (state, id, records) = (state.clone(), id.to_owned(), batch.len() as u64);
    Ok(tokio::spawn(async move { store(&state, stretch, &id, end).await.map(|outcome| (records, outcome)) }))
}

async fn store(state: &AppState, stretch: Stretch, id: &str, end: u64) -> Result<Outcome, String> {
    let outcome =
        log_ingest::store(state, &Principal::Cli, stretch).await.map_err(|e| format!("storing records: {e}"))?;
    let end = i64::try_from(end).map_err(|_| "the file is too large".to_owned())?;
    state.store.save_ingest_offset(&source_of(id), id, end, state.clock.now()).await.map_err(|e| e.to_string())?;
    Ok(outcome)
}

/// Waits for a batch to be stored and adds what it gave to `summary`.
async fn finish(storing: Storing, summary: &mut Summary) -> Result<(), Failure> {
    let stored = storing.await.map_err(|e| format!("storing a batch failed: {e}")).and_then(|stored| stored);
    let (records, outcome) = stored.map_err(Failure::Store)?;
    summary.records += records;
    summary.add(&outcome);
    Ok(())
}
