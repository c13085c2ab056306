//! Recording the classified bounce, or every line of a batch, as events on the server (operators
//! and admins), and showing what the policy did with each: suppressed, counted toward escalation,
//! or nothing and why. The server classifies the events again with the same rules, so its verdicts
//! are the ones shown.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{EventInput, EventResult, Outcome};
use rebound_core::Verdict;

use crate::api::{self, ApiFailure};
use crate::pages::classify::InputKind;
use crate::pages::common::{FieldError, FormError};

/// What the policy did, as a sentence.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Suppressed { reason, scope, reopened, .. } => {
            let again = if *reopened { " (an earlier entry reopened)" } else { "" };
            format!("Suppressed in {scope} as {}{again}.", reason.as_str())
        }
        Outcome::AlreadySuppressed { reason, scope, .. } => {
            format!("Already suppressed in {scope} as {}; the event is kept as more evidence.", reason.as_str())
        }
        Outcome::Counted { count, threshold, window_days } => format!(
            "Counted toward escalation: soft bounce {count} of {threshold} within {window_days} days; \
             it suppresses at {threshold}."
        ),
        Outcome::Nothing { why } => format!("Nothing changed: {why}."),
    }
}

/// The first address in a reply (`<jane@example.com>: ...`), for replies whose verdict names no
/// recipient.
fn address_in(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';'))
        .map(|word| word.trim_end_matches(['.', ':']))
        .find(|word| word.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')))
        .map(str::to_owned)
}

/// The request for the pasted text: a reply needs its recipient; an email names its own.
fn event_for(text: &str, recipient: &str) -> EventInput {
    let recipient = (!recipient.trim().is_empty()).then(|| recipient.trim().to_owned());
    let (reply, message) = match InputKind::of(text) {
        InputKind::Reply => (Some(text.trim().to_owned()), None),
        InputKind::Message => (None, Some(text.to_owned())),
    };
    EventInput { recipient, reply, message, source: Some("console".to_owned()), ..EventInput::default() }
}

/// Records the pasted bounce, or in `batch` mode every line (each line's recipient is the first
/// address in it), and lists what the policy did with each, with the batch's totals.
#[component]
pub fn RecordEvent(input: RwSignal<String>, verdicts: Memo<Vec<Verdict>>, batch: RwSignal<bool>) -> impl IntoView {
    let recipient = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let results = RwSignal::new(Vec::<EventResult>::new());
    // The line of each event of a batch (empty for one bounce).
    let lines = RwSignal::new(Vec::<usize>::new());
    // The recipient the classifier found, until someone types another.
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        let found = verdicts
            .with(|v| v.iter().find_map(|v| v.recipient.clone()))
            .or_else(|| input.with_untracked(|text| address_in(text)));
        if !edited.get_untracked() {
            recipient.set(found.unwrap_or_default());
        }
    });
    Effect::new(move |_| {
        input.track();
        results.set(Vec::new());
        failure.set(None);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (numbers, events) = if batch.get_untracked() {
            input.with_untracked(|text| batch_events(text))
        } else {
            (Vec::new(), vec![event_for(&input.get_untracked(), &recipient.get_untracked())])
        };
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::record_events(events).await {
                Ok(response) => results.set(response.results),
                Err(f) if !numbers.is_empty() => {
                    failure.set(Some(ApiFailure { field: None, ..line_failure(f, &numbers) }))
                }
                Err(f) => failure.set(Some(f)),
            }
            lines.set(numbers);
            busy.set(false);
        });
    };
    view! {
        <form class="card record" on:submit=submit aria-labelledby="record-title">
            <h2 id="record-title">{move || if batch.get() { "Record the lines as events" } else { "Record as an event" }}</h2>
            <p class="hint">"Sends it to the server, which applies the suppression policy."</p>
            <div hidden=batch>
                <label for="record-recipient">"Recipient"</label>
                <input id="record-recipient" inputmode="email" autocomplete="off" placeholder="jane@example.com"
                    prop:value=recipient
                    on:input=move |ev| { edited.set(true); recipient.set(event_target_value(&ev)) }/>
                <FieldError failure=failure field="events[0].recipient"/>
            </div>
            <FormError failure=failure fields=&["events[0].recipient"]/>
            <button type="submit" disabled=busy>{move || if batch.get() { "Record all lines" } else { "Record event" }}</button>
            <p class="ok" role="status" data-testid="batch-totals" hidden=move || lines.with(Vec::is_empty) || results.with(Vec::is_empty)>
                {move || results.with(|r| totals(r))}
            </p>
            <ul class="outcomes" aria-live="polite">
                {move || results.get().into_iter().map(|r| view! {
                    <li data-testid="event-outcome">
                        {lines.with(|l| l.get(r.item).map(|line| format!("Line {line} · ")))}
                        <strong>{r.recipient.unwrap_or_else(|| "no recipient".to_owned())}</strong>
                        " · "{r.verdict.kind.as_str()}" · "{outcome_text(&r.outcome)}
                        {r.duplicate.then_some(" (a repeat: recorded once)")}
                    </li>
                }).collect_view()}
            </ul>
        </form>
    }
}

/// The events of a batch: one per non-empty line, its recipient the first address in the line;
/// with the line number of each.
fn batch_events(text: &str) -> (Vec<usize>, Vec<EventInput>) {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let reply = Some(line.trim().to_owned());
            let event = EventInput {
                recipient: address_in(line),
                reply,
                source: Some("console".to_owned()),
                ..EventInput::default()
            };
            (i + 1, event)
        })
        .unzip()
}

/// The server's message, naming the line when it blamed one event of the batch (`events[3]...`).
fn line_failure(failure: ApiFailure, lines: &[usize]) -> ApiFailure {
    let item =
        failure.field.as_deref().and_then(|f| f.strip_prefix("events[")?.split(']').next()?.parse::<usize>().ok());
    match item.and_then(|i| lines.get(i)) {
        Some(line) => ApiFailure { message: format!("Line {line}: {}", failure.message), ..failure },
        None => failure,
    }
}

/// What the policy did with the whole batch, as a sentence.
fn totals(results: &[EventResult]) -> String {
    let mut counts = [0usize; 4];
    for r in results {
        counts[match r.outcome {
            Outcome::Suppressed { .. } => 0,
            Outcome::AlreadySuppressed { .. } => 1,
            Outcome::Counted { .. } => 2,
            Outcome::Nothing { .. } => 3,
        }] += 1;
    }
    let [suppressed, already, counted, nothing] = counts;
    format!(
        "Recorded {} events: {suppressed} suppressed, {already} already suppressed, \
         {counted} counted toward escalation, {nothing} changed nothing.",
        results.len()
    )
}
