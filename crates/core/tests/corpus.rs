//! Classification accuracy on the labelled corpora in `../shared/corpus` (or
//! `REBOUND_CORPUS_DIR`), scored like `shared/tools/score.py` (Sisimai's corpus, provider replies)
//! and `shared/tools/score_peers.py` (other parsers' test suites), with floors that only ever rise:
//! a change that makes the classifier worse fails here.

use std::collections::HashMap;
use std::path::PathBuf;

use rebound_core::{Classifier, Kind, Verdict};
use serde_json::Value;

/// The current floors. They are the measured figures rounded down; raise them as accuracy rises.
const REASON_FLOOR: f64 = 0.968;
const STATUS_FLOOR: f64 = 0.977;
const RECIPIENT_FLOOR: f64 = 0.988;
const PROVIDER_KIND_FLOOR: f64 = 0.981;
/// Floors on the other parsers' test suites (`peers/`), scored like `shared/tools/score_peers.py`.
const PEERS_RECALL_FLOOR: f64 = 0.94;
const PEERS_PRECISION_FLOOR: f64 = 0.97;
const PEERS_HARD_AGREEMENT_FLOOR: f64 = 0.87;

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("REBOUND_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    assert!(
        dir.join("sisimai/labels.jsonl").is_file(),
        "the labelled corpus is not at {} (set REBOUND_CORPUS_DIR)",
        dir.display()
    );
    dir
}

fn jsonl(path: PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let row = |l: &str| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display()));
    text.lines().filter(|l| !l.trim().is_empty()).map(row).collect()
}

fn norm(address: Option<&str>) -> String {
    address.unwrap_or_default().trim().trim_matches(['<', '>']).to_ascii_lowercase()
}

/// Pairs labels with verdicts as score.py does: same recipient first, then the rest in order.
fn pair<'v>(labels: &[&Value], verdicts: &'v [Verdict]) -> Vec<Option<&'v Verdict>> {
    let mut used = vec![false; verdicts.len()];
    let mut matched: Vec<Option<&Verdict>> = labels
        .iter()
        .map(|label| {
            let want = norm(label["recipient"].as_str());
            let found = (!want.is_empty())
                .then(|| (0..verdicts.len()).find(|&j| !used[j] && norm(verdicts[j].recipient.as_deref()) == want))
                .flatten()?;
            used[found] = true;
            Some(&verdicts[found])
        })
        .collect();
    for slot in matched.iter_mut().filter(|m| m.is_none()) {
        if let Some(j) = (0..verdicts.len()).find(|&j| !used[j]) {
            used[j] = true;
            *slot = Some(&verdicts[j]);
        }
    }
    matched
}

#[test]
fn sisimai_corpus_meets_the_floors() {
    let dir = corpus_dir().join("sisimai");
    let map: HashMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("../../tools/sisimai_reason_map.json")).unwrap())
            .unwrap();
    let labels = jsonl(dir.join("labels.jsonl"));
    assert!(labels.len() > 400, "the corpus is not empty");
    let mut by_file: Vec<(&str, Vec<&Value>)> = Vec::new();
    for label in &labels {
        let file = label["file"].as_str().unwrap();
        match by_file.iter_mut().find(|(f, _)| *f == file) {
            Some((_, list)) => list.push(label),
            None => by_file.push((file, vec![label])),
        }
    }
    let classifier = Classifier::builtin();
    let (mut n, mut reason_ok, mut status_ok, mut recipient_n, mut recipient_ok) = (0, 0, 0, 0, 0);
    for (file, file_labels) in &by_file {
        let raw = std::fs::read(dir.join("eml").join(file)).unwrap();
        let verdicts = classifier.classify_message(&raw);
        for (label, verdict) in file_labels.iter().zip(pair(file_labels, &verdicts)) {
            n += 1;
            let gold = map.get(label["reason"].as_str().unwrap()).cloned().unwrap_or_default();
            let Some(v) = verdict else { continue };
            reason_ok += usize::from(v.reason.as_str() == gold);
            status_ok +=
                usize::from(v.status.map(|s| s.to_string()).unwrap_or_default() == label["status"].as_str().unwrap());
            if let Some(want) = label["recipient"].as_str().filter(|r| !r.is_empty()) {
                recipient_n += 1;
                recipient_ok += usize::from(norm(v.recipient.as_deref()) == norm(Some(want)));
            }
        }
    }
    let ratio = |ok: usize, all: usize| ok as f64 / all as f64;
    let (reason, status, recipient) = (ratio(reason_ok, n), ratio(status_ok, n), ratio(recipient_ok, recipient_n));
    eprintln!("sisimai corpus: reason {reason:.3}, status {status:.3}, recipient {recipient:.3} over {n} labels");
    assert!(reason >= REASON_FLOOR, "reason accuracy {reason:.3} < {REASON_FLOOR}");
    assert!(status >= STATUS_FLOOR, "status accuracy {status:.3} < {STATUS_FLOOR}");
    assert!(recipient >= RECIPIENT_FLOOR, "recipient accuracy {recipient:.3} < {RECIPIENT_FLOOR}");
}

#[test]
fn provider_lines_meet_the_floor_and_no_block_is_hard() {
    let lines = jsonl(corpus_dir().join("provider_lines_dev.jsonl"));
    assert!(lines.len() > 50, "the corpus is not empty");
    let classifier = Classifier::builtin();
    let mut ok = 0;
    let mut blocks_called_hard = Vec::new();
    for line in &lines {
        let text = line["line"].as_str().unwrap();
        let verdict = classifier.classify_reply(text);
        ok += usize::from(verdict.kind.as_str() == line["kind"].as_str().unwrap());
        if line["kind"] == "block" && verdict.kind == Kind::Hard {
            blocks_called_hard.push(text);
        }
    }
    let accuracy = ok as f64 / lines.len() as f64;
    eprintln!("provider lines: kind {accuracy:.3} over {}", lines.len());
    assert!(blocks_called_hard.is_empty(), "blocks classified hard: {blocks_called_hard:#?}");
    assert!(accuracy >= PROVIDER_KIND_FLOOR, "kind accuracy {accuracy:.3} < {PROVIDER_KIND_FLOOR}");
}

/// The lines and messages of every corpus beside the checkout: the reply lines (provider replies
/// and the Sisimai corpus's SMTP lines) and the bounce emails (Sisimai's and the peers').
fn every_corpus() -> (Vec<String>, Vec<(String, Vec<u8>)>) {
    let dir = corpus_dir();
    let mut lines: Vec<String> = jsonl(dir.join("provider_lines_dev.jsonl"))
        .iter()
        .chain(&jsonl(dir.join("sisimai/smtp_lines.jsonl")))
        .filter_map(|l| l["line"].as_str().map(str::to_owned))
        .collect();
    lines.extend(
        include_str!("held_out_lines.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(_, t)| t.to_owned()),
    );
    let mut emails = Vec::new();
    for sub in ["sisimai/eml", "peers/flufl/eml", "peers/bounceparser/eml"] {
        let folder = dir.join(sub);
        let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", folder.display())).path();
            let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            emails.push((path.display().to_string(), raw));
        }
    }
    (lines, emails)
}

/// Invariants that hold whatever a message says, over every corpus: a transient reply is never
/// hard; explicit "no such mailbox" words are never overruled into a block by a status code, nor
/// a timeout read as a block; a reported address carries no type tag (`rfc822;`, `SMTP:`) and is
/// never the reporting system's own address.
#[test]
fn invariants_hold_over_every_corpus() {
    let classifier = Classifier::builtin();
    let (lines, emails) = every_corpus();
    let says_no_mailbox = |t: &str| {
        let t = t.to_ascii_lowercase();
        ["no such user", "user unknown", "mailbox not found", "does not exist", "unknown user"]
            .iter()
            .any(|p| t.contains(p))
            && !["domain", "sender", "spam", "dmarc", "spf", "policy", "block"].iter().any(|p| t.contains(p))
    };
    let says_timeout = |t: &str| {
        let t = t.to_ascii_lowercase();
        (t.contains("timed out") || t.contains("timeout"))
            && !["block", "spam", "reputation", "policy", "denied", "rejected", "refused"].iter().any(|p| t.contains(p))
    };
    let mut broken = Vec::new();
    for line in &lines {
        let v = classifier.classify_reply(line);
        let transient =
            v.reply_code.is_some_and(|c| c / 100 == 4) || v.status.is_some_and(|s| s.class == 4 && !v.status_derived);
        if transient && v.kind == Kind::Hard {
            broken.push(format!("transient read as hard: {line}"));
        }
        if says_no_mailbox(line) && v.kind == Kind::Block && v.rule.starts_with("status.") {
            broken.push(format!("no-such-mailbox words overruled by {}: {line}", v.rule));
        }
        if says_timeout(line) && v.kind == Kind::Block {
            broken.push(format!("a timeout read as a block ({}): {line}", v.rule));
        }
    }
    for (file, raw) in &emails {
        let text = String::from_utf8_lossy(raw);
        let reporter = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with("from:"))
            .and_then(|l| l.split(['<', '>', ' ']).find(|w| w.contains('@')).map(str::to_ascii_lowercase));
        for v in classifier.classify_message(raw) {
            if v.kind == Kind::Hard && (v.reply_code.is_some_and(|c| c / 100 == 4)) {
                broken.push(format!("{file}: a 4xx reply read as hard"));
            }
            for address in [&v.recipient, &v.original_recipient].into_iter().flatten() {
                let local = address.rsplit_once('@').map_or(address.as_str(), |(l, _)| l);
                let tagged = ["rfc822", "smtp", "dda"].iter().any(|t| local.to_ascii_lowercase().starts_with(t));
                if !local.starts_with('"') && local.contains([':', ';', '=']) && tagged {
                    broken.push(format!("{file}: a type tag left on {address}"));
                }
                let bounce_kinds = matches!(v.kind, Kind::Hard | Kind::Soft | Kind::Block);
                if bounce_kinds && reporter.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(address)) {
                    broken.push(format!("{file}: the reporting system's own address {address} reported as bounced"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The peers' labelled messages: recipients (recall and precision per address, a label's alternative
/// set used where it matches better), hard versus not hard (the majority kind of the rows for the
/// labelled recipients), and never a block or a temporary failure read as hard.
#[test]
fn peer_suites_meet_the_floors() {
    let classifier = Classifier::builtin();
    let (mut tp, mut fn_, mut fp, mut class_n, mut agree) = (0, 0, 0, 0, 0);
    let mut wrongly_hard = Vec::new();
    for suite in ["flufl", "bounceparser"] {
        let dir = corpus_dir().join("peers").join(suite);
        for label in jsonl(dir.join("labels.jsonl")) {
            let file = label["file"].as_str().unwrap();
            let verdicts = classifier.classify_message(&std::fs::read(dir.join("eml").join(file)).unwrap());
            let got: Vec<String> =
                verdicts.iter().filter(|v| v.recipient.is_some()).map(|v| norm(v.recipient.as_deref())).collect();
            let expected = ["recipients", "recipients_alt"]
                .iter()
                .filter_map(|k| label[*k].as_array())
                .map(|set| set.iter().map(|a| norm(a.as_str())).collect::<Vec<_>>())
                .max_by_key(|set| {
                    let hits = set.iter().filter(|a| got.contains(a)).count();
                    (hits, std::cmp::Reverse(got.iter().filter(|g| !set.contains(g)).count()))
                });
            if let Some(set) = &expected {
                tp += set.iter().filter(|a| got.contains(a)).count();
                fn_ += set.iter().filter(|a| !got.contains(a)).count();
                fp += got.iter().filter(|g| !set.contains(g)).count();
            }
            let Some(class) = label["class"].as_str().filter(|c| ["hard", "soft", "block"].contains(c)) else {
                continue;
            };
            let speaking: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| expected.as_ref().is_some_and(|set| set.contains(&norm(v.recipient.as_deref()))))
                .collect();
            let rows = if speaking.is_empty() { verdicts.iter().collect() } else { speaking };
            // The most frequent kind; on a tie, the one that comes first.
            let count = |kind: Kind| rows.iter().filter(|w| w.kind == kind).count();
            let most = rows.iter().map(|v| count(v.kind)).max().unwrap_or(0);
            let kind = rows.iter().map(|v| v.kind).find(|&k| count(k) == most);
            let hard = kind == Some(Kind::Hard);
            class_n += 1;
            agree += usize::from((class == "hard") == hard);
            if hard && class != "hard" {
                wrongly_hard.push(format!("{suite}/{file} ({class})"));
            }
        }
    }
    let ratio = |ok: usize, all: usize| ok as f64 / all as f64;
    let (recall, precision, agreement) = (ratio(tp, tp + fn_), ratio(tp, tp + fp), ratio(agree, class_n));
    eprintln!("peer suites: recipient recall {recall:.3}, precision {precision:.3}, hard vs not {agreement:.3}");
    assert!(wrongly_hard.is_empty(), "a block or a temporary failure read as hard: {wrongly_hard:?}");
    assert!(recall >= PEERS_RECALL_FLOOR, "recipient recall {recall:.3} < {PEERS_RECALL_FLOOR}");
    assert!(precision >= PEERS_PRECISION_FLOOR, "recipient precision {precision:.3} < {PEERS_PRECISION_FLOOR}");
    assert!(agreement >= PEERS_HARD_AGREEMENT_FLOOR, "hard vs not {agreement:.3} < {PEERS_HARD_AGREEMENT_FLOOR}");
}
