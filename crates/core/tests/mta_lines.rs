//! The failure texts of real MTAs, taken from their sources (`mta_lines.tsv`): the classifier
//! reads nearly all of them as the kind they mean, never a block or a temporary failure as a dead
//! address, and most as their precise reason. These are general knowledge of how mail systems
//! say things, not samples of one corpus, so they guard the rules against fitting a corpus.

use rebound_core::{Classifier, Kind, Reason};

const LINES: &str = include_str!("mta_lines.tsv");
/// The share of texts whose reason must be right; raise it as the rules learn more.
const REASON_FLOOR: f64 = 0.89;
/// The share whose kind must be right.
const KIND_FLOOR: f64 = 0.97;

#[test]
fn mta_failure_texts_are_read_as_what_they_mean() {
    let classifier = Classifier::builtin();
    let (mut n, mut kind_ok, mut reason_ok) = (0, 0, 0);
    let mut wrongly_hard = Vec::new();
    let mut misses = Vec::new();
    for line in LINES.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (Some(reason), Some(kind), Some(text), Some(source)) = (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!("a line needs reason, kind, text and source: {line}");
        };
        let reason: Reason = reason.parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        let kind: Kind = kind.parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        let verdict = classifier.classify_reply(text);
        n += 1;
        kind_ok += usize::from(verdict.kind == kind);
        reason_ok += usize::from(verdict.reason == reason);
        if verdict.kind == Kind::Hard && kind != Kind::Hard {
            wrongly_hard.push(format!("{source}: `{text}` read as {} (expected {kind})", verdict.reason));
        }
        if verdict.reason != reason {
            misses
                .push(format!("{source}: `{text}`: {} ({}), expected {reason} ({kind})", verdict.reason, verdict.kind));
        }
    }
    let (kinds, reasons) = (kind_ok as f64 / n as f64, reason_ok as f64 / n as f64);
    eprintln!("MTA texts: kind {kinds:.3}, reason {reasons:.3} over {n}; misses:\n{}", misses.join("\n"));
    assert!(n > 300, "the file is not empty");
    assert!(wrongly_hard.is_empty(), "read as hard: {wrongly_hard:#?}");
    assert!(kinds >= KIND_FLOOR, "kind {kinds:.3} < {KIND_FLOOR}");
    assert!(reasons >= REASON_FLOOR, "reason {reasons:.3} < {REASON_FLOOR}");
}
