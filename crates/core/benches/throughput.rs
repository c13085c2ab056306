//! Throughput of the classifier over the labelled corpus, every built-in rule loaded:
//! SMTP reply lines per second and whole bounce emails per second, on one core (the median of nine
//! rounds, and the best), and the memory the compiled rules hold afterwards.
//!
//! `cargo bench -p rebound-core` (the corpus is read from `../shared/corpus`, or
//! `REBOUND_CORPUS_DIR`; `REBOUND_BENCH=lines` or `=emails` runs one half). A bench binary rather than a test: it measures, it never asserts.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rebound_core::Classifier;

fn corpus_dir() -> PathBuf {
    std::env::var_os("REBOUND_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
}

/// Rounds of measurement; the median and the best are reported, because a shared machine slows
/// some rounds down (the best is the least disturbed, the median the typical).
const ROUNDS: usize = 9;

/// Runs `work` over all `items` repeatedly, in `ROUNDS` rounds of about `budget` each, returning
/// the items per second of the median round and of the best.
fn rate<T>(items: &[T], budget: Duration, mut work: impl FnMut(&T)) -> (f64, f64) {
    for item in items {
        work(item);
    }
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let mut done = 0u64;
            while start.elapsed() < budget {
                for item in items {
                    work(item);
                }
                done += items.len() as u64;
            }
            done as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[ROUNDS / 2], rates[ROUNDS - 1])
}

fn main() {
    let dir = corpus_dir();
    let classifier = Classifier::builtin();
    let lines: Vec<String> = ["sisimai/smtp_lines.jsonl", "provider_lines_dev.jsonl"]
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["line"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut emails: Vec<Vec<u8>> = std::fs::read_dir(dir.join("sisimai/eml"))
        .map(|entries| entries.filter_map(|e| e.ok()).filter_map(|e| std::fs::read(e.path()).ok()).collect())
        .unwrap_or_default();
    emails.sort();
    if lines.is_empty() || emails.is_empty() {
        eprintln!("no corpus at {} (set REBOUND_CORPUS_DIR)", dir.display());
        std::process::exit(1);
    }
    let budget = Duration::from_millis(400);
    let only = std::env::var("REBOUND_BENCH").unwrap_or_default();
    if only != "emails" {
        let (median, best) = rate(&lines, budget, |l| {
            black_box(classifier.classify_reply(black_box(l)));
        });
        println!("reply lines: {median:>12.0} per second, best round {best:.0} ({} distinct lines)", lines.len());
    }
    if only != "lines" {
        let bytes: usize = emails.iter().map(Vec::len).sum();
        let (median, best) = rate(&emails, budget, |e| {
            black_box(classifier.classify_message(black_box(e)));
        });
        println!(
            "bounce emails: {median:>10.0} per second, best round {best:.0} ({} emails, mean {} bytes)",
            emails.len(),
            bytes / emails.len()
        );
    }
    if let Ok(rules) = rebound_core::builtin_rules() {
        println!("compiled rules: {:.1} MB", rules.memory_usage() as f64 / 1e6);
    }
}
