//! The staff classification rules of the policy page: an ordered list (first match wins, before
//! the built-in rules), a test box that classifies with the edited, unsaved policy right here in
//! the browser, and the server's preview of how many stored events the change would reclassify.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{Policy, PolicyPreview};
use rebound_core::Reason;
use rebound_core::rules::{Rule, Scope};

use crate::api::{self, ApiFailure};
use crate::pages::classify::InputKind;
use crate::pages::common::FieldError;

/// "4, 5xx" → `[4, 5]`; a class that is not a number becomes 0, which the server refuses by name.
fn classes(text: &str) -> Vec<u8> {
    text.split([',', ' ']).filter(|c| !c.is_empty()).map(|c| c.trim_end_matches("xx").parse().unwrap_or(0)).collect()
}

fn list(text: &str) -> Vec<String> {
    text.split([',', ' ']).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

/// A change to one rule from the text of one of its controls.
type RuleEdit = Box<dyn Fn(&mut Rule, String)>;

fn new_rule(n: usize) -> Rule {
    Rule { id: format!("staff_rule_{n}"), pattern: String::new(), reason: Reason::Blocked, scope: Scope::default() }
}

#[component]
pub fn RulesEditor(draft: RwSignal<Option<Policy>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let count = move || draft.with(|p| p.as_ref().map_or(0, |p| p.rules.len()));
    let add = move |_| draft.update(|p| p.iter_mut().for_each(|p| p.rules.push(new_rule(p.rules.len() + 1))));
    view! {
        <div class="card">
            <h2>"Staff classification rules"</h2>
            <p class="hint">"Checked in this order before the built-in rules; the first that matches decides. \
                Patterns are case-insensitive regular expressions."</p>
            <FieldError failure=failure field="rules"/>
            <For each=move || 0..count() key=|i| *i let(i)>
                <RuleRow i=i draft=draft failure=failure/>
            </For>
            <button type="button" class="secondary" on:click=add>"Add a rule"</button>
        </div>
    }
}

#[component]
fn RuleRow(i: usize, draft: RwSignal<Option<Policy>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let show = move |f: fn(&Rule) -> String| {
        move || draft.with(|p| p.as_ref().and_then(|p| p.rules.get(i)).map(f).unwrap_or_default())
    };
    let edit = move |f: RuleEdit| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            draft.update(|p| p.iter_mut().filter_map(|p| p.rules.get_mut(i)).for_each(|r| f(r, value.clone())));
        }
    };
    let reorder = move |to: Option<usize>| {
        draft.update(|p| {
            p.iter_mut().for_each(|p| match to {
                Some(j) if j < p.rules.len() && i < p.rules.len() => p.rules.swap(i, j),
                None if i < p.rules.len() => {
                    p.rules.remove(i);
                }
                _ => {}
            })
        })
    };
    let field = |part: &str| format!("rules[{i}].{part}");
    let id = |part: &str| format!("rule-{i}-{part}");
    view! {
        <fieldset class="rule" data-testid="rule-row">
            <legend>{format!("Rule {}", i + 1)}</legend>
            <div class="row">
                <div>
                    <label for=id("id")>"Id"</label>
                    <input id=id("id") autocomplete="off" prop:value=show(|r| r.id.clone()) on:change=edit(Box::new(|r, v| r.id = v))/>
                    <FieldError failure=failure field=field("id")/>
                </div>
                <div>
                    <label for=id("reason")>"Reason"</label>
                    <select id=id("reason") prop:value=show(|r| r.reason.as_str().to_owned())
                        on:change=edit(Box::new(|r, v| if let Ok(reason) = v.parse() { r.reason = reason }))>
                        {Reason::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <label for=id("pattern")>"Pattern"</label>
            <input id=id("pattern") class="wide mono" autocomplete="off" spellcheck="false" placeholder="over ?quota"
                prop:value=show(|r| r.pattern.clone()) on:change=edit(Box::new(|r, v| r.pattern = v))/>
            <FieldError failure=failure field=field("pattern")/>
            <div class="row">
                <div>
                    <label for=id("classes")>"Reply classes"</label>
                    <input id=id("classes") autocomplete="off" placeholder="any (or 4, 5)"
                        prop:value=show(|r| r.scope.classes.iter().map(u8::to_string).collect::<Vec<_>>().join(", "))
                        on:change=edit(Box::new(|r, v| r.scope.classes = classes(&v)))/>
                </div>
                <div>
                    <label for=id("commands")>"SMTP commands"</label>
                    <input id=id("commands") autocomplete="off" placeholder="any (or rcpt, data)"
                        prop:value=show(|r| r.scope.commands.join(", ")) on:change=edit(Box::new(|r, v| r.scope.commands = list(&v)))/>
                </div>
                <div>
                    <label for=id("provider")>"Provider domain"</label>
                    <input id=id("provider") autocomplete="off" placeholder="any (or yahoo.com)"
                        prop:value=show(|r| r.scope.provider.clone().unwrap_or_default())
                        on:change=edit(Box::new(|r, v| r.scope.provider = (!v.trim().is_empty()).then(|| v.trim().to_owned())))/>
                </div>
            </div>
            <FieldError failure=failure field=field("scope")/>
            <div class="buttons">
                <button type="button" class="secondary" disabled=move || i == 0 on:click=move |_| reorder(i.checked_sub(1))>"Move up"</button>
                <button type="button" class="secondary" on:click=move |_| reorder(Some(i + 1))>"Move down"</button>
                <button type="button" class="secondary" on:click=move |_| reorder(None)>"Remove"</button>
            </div>
        </fieldset>
    }
}

/// Classifies a sample with the edited policy, before it is saved.
#[component]
pub fn TestBox(draft: RwSignal<Option<Policy>>) -> impl IntoView {
    let sample = RwSignal::new(String::new());
    let result = move || {
        let text = sample.get();
        if text.trim().is_empty() {
            return None;
        }
        draft.with(|p| {
            p.as_ref().map(|p| match p.classifier() {
                Err(e) => Err(format!("This policy does not compile: {e}")),
                Ok(c) => Ok(match InputKind::of(&text) {
                    InputKind::Reply => vec![c.classify_reply(text.trim())],
                    InputKind::Message => c.classify_message(text.as_bytes()),
                }),
            })
        })
    };
    view! {
        <div class="card">
            <h2>"Test the edited rules"</h2>
            <label for="rule-test">"A reply or bounce to classify with the policy above, unsaved"</label>
            <textarea id="rule-test" rows="3" spellcheck="false" prop:value=sample
                on:input=move |ev| sample.set(event_target_value(&ev))></textarea>
            <ul class="outcomes" aria-live="polite" data-testid="rule-test-result">
                {move || match result() {
                    None => None,
                    Some(Err(message)) => Some(view! { <li class="error">{message}</li> }.into_any()),
                    Some(Ok(verdicts)) => Some(verdicts.into_iter().map(|v| view! {
                        <li><strong class=format!("kind-{}", v.kind.as_str())>{v.kind.as_str()}</strong>
                            " · "{v.reason.as_str()}" · rule "<code>{v.rule}</code></li>
                    }).collect_view().into_any()),
                }}
            </ul>
        </div>
    }
}

/// The server's answer to "what would this policy change in the stored events?".
#[component]
pub fn PreviewBox(draft: RwSignal<Option<Policy>>) -> impl IntoView {
    let preview = RwSignal::new(None::<Result<PolicyPreview, String>>);
    let busy = RwSignal::new(false);
    let run = move |_| {
        let Some(policy) = draft.get_untracked() else { return };
        busy.set(true);
        spawn_local(async move {
            preview.set(Some(api::preview_policy(&policy).await.map_err(|f| f.message)));
            busy.set(false);
        });
    };
    view! {
        <div class="card">
            <h2>"Preview against stored events"</h2>
            <button type="button" class="secondary" disabled=busy on:click=run>"Preview the change"</button>
            {move || preview.get().map(|p| match p {
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Ok(p) => view! {
                    <p data-testid="preview-result">{format!("Would change {} of the {} most recent stored events.", p.changed, p.events_checked)}</p>
                    <ul>{p.by_change.into_iter().map(|(change, n)| view! { <li>{format!("{change}: {n}")}</li> }).collect_view()}</ul>
                }.into_any(),
            })}
        </div>
    }
}
