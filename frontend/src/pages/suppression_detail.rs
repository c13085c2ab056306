//! One suppression opened from the list: the entry, the events that caused it (with the raw text
//! as received), its audit history, and the lift form for operators and admins.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{AuditEntry, Event, LiftSuppression, Outcome, Suppression, SuppressionDetail, SuppressionReason};

use crate::api::{self, ApiFailure};
use crate::app::Session;
use crate::pages::audit::JsonBlock;
use crate::pages::common::{FieldError, FormError, when};

/// The panel for entry `id`; closing it clears `selected`, a lift bumps `refresh` for the list.
#[component]
pub fn DetailPanel(id: i64, selected: RwSignal<Option<i64>>, refresh: RwSignal<u32>) -> impl IntoView {
    let session = expect_context::<Session>();
    let detail = RwSignal::new(None::<Result<SuppressionDetail, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move { detail.set(Some(api::suppression(id).await)) });
    });
    let close_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = close_ref.get() {
            let _ = button.focus();
        }
    });
    let lifted = move || {
        reload.update(|n| *n += 1);
        refresh.update(|n| *n += 1);
    };
    view! {
        <aside class="card detail" aria-labelledby="detail-title" data-testid="detail">
            <div class="detail-head">
                <h2 id="detail-title">"Entry "{id}</h2>
                <button type="button" node_ref=close_ref on:click=move |_| selected.set(None)>"Close"</button>
            </div>
            {move || match detail.get() {
                None => view! { <p aria-live="polite">"Loading…"</p> }.into_any(),
                Some(Err(f)) => view! { <p class="error" role="alert">{f.message}</p> }.into_any(),
                Some(Ok(d)) => {
                    let can_lift = d.suppression.active && session.can_write();
                    let complaint = d.suppression.reason == SuppressionReason::Complaint;
                    view! {
                        <Summary s=d.suppression/>
                        {can_lift.then(|| view! { <LiftForm id=id complaint=complaint on_lifted=lifted/> })}
                        <History entries=d.history/>
                        <Events events=d.events/>
                    }
                    .into_any()
                }
            }}
        </aside>
    }
}

#[component]
fn Summary(s: Suppression) -> impl IntoView {
    let status = if s.active { "active" } else { "lifted" };
    let lifted = s.lifted_at.map(|at| {
        view! {
            <dt>"Lifted"</dt>
            <dd>{when(at)}" by "{s.lifted_by.unwrap_or_default()}": "{s.lift_reason.unwrap_or_default()}</dd>
        }
    });
    view! {
        <dl class="facts">
            <dt>"Address"</dt><dd data-testid="detail-address">{s.address}</dd>
            <dt>"Status"</dt><dd data-testid="detail-status">{status}</dd>
            <dt>"Scope"</dt><dd>{s.scope}</dd>
            <dt>"Reason"</dt><dd>{s.reason.as_str()}</dd>
            <dt>"Source"</dt><dd>{s.source}</dd>
            <dt>"Rule"</dt><dd>{s.rule.unwrap_or_else(|| "none".to_owned())}</dd>
            <dt>"Note"</dt><dd>{s.note.unwrap_or_default()}</dd>
            <dt>"Created"</dt><dd>{when(s.created_at)}</dd>
            {lifted}
        </dl>
    }
}

/// Lifting needs a reason, and for a complaint an explicit confirmation.
#[component]
fn LiftForm(id: i64, complaint: bool, on_lifted: impl Fn() + Copy + 'static) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = LiftSuppression { reason: reason.get_untracked(), confirm_complaint: confirm.get_untracked() };
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::lift_suppression(id, &request).await {
                Ok(_) => on_lifted(),
                Err(f) => failure.set(Some(f)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="lift" on:submit=submit>
            <h3>"Lift"</h3>
            <label for="lift-reason">"Why may it be sent to again?"</label>
            <input id="lift-reason" class="wide" autocomplete="off"
                prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
            <FieldError failure=failure field="reason"/>
            {complaint.then(|| view! {
                <label class="check">
                    <input type="checkbox" prop:checked=confirm on:change=move |ev| confirm.set(event_target_checked(&ev))/>
                    "This is a complaint: I confirm the recipient may be mailed again"
                </label>
                <FieldError failure=failure field="confirm_complaint"/>
            })}
            <FormError failure=failure fields=&["reason", "confirm_complaint"]/>
            <button type="submit" disabled=busy>"Lift"</button>
        </form>
    }
}

#[component]
fn History(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <h3>"History"</h3>
        <ol class="history" data-testid="history">
            {entries.into_iter().map(|e| view! {
                <li data-testid="history-entry">
                    <p><strong class="action">{e.action}</strong>" · "{e.actor}" · "{when(e.at)}</p>
                    {e.reason.map(|r| view! { <p class="reason">"Reason: "{r}</p> })}
                    <JsonBlock label="Before" value=e.before/>
                    <JsonBlock label="After" value=e.after/>
                </li>
            }).collect_view()}
        </ol>
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Suppressed { reason, scope, reopened, .. } => {
            format!("suppressed ({}, {scope}){}", reason.as_str(), if *reopened { ", reopened" } else { "" })
        }
        Outcome::AlreadySuppressed { reason, scope, .. } => {
            format!("already suppressed ({}, {scope})", reason.as_str())
        }
        Outcome::Counted { count, threshold, window_days } => {
            format!("counted {count} of {threshold} in {window_days} days")
        }
        Outcome::Nothing { why } => format!("nothing: {why}"),
    }
}

#[component]
fn Events(events: Vec<Event>) -> impl IntoView {
    view! {
        <h3>"Events"</h3>
        {events.is_empty().then(|| view! { <p class="empty">"No event is linked to this entry."</p> })}
        <ol class="events">
            {events.into_iter().map(|e| view! {
                <li>
                    <p>
                        <span class=format!("kind kind-{}", e.verdict.kind.as_str())>{e.verdict.kind.as_str()}</span>
                        " "{e.verdict.reason.as_str()}" · "{when(e.at)}" · "{e.source}" · "{outcome_text(&e.outcome)}
                    </p>
                    <p class="hint">"Rule "<code>{e.verdict.rule}</code></p>
                    {e.raw.map(|raw| view! { <pre class="raw">{raw}</pre> })}
                </li>
            }).collect_view()}
        </ol>
    }
}
