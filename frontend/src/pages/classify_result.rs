//! How the classify page shows its results: a verdict card per recipient, with the matched
//! evidence highlighted in the pasted text, and the batch table with counts per kind. Bounce text
//! is only ever put in text nodes, so whatever it contains is shown, never interpreted.

use std::collections::BTreeMap;
use std::ops::Range;

use leptos::prelude::*;
use rebound_core::{Kind, Verdict};

use crate::rules::Rules;

/// Rows the batch table shows; the counts cover every line.
const BATCH_ROWS: usize = 500;

/// Where `evidence` is in `text`: verbatim, or else ignoring ASCII case.
pub fn find_evidence(text: &str, evidence: &str) -> Option<Range<usize>> {
    let evidence = evidence.trim();
    if evidence.is_empty() {
        return None;
    }
    let start = text
        .find(evidence)
        .or_else(|| text.to_ascii_lowercase().find(&evidence.to_ascii_lowercase()))
        .filter(|start| text.is_char_boundary(*start) && text.is_char_boundary(start + evidence.len()))?;
    Some(start..start + evidence.len())
}

/// "5.1.1 — Bad destination mailbox address" (the IANA registry's title), or "none".
fn status_text(verdict: &Verdict) -> String {
    verdict.status.map_or_else(|| "none".to_owned(), |s| format!("{s} — {}", s.title()))
}

/// One verdict, laid out for a person: kind first, then what to do and why, and the text with
/// the evidence the deciding rule matched highlighted.
#[component]
pub fn VerdictCard(verdict: Verdict, text: RwSignal<String>) -> impl IntoView {
    let kind = verdict.kind.as_str();
    let status = status_text(&verdict);
    let reply_code = verdict.reply_code.map_or_else(|| "none".to_owned(), |c| c.to_string());
    let recipient = verdict.recipient.clone().unwrap_or_else(|| "not named".to_owned());
    let evidence = verdict.evidence.clone();
    view! {
        <article class="verdict" data-testid="verdict" aria-live="polite">
            <p class=format!("kind kind-{kind}") data-testid="verdict-kind">{kind}</p>
            <dl>
                <dt>"Recipient"</dt><dd data-testid="verdict-recipient">{recipient}</dd>
                <dt>"Reason"</dt><dd data-testid="verdict-reason">{verdict.reason.as_str()}</dd>
                <dt>"Action"</dt><dd data-testid="verdict-action">{verdict.action.as_str()}</dd>
                <dt>"Reply code"</dt><dd data-testid="verdict-reply-code">{reply_code}</dd>
                <dt>"Status"</dt><dd data-testid="verdict-status">{status}</dd>
                <dt>"Rule"</dt><dd><code data-testid="verdict-rule">{verdict.rule}</code></dd>
                <dt>"Evidence"</dt><dd><code>{verdict.evidence}</code></dd>
                <dt>"Confidence"</dt><dd>{verdict.confidence.as_str()}</dd>
            </dl>
            {move || text.with(|t| highlighted(t, &evidence))}
        </article>
    }
}

/// The text around the evidence, with the evidence marked; nothing when it cannot be found.
fn highlighted(text: &str, evidence: &str) -> Option<impl IntoView + use<>> {
    let found = find_evidence(text, evidence)?;
    let (before, matched, after) = (&text[..found.start], &text[found.clone()], &text[found.end..]);
    Some(view! {
        <details class="source" open=true>
            <summary>"Where the rule matched"</summary>
            <pre data-testid="verdict-source">{before.to_owned()}<mark data-testid="evidence">{matched.to_owned()}</mark>{after.to_owned()}</pre>
        </details>
    })
}

/// Many replies, one per line: the counts per kind and a row per line.
#[component]
pub fn BatchTable(input: RwSignal<String>, rules: RwSignal<Rules>) -> impl IntoView {
    let results = Memo::new(move |_| {
        input.with(|text| {
            rules.with(|r| {
                text.lines()
                    .enumerate()
                    .filter(|(_, line)| !line.trim().is_empty())
                    .map(|(i, line)| (i + 1, r.classifier().classify_reply(line.trim())))
                    .collect::<Vec<_>>()
            })
        })
    });
    let counts = move || {
        results.with(|rows| {
            let mut counts = BTreeMap::<Kind, usize>::new();
            for (_, v) in rows {
                *counts.entry(v.kind).or_default() += 1;
            }
            counts
        })
    };
    view! {
        <ul class="counts" data-testid="batch-counts">
            {move || counts().into_iter().map(|(kind, n)| view! {
                <li class=format!("kind-{}", kind.as_str()) data-testid=format!("count-{}", kind.as_str())>
                    <strong>{n}</strong>" "{kind.as_str()}
                </li>
            }).collect_view()}
        </ul>
        <p class="list-state">{move || results.with(|r| match r.len() {
            n if n > BATCH_ROWS => format!("{n} replies; the first {BATCH_ROWS} are shown."),
            n => format!("{n} replies."),
        })}</p>
        <table class="list batch">
            <thead><tr>
                <th scope="col">"Line"</th><th scope="col">"Kind"</th><th scope="col">"Reason"</th>
                <th scope="col">"Action"</th><th scope="col">"Status"</th><th scope="col">"Rule"</th>
            </tr></thead>
            <tbody>
                {move || results.with(|rows| rows.iter().take(BATCH_ROWS).map(|(line, v)| view! {
                    <tr data-testid="batch-row">
                        <td>{*line}</td>
                        <td class=format!("kind-{}", v.kind.as_str())>{v.kind.as_str()}</td>
                        <td>{v.reason.as_str()}</td>
                        <td>{v.action.as_str()}</td>
                        <td>{status_text(v)}</td>
                        <td><code>{v.rule.clone()}</code></td>
                    </tr>
                }).collect_view())}
            </tbody>
        </table>
    }
}
