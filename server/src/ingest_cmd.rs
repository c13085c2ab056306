//! `rebound ingest pmta PATH...`: an MTA's own log files read on the server's machine and written
//! to the database directly, through the same code as the upload endpoints (so the same
//! classification, policy, idempotency and audit), as the command line's actor (`cli`).
//!
//! Each file prints one JSON line, `{"file","records","events","skipped","errors"}`: the records
//! read (the header line aside), the events stored (a record sent again is recognised by its
//! idempotency key and not stored twice), the records that stand for nothing Rebound keeps, and
//! those that could not be read or failed a check. A file that cannot be opened or read, or that
//! is not an accounting file, makes the command exit non-zero after the other files are done.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::auth::Principal;
use crate::config::Database;
use crate::csv::{CsvRecords, CsvStep};
use crate::error::StartError;
use crate::routes::events::MAX_BATCH;
use crate::routes::powermta::{self, Columns, MAX_FIELDS, MAX_RECORD};
use crate::state::AppState;

/// Bytes read from a file at a time.
const READ_CHUNK: usize = 256 * 1024;

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

/// Reads PowerMTA accounting files into the database.
pub async fn pmta(database: Database, paths: &[PathBuf]) -> Result<(), StartError> {
    let state = AppState::for_command(database).await?;
    let mut failed = 0;
    for path in paths {
        let mut summary = Summary { file: path.display().to_string(), ..Summary::default() };
        if let Err(why) = accounting_file(&state, path, &mut summary).await {
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

/// Reads one accounting file in batches, adding to `summary` as each batch is stored.
async fn accounting_file(state: &AppState, path: &Path, summary: &mut Summary) -> Result<(), String> {
    let mut file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open the file: {e}"))?;
    let mut reader = CsvRecords::new(MAX_RECORD, MAX_FIELDS, false);
    let mut columns: Option<Columns> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let read = file.read(&mut buffer).await.map_err(|e| format!("cannot read the file: {e}"))?;
        let mut input = &buffer[..read];
        loop {
            let (step, used) = reader.step(input);
            input = &input[used..];
            match step {
                CsvStep::Record(record, line) => match &columns {
                    None => {
                        let header = record.map_err(|e| format!("the header line is {e}"))?;
                        columns = Some(Columns::read(&header)?);
                    }
                    Some(columns) => {
                        batch.push((record, line));
                        if batch.len() == MAX_BATCH {
                            store(state, columns, &mut batch, summary).await?;
                        }
                    }
                },
                CsvStep::NeedInput | CsvStep::End => break,
            }
        }
        if read == 0 {
            break;
        }
    }
    let columns = columns.ok_or("the file is empty: no header line")?;
    store(state, &columns, &mut batch, summary).await
}

async fn store(
    state: &AppState,
    columns: &Columns,
    batch: &mut Vec<(Result<Vec<String>, String>, u64)>,
    summary: &mut Summary,
) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcome = powermta::ingest_records(state, &Principal::Cli, columns, batch)
        .await
        .map_err(|e| format!("storing records up to line {}: {e}", batch.last().map_or(0, |(_, line)| *line)))?;
    for problem in &outcome.problems {
        tracing::warn!(file = %summary.file, "{problem}");
    }
    summary.records += batch.len() as u64;
    summary.events += outcome.events;
    summary.skipped += outcome.ignored;
    summary.errors += outcome.errors;
    batch.clear();
    Ok(())
}
