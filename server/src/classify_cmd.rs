//! `rebound classify`: the classifier on files, printing JSON Lines. Outside tools depend on the
//! exact output, so its shape is fixed here and nowhere else:
//!
//! - `rebound classify PATH...` (files, or directories of `*.eml`): one object per (file,
//!   recipient) with `file` and `index`; a file without recipients still prints one object.
//! - `rebound classify --lines FILE|-`: one object per input line, with `line`.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use rebound_core::{Classifier, Verdict};
use serde::Serialize;

use crate::error::StartError;

/// Where an output object came from.
#[derive(Serialize)]
#[serde(untagged)]
enum Origin<'a> {
    File { file: &'a str, index: usize },
    Line { line: usize },
}

/// One output object: the origin, then the verdict's fields in the documented order.
#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    origin: Origin<'a>,
    recipient: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_recipient: Option<&'a str>,
    reply_code: Option<u16>,
    status: Option<String>,
    reason: &'static str,
    kind: &'static str,
    action: &'static str,
    rule: &'a str,
    evidence: &'a str,
    confidence: &'static str,
}

impl<'a> Output<'a> {
    fn new(origin: Origin<'a>, v: &'a Verdict) -> Self {
        Self {
            origin,
            recipient: v.recipient.as_deref(),
            original_recipient: v.original_recipient.as_deref(),
            reply_code: v.reply_code,
            status: v.status.map(|s| s.to_string()),
            reason: v.reason.as_str(),
            kind: v.kind.as_str(),
            action: v.action.as_str(),
            rule: &v.rule,
            evidence: &v.evidence,
            confidence: v.confidence.as_str(),
        }
    }
}

fn write_json(out: &mut impl Write, value: &Output<'_>) -> Result<(), StartError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| StartError::Usage(e.to_string()))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Classifies one SMTP reply per line of `source` (`-` for standard input).
pub fn lines(source: &Path) -> Result<(), StartError> {
    let reader: Box<dyn BufRead> = if source == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(std::fs::File::open(source).map_err(|e| open_error(source, e))?))
    };
    let classifier = Classifier::builtin();
    let mut out = BufWriter::new(io::stdout().lock());
    for (number, line) in reader.split(b'\n').enumerate() {
        let bytes = line?;
        let text = String::from_utf8_lossy(&bytes);
        let verdict = classifier.classify_reply(text.trim_end_matches('\r'));
        write_json(&mut out, &Output::new(Origin::Line { line: number + 1 }, &verdict))?;
    }
    out.flush()?;
    Ok(())
}

/// Classifies bounce email files, and the `*.eml` files of directories (not recursively), in name
/// order within each directory.
pub fn files(paths: &[PathBuf]) -> Result<(), StartError> {
    let classifier = Classifier::builtin();
    let mut out = BufWriter::new(io::stdout().lock());
    for path in paths {
        for file in expand(path)? {
            let raw = std::fs::read(&file).map_err(|e| open_error(&file, e))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            for (index, verdict) in classifier.classify_message(&raw).iter().enumerate() {
                write_json(&mut out, &Output::new(Origin::File { file: &name, index: index + 1 }, verdict))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn expand(path: &Path) -> Result<Vec<PathBuf>, StartError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| open_error(path, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")))
        .collect();
    files.sort();
    Ok(files)
}

fn open_error(path: &Path, e: io::Error) -> StartError {
    StartError::Usage(format!("cannot read {}: {e}", path.display()))
}
