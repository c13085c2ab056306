//! The classify page: paste an SMTP reply, see the verdict as you type. The classifier runs here,
//! in the browser (the wasm build of `rebound-core`): no request leaves the page, so it works
//! offline and the text pasted never reaches the server.

use leptos::prelude::*;
use rebound_core::{Verdict, classify_reply};

#[component]
pub fn ClassifyPage() -> impl IntoView {
    let (input, set_input) = signal(String::new());
    let verdict = Memo::new(move |_| input.with(|text| (!text.trim().is_empty()).then(|| classify_reply(text))));
    view! {
        <section class="page classify">
            <h1>"Classify a bounce"</h1>
            <p class="hint">"Paste an SMTP reply as your MTA or provider reported it. It is classified in your browser; nothing is sent."</p>
            <label for="reply">"SMTP reply"</label>
            <textarea
                id="reply"
                data-testid="reply-input"
                rows="5"
                spellcheck="false"
                placeholder="550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown"
                prop:value=input
                on:input=move |ev| set_input.set(event_target_value(&ev))
            ></textarea>
            {move || verdict.get().map(|v| view! { <VerdictCard verdict=v/> })}
        </section>
    }
}

/// One verdict, laid out for a person: kind first, then what to do and why.
#[component]
fn VerdictCard(verdict: Verdict) -> impl IntoView {
    let kind = verdict.kind.as_str();
    let status = verdict.status.map(|s| format!("{s} — {}", s.title())).unwrap_or_else(|| "none".to_owned());
    let reply_code = verdict.reply_code.map_or_else(|| "none".to_owned(), |c| c.to_string());
    view! {
        <article class="verdict" data-testid="verdict" aria-live="polite">
            <p class=format!("kind kind-{kind}") data-testid="verdict-kind">{kind}</p>
            <dl>
                <dt>"Reason"</dt><dd data-testid="verdict-reason">{verdict.reason.as_str()}</dd>
                <dt>"Action"</dt><dd data-testid="verdict-action">{verdict.action.as_str()}</dd>
                <dt>"Reply code"</dt><dd data-testid="verdict-reply-code">{reply_code}</dd>
                <dt>"Status"</dt><dd data-testid="verdict-status">{status}</dd>
                <dt>"Rule"</dt><dd><code>{verdict.rule}</code></dd>
                <dt>"Evidence"</dt><dd><code>{verdict.evidence}</code></dd>
                <dt>"Confidence"</dt><dd>{verdict.confidence.as_str()}</dd>
            </dl>
        </article>
    }
}
