//! The classify page: paste an SMTP reply, a whole bounce email (or drop an .eml file) or a
//! provider's webhook JSON, and see the verdict as you type; or many replies, one per line, as a
//! table. The classifier runs here, in the browser (the wasm build of `rebound-core`, with the
//! server's rules, see `rules`): classifying sends nothing, so it works offline. Recording the
//! bounce, or the batch's lines, as events is the one step that asks the server.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_core::Verdict;
use wasm_bindgen_futures::JsFuture;

use crate::app::Session;
use crate::pages::classify_result::{BatchTable, VerdictCard};
use crate::pages::record_event::RecordEvent;
use crate::rules::{Rules, use_rules};

/// What the pasted text is, which decides the classifier's entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// One SMTP reply as an MTA logged it.
    Reply,
    /// A whole email (headers first) or a provider's webhook JSON.
    Message,
}

impl InputKind {
    /// A message starts with a header line (`Name: value`) and has more lines after it, or is
    /// JSON; anything else is read as a reply.
    pub fn of(text: &str) -> Self {
        let text = text.trim_start();
        if text.starts_with('{') || text.starts_with('[') {
            return InputKind::Message;
        }
        let mut lines = text.lines();
        let first_is_header = lines
            .next()
            .and_then(|l| l.split_once(':'))
            .is_some_and(|(name, _)| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if first_is_header && lines.next().is_some() { InputKind::Message } else { InputKind::Reply }
    }

    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Reply => "Read as an SMTP reply.",
            InputKind::Message => "Read as a whole bounce email or provider event.",
        }
    }
}

/// The verdicts for `text` under `rules`: one per recipient of a message, one for a reply.
fn classify(rules: &Rules, text: &str) -> Vec<Verdict> {
    match InputKind::of(text) {
        InputKind::Reply => vec![rules.classifier().classify_reply(text.trim())],
        InputKind::Message => rules.classifier().classify_message(text.as_bytes()),
    }
}

#[component]
pub fn ClassifyPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let rules = use_rules();
    let input = RwSignal::new(String::new());
    let batch = RwSignal::new(false);
    let verdicts = Memo::new(move |_| {
        input.with(|text| {
            if text.trim().is_empty() || batch.get() {
                return Vec::new();
            }
            rules.with(|r| classify(r, text))
        })
    });
    view! {
        <section class="page classify">
            <h1>"Classify a bounce"</h1>
            <p class="hint">
                "Paste an SMTP reply, a whole bounce email or a provider's webhook JSON, or drop an .eml file. "
                "It is classified in your browser; nothing is sent."
            </p>
            <p class="rules-source" data-testid="rules-source">{move || rules.with(|r| r.source.describe())}</p>
            <fieldset class="modes">
                <legend>"Mode"</legend>
                <label class="check"><input type="radio" name="mode" checked=move || !batch.get()
                    on:change=move |_| batch.set(false)/>"One bounce"</label>
                <label class="check"><input type="radio" name="mode" checked=move || batch.get()
                    on:change=move |_| batch.set(true)/>"Batch: one reply per line"</label>
            </fieldset>
            <BounceInput input=input batch=batch/>
            <Show when=move || batch.get()>
                <BatchTable input=input rules=rules/>
            </Show>
            <Show when=move || !batch.get() && !input.with(|t| t.trim().is_empty())>
                <p class="hint" data-testid="input-kind">{move || input.with(|t| InputKind::of(t).describe())}</p>
                {move || verdicts.get().into_iter().map(|verdict| view! { <VerdictCard verdict=verdict text=input/> }).collect_view()}
            </Show>
            <Show when=move || session.can_write() && !input.with(|t| t.trim().is_empty())>
                <RecordEvent input=input verdicts=verdicts batch=batch/>
            </Show>
        </section>
    }
}

/// The text area, which also takes a dropped file, and a file picker for keyboard users.
#[component]
fn BounceInput(input: RwSignal<String>, batch: RwSignal<bool>) -> impl IntoView {
    let read_file = move |file: web_sys::File| {
        spawn_local(async move {
            if let Ok(text) = JsFuture::from(file.text()).await {
                input.set(text.as_string().unwrap_or_default());
            }
        });
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            read_file(file);
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let picked = event_target::<web_sys::HtmlInputElement>(&ev).files().and_then(|f| f.get(0));
        if let Some(file) = picked {
            read_file(file);
        }
    };
    view! {
        <label for="reply">{move || if batch.get() { "SMTP replies, one per line" } else { "SMTP reply, bounce email or webhook JSON" }}</label>
        <textarea
            id="reply"
            data-testid="reply-input"
            rows=move || if batch.get() { "12" } else { "8" }
            spellcheck="false"
            placeholder="550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown"
            prop:value=input
            on:input=move |ev| input.set(event_target_value(&ev))
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        ></textarea>
        <label for="eml-file" class="inline">"Or open a file (.eml, .txt, .json)"</label>
        <input id="eml-file" type="file" accept=".eml,.txt,.json,message/rfc822,text/plain,application/json"
            data-testid="eml-file" on:change=on_pick/>
    }
}
