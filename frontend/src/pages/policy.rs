//! Thresholds and policy: the soft-bounce escalation, per-reason overrides, the reason → kind
//! table and the staff classification rules (see `policy_rules`), and the alert thresholds (see
//! `policy_alerts`, a setting of their own, saved with the rest when changed). Everyone signed in
//! reads it; only admins save. The server validates every save and names the field at fault, and
//! the error is shown next to that field.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::Policy;
use rebound_core::{Kind, Reason};
use rebound_policy::policy::SoftOverride;
use serde_json::Value;

use crate::api::{self, ApiFailure};
use crate::app::Session;
use crate::pages::common::{FieldError, FormError};
use crate::pages::policy_alerts::AlertThresholds;
use crate::pages::policy_rules::{PreviewBox, RulesEditor, TestBox};

/// A number typed into a field; 0 (which the server refuses, naming the field) when it is not one.
/// The inputs carry no `min`/`max`: the browser's own check would block the save and hide the
/// server's message about the field.
pub fn number(ev: &leptos::ev::Event) -> u32 {
    event_target_value(ev).trim().parse().unwrap_or(0)
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let draft = RwSignal::new(None::<Policy>);
    let alerts = RwSignal::new(None::<Value>);
    // What the server holds: a save sends only what differs (each save is audited).
    let held = StoredValue::new((None::<Policy>, None::<Value>));
    let load_error = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    spawn_local(async move {
        match (api::policy().await, api::monitoring().await) {
            (Ok(policy), Ok(settings)) => {
                held.try_set_value((Some(policy.clone()), Some(settings.clone())));
                draft.try_set(Some(policy));
                alerts.try_set(Some(settings));
            }
            (Err(f), _) | (_, Err(f)) => {
                load_error.try_set(Some(f.message));
            }
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (old_policy, old_alerts) = held.get_value();
        let policy = draft.get_untracked().filter(|p| old_policy.as_ref() != Some(p));
        let settings = alerts.get_untracked().filter(|s| old_alerts.as_ref() != Some(s));
        busy.set(true);
        failure.set(None);
        saved.set(false);
        spawn_local(async move {
            let result = async {
                if let Some(policy) = policy {
                    let stored = api::save_policy(&policy).await?;
                    held.update_value(|h| h.0 = Some(stored.clone()));
                    draft.set(Some(stored));
                }
                if let Some(settings) = settings {
                    let stored = api::save_monitoring(&settings).await?;
                    held.update_value(|h| h.1 = Some(stored.clone()));
                    alerts.set(Some(stored));
                }
                Ok(())
            };
            match result.await {
                Ok(()) => saved.set(true),
                Err(f) => failure.set(Some(f)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="page policy">
            <h1>"Thresholds and policy"</h1>
            <p class="hint">"A saved policy applies to events received afterwards; stored events keep their verdicts."</p>
            {move || load_error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            {move || (draft.with(Option::is_none) && load_error.with(Option::is_none)).then(|| view! { <p class="list-state">"Loading…"</p> })}
            <Show when=move || draft.with(Option::is_some)>
                <form on:submit=save on:input=move |_| saved.set(false)>
                    <fieldset class="plain" disabled=move || !session.is_admin()>
                        <Escalation draft=draft failure=failure/>
                        <Overrides draft=draft failure=failure/>
                        <KindTableEditor draft=draft/>
                        <RulesEditor draft=draft failure=failure/>
                        <AlertThresholds draft=alerts failure=failure/>
                    </fieldset>
                    <FormError failure=failure fields=&[]/>
                    <Show when=move || session.is_admin()
                        fallback=|| view! { <p class="hint" data-testid="read-only">"Only an admin may change the policy."</p> }>
                        <button type="submit" disabled=busy>"Save policy"</button>
                    </Show>
                    {move || saved.get().then(|| view! { <p class="ok" role="status" data-testid="policy-saved">"Saved. New events follow this policy."</p> })}
                </form>
                <TestBox draft=draft/>
                <PreviewBox draft=draft/>
            </Show>
        </section>
    }
}

/// The soft-bounce escalation: how many soft bounces within how many days suppress.
#[component]
fn Escalation(draft: RwSignal<Option<Policy>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let get = move |f: fn(&Policy) -> u32| move || draft.with(|p| p.as_ref().map_or(0, f));
    let set = move |f: fn(&mut Policy, u32)| {
        move |ev: leptos::ev::Event| draft.update(|p| p.iter_mut().for_each(|p| f(p, number(&ev))))
    };
    view! {
        <div class="card">
            <h2>"Soft-bounce escalation"</h2>
            <div class="row">
                <div>
                    <label for="soft-threshold">"Soft bounces that suppress"</label>
                    <input id="soft-threshold" type="number" inputmode="numeric"
                        prop:value=get(|p| p.soft_threshold) on:change=set(|p, v| p.soft_threshold = v)/>
                    <FieldError failure=failure field="soft_threshold"/>
                </div>
                <div>
                    <label for="soft-window">"Within days"</label>
                    <input id="soft-window" type="number" inputmode="numeric"
                        prop:value=get(|p| p.soft_window_days) on:change=set(|p, v| p.soft_window_days = v)/>
                    <FieldError failure=failure field="soft_window_days"/>
                </div>
            </div>
            <label class="check">
                <input type="checkbox" prop:checked=move || draft.with(|p| p.as_ref().is_some_and(|p| p.soft_reset_on_delivery))
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|p| p.iter_mut().for_each(|p| p.soft_reset_on_delivery = on)) }/>
                "A delivery restarts the count"
            </label>
            <label class="check">
                <input type="checkbox" prop:checked=move || draft.with(|p| p.as_ref().is_some_and(|p| p.count_unknown_failures))
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|p| p.iter_mut().for_each(|p| p.count_unknown_failures = on)) }/>
                "Unexplained permanent failures (5xx the rules cannot read) count like soft bounces"
            </label>
        </div>
    }
}

/// Per-reason replacements of the escalation.
#[component]
fn Overrides(draft: RwSignal<Option<Policy>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let count = move || draft.with(|p| p.as_ref().map_or(0, |p| p.soft_overrides.len()));
    let add = move |_| {
        draft.update(|p| {
            if let Some(p) = p {
                let (threshold, window_days) = (p.soft_threshold, p.soft_window_days);
                p.soft_overrides.push(SoftOverride { reason: Reason::MailboxFull, threshold, window_days });
            }
        })
    };
    view! {
        <div class="card">
            <h2>"Per-reason overrides"</h2>
            <For each=move || 0..count() key=|i| *i let(i)>
                <OverrideRow i=i draft=draft failure=failure/>
            </For>
            <button type="button" class="secondary" on:click=add>"Add an override"</button>
        </div>
    }
}

#[component]
fn OverrideRow(i: usize, draft: RwSignal<Option<Policy>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let with = move |f: fn(&SoftOverride) -> String| {
        move || draft.with(|p| p.as_ref().and_then(|p| p.soft_overrides.get(i)).map(f).unwrap_or_default())
    };
    let edit = move |f: &dyn Fn(&mut SoftOverride)| {
        draft.update(|p| p.iter_mut().filter_map(|p| p.soft_overrides.get_mut(i)).for_each(f))
    };
    let remove = move |_| {
        draft.update(|p| {
            p.iter_mut().for_each(|p| {
                if i < p.soft_overrides.len() {
                    p.soft_overrides.remove(i);
                }
            })
        })
    };
    view! {
        <div class="row override" data-testid="override-row">
            <div>
                <label for=format!("override-{i}-reason")>"Reason"</label>
                <select id=format!("override-{i}-reason") prop:value=with(|o| o.reason.as_str().to_owned())
                    on:change=move |ev| { if let Ok(r) = event_target_value(&ev).parse::<Reason>() { edit(&|o| o.reason = r) } }>
                    {Reason::ALL.iter().filter(|r| r.default_kind() == Kind::Soft).map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                </select>
                <FieldError failure=failure field=format!("soft_overrides[{i}].reason")/>
            </div>
            <div>
                <label for=format!("override-{i}-threshold")>"Soft bounces"</label>
                <input id=format!("override-{i}-threshold") type="number" inputmode="numeric" prop:value=with(|o| o.threshold.to_string())
                    on:change=move |ev| { let v = number(&ev); edit(&|o| o.threshold = v) }/>
                <FieldError failure=failure field=format!("soft_overrides[{i}].threshold")/>
            </div>
            <div>
                <label for=format!("override-{i}-window")>"Within days"</label>
                <input id=format!("override-{i}-window") type="number" inputmode="numeric" prop:value=with(|o| o.window_days.to_string())
                    on:change=move |ev| { let v = number(&ev); edit(&|o| o.window_days = v) }/>
                <FieldError failure=failure field=format!("soft_overrides[{i}].window_days")/>
            </div>
            <div><button type="button" class="secondary" on:click=remove>"Remove"</button></div>
        </div>
    }
}

/// The reason → kind table: every reason with its kind; a row that differs from the default is
/// stored as an override.
#[component]
fn KindTableEditor(draft: RwSignal<Option<Policy>>) -> impl IntoView {
    let row = move |reason: Reason| {
        let current = move || {
            draft.with(|p| p.as_ref().and_then(|p| p.kinds.get(&reason).copied()).unwrap_or(reason.default_kind()))
        };
        let change = move |ev: leptos::ev::Event| {
            let Ok(kind) = event_target_value(&ev).parse::<Kind>() else { return };
            draft.update(|p| {
                p.iter_mut().for_each(|p| {
                    if kind == reason.default_kind() {
                        p.kinds.remove(&reason);
                    } else {
                        p.kinds.insert(reason, kind);
                    }
                })
            });
        };
        let id = format!("kind-{}", reason.as_str());
        view! {
            <tr>
                <th scope="row"><label for=id.clone()>{reason.as_str()}</label></th>
                <td><select id=id prop:value=move || current().as_str() on:change=change>
                    {Kind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                </select></td>
                <td class="hint">{move || (current() != reason.default_kind()).then(|| format!("default: {}", reason.default_kind()))}</td>
            </tr>
        }
    };
    view! {
        <details class="card">
            <summary><h2 class="inline">"Reason → kind table"</h2></summary>
            <table class="list kinds"><tbody>{Reason::ALL.iter().map(|r| row(*r)).collect_view()}</tbody></table>
        </details>
    }
}
