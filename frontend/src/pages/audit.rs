//! The audit log: every change to the list, settings, keys and accounts, newest first, filtered by
//! actor, action and target, each with its values before and after; and whether the hash chain
//! that makes the log tamper-evident still verifies.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{AuditEntry, AuditVerification};
use serde_json::Value;

use crate::api::{self, ApiFailure, AuditFilter};
use crate::pages::common::when;

/// A change's JSON value, pretty-printed as text (never markup), or nothing when absent.
#[component]
pub fn JsonBlock(label: &'static str, value: Option<Value>) -> impl IntoView {
    value.map(|v| {
        let text = serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string());
        view! {
            <details class="json">
                <summary>{label}</summary>
                <pre>{text}</pre>
            </details>
        }
    })
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let applied = RwSignal::new(AuditFilter::default());
    let items = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |cursor: Option<String>| {
        let filter = applied.get_untracked();
        loading.set(true);
        error.set(None);
        spawn_local(async move {
            match api::audit(&filter, cursor.as_deref()).await {
                Ok(page) => {
                    if cursor.is_none() {
                        items.set(page.items);
                    } else {
                        items.update(|all| all.extend(page.items));
                    }
                    next.set(page.next_cursor);
                }
                Err(f) => error.set(Some(f.message)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| {
        applied.track();
        load(None);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set(AuditFilter {
            actor: actor.get_untracked(),
            action: action.get_untracked(),
            target: target.get_untracked(),
        });
    };
    view! {
        <section class="page audit">
            <h1>"Audit log"</h1>
            <ChainStatus/>
            <form class="filters" role="search" on:submit=submit>
                <div>
                    <label for="audit-actor">"Actor"</label>
                    <input id="audit-actor" autocomplete="off" placeholder="user:admin"
                        prop:value=actor on:input=move |ev| actor.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="audit-action">"Action"</label>
                    <input id="audit-action" autocomplete="off" placeholder="suppression"
                        prop:value=action on:input=move |ev| action.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="audit-target">"Target"</label>
                    <input id="audit-target" autocomplete="off" placeholder="global:jane@example.com"
                        prop:value=target on:input=move |ev| target.set(event_target_value(&ev))/>
                </div>
                <div><button type="submit">"Filter"</button></div>
            </form>
            {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <ol class="history audit-list" aria-busy=move || loading.get().to_string()>
                {move || items.get().into_iter().map(|e| view! { <AuditRow e=e/> }).collect_view()}
            </ol>
            <p class="list-state" aria-live="polite">
                {move || if loading.get() {
                    "Loading…".to_owned()
                } else if items.with(Vec::is_empty) && error.with(Option::is_none) {
                    "No change matches.".to_owned()
                } else {
                    format!("{} shown", items.with(Vec::len))
                }}
            </p>
            <Show when=move || next.with(Option::is_some)>
                <button type="button" data-testid="load-more" disabled=move || loading.get()
                    on:click=move |_| load(next.get_untracked())>"Load more"</button>
            </Show>
        </section>
    }
}

#[component]
fn AuditRow(e: AuditEntry) -> impl IntoView {
    view! {
        <li data-testid="audit-entry">
            <p>
                <strong class="action" data-testid="audit-action">{e.action}</strong>" · "
                <span data-testid="audit-target">{e.target}</span>" · "{e.actor}" · "{when(e.at)}" · #"{e.id}
            </p>
            {e.reason.map(|r| view! { <p class="reason">"Reason: "{r}</p> })}
            <JsonBlock label="Before" value=e.before/>
            <JsonBlock label="After" value=e.after/>
        </li>
    }
}

/// The result of `GET /audit/verify`, checked when the page opens.
#[component]
fn ChainStatus() -> impl IntoView {
    let result = RwSignal::new(None::<Result<AuditVerification, ApiFailure>>);
    spawn_local(async move { result.set(Some(api::verify_audit().await)) });
    view! {
        <p class="chain" role="status" data-testid="chain-status">
            {move || match result.get() {
                None => "Checking the hash chain…".to_owned(),
                Some(Ok(v)) if v.ok => format!("Chain verified: {} rows, unaltered.", v.rows),
                Some(Ok(v)) if v.first_bad_id.is_none() => format!(
                    "Chain holds ({} rows), but the database's guards are missing ({}): the log can be rewritten.",
                    v.rows,
                    v.missing_guards.join(", ")
                ),
                Some(Ok(v)) => format!(
                    "Chain broken at row {} of {}: the log was altered there.",
                    v.first_bad_id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
                    v.rows
                ),
                Some(Err(f)) => format!("The chain could not be checked: {}", f.message),
            }}
        </p>
    }
}
