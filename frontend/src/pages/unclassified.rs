//! The Unclassified page: the verdicts no rule explained, grouped by the shape of their text (the
//! server's `GET /unclassified`), largest group first. From a group, staff draft a rule (its
//! pattern prefilled to match the group), test it on the group's examples right here in the
//! browser with the policy in force plus the rule, see what it would change in stored events (the
//! server's preview), and save it to the policy. The answer is read as JSON values, like the
//! dashboard's: typed deserialisers would cost the download more than the page itself.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::Policy;
use rebound_core::Reason;
use rebound_core::rules::{Rule, Scope};
use serde_json::Value;

use crate::api;
use crate::app::Session;
use crate::pages::common::when;
use crate::pages::policy_rules::PreviewBox;

/// One group of the server's answer, as far as the page shows it.
#[derive(Clone, PartialEq)]
struct Group {
    shape: String,
    count: u64,
    recipients: u64,
    last_seen: i64,
    draft_pattern: String,
    examples: Vec<String>,
}

impl Group {
    fn of(v: &Value) -> Self {
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
        Group {
            shape: text("shape"),
            count: v["count"].as_u64().unwrap_or_default(),
            recipients: v["recipients"].as_u64().unwrap_or_default(),
            last_seen: v["last_seen"].as_i64().unwrap_or_default(),
            draft_pattern: text("draft_pattern"),
            examples: v["examples"]
                .as_array()
                .map(|all| all.iter().filter_map(|e| e["text"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        }
    }
}

/// The window read, in hours: the last 7 days (the API takes any window up to 90 days).
const WINDOW_HOURS: u32 = 168;

#[component]
pub fn UnclassifiedPage() -> impl IntoView {
    let found = RwSignal::new(None::<Result<(u64, Vec<Group>), String>>);
    let open = RwSignal::new(None::<Group>);
    Effect::new(move |_| {
        spawn_local(async move {
            let answer = api::unclassified(WINDOW_HOURS).await.map_err(|f| f.message);
            found.set(Some(answer.map(|v| {
                let groups = v["groups"].as_array().map(|g| g.iter().map(Group::of).collect()).unwrap_or_default();
                (v["events_read"].as_u64().unwrap_or_default(), groups)
            })));
        });
    });
    view! {
        <section class="page unclassified">
            <h1>"Unclassified"</h1>
            <p class="hint">"Bounces of the last 7 days that no rule explained, grouped by what they say."</p>
            {move || match found.get() {
                None => view! { <p class="list-state">"Loading…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Some(Ok((_, groups))) if groups.is_empty() => view! {
                    <p class="list-state" data-testid="unclassified-empty">"Nothing unexplained."</p>
                }.into_any(),
                Some(Ok((read, groups))) => view! {
                    <p class="list-state">{format!("{} groups from {read} unexplained events", groups.len())}</p>
                    <table class="groups">
                        <thead><tr><th>"What was said"</th><th>"Events"</th><th>"Recipients"</th><th>"Last seen"</th><th></th></tr></thead>
                        <tbody>
                            {groups.into_iter().map(|g| {
                                let chosen = g.clone();
                                view! {
                                    <tr data-testid="unclassified-group">
                                        <td class="mono" data-testid="group-shape">{g.shape.clone()}</td>
                                        <td>{g.count}</td>
                                        <td>{g.recipients}</td>
                                        <td>{when(g.last_seen)}</td>
                                        <td><button type="button" class="secondary" on:click=move |_| open.set(Some(chosen.clone()))>"Write a rule"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            {move || open.get().map(|group| view! { <RuleDraft group=group/> })}
        </section>
    }
}

/// A rule drafted from a group: tested on its examples in the browser, previewed on stored events,
/// saved to the policy.
#[component]
fn RuleDraft(group: Group) -> impl IntoView {
    let session = expect_context::<Session>();
    let pattern = RwSignal::new(group.draft_pattern.clone());
    let reason = RwSignal::new(Reason::Blocked);
    let policy = RwSignal::new(None::<Result<Policy, String>>);
    let saved = RwSignal::new(None::<Result<(), String>>);
    spawn_local(async move { policy.set(Some(api::policy().await.map_err(|f| f.message))) });
    // The policy in force with this rule added after the staff rules already there.
    let proposed = move || {
        let mut p = policy.get()?.ok()?;
        let id = format!("unclassified_{}", p.rules.len() + 1);
        p.rules.push(Rule { id, pattern: pattern.get(), reason: reason.get(), scope: Scope::default() });
        Some(p)
    };
    let examples = group.examples.clone();
    let tested = move || {
        let p = proposed()?;
        Some(match p.classifier() {
            Err(e) => Err(e.message),
            Ok(c) => Ok(examples.iter().map(|text| (text.clone(), c.classify_reply(text))).collect::<Vec<_>>()),
        })
    };
    // The policy page's preview, of the policy with this rule.
    let draft = RwSignal::new(None::<Policy>);
    Effect::new(move |_| draft.set(proposed()));
    let save = move |_| {
        let Some(p) = proposed() else { return };
        spawn_local(async move { saved.set(Some(api::save_policy(&p).await.map(drop).map_err(|f| f.message))) });
    };
    view! {
        <div class="card" data-testid="rule-draft">
            <h2>"A rule for this group"</h2>
            <p class="mono">{group.shape.clone()}</p>
            <label for="draft-reason">"Reason"</label>
            <select id="draft-reason" on:change=move |ev| if let Ok(r) = event_target_value(&ev).parse() { reason.set(r) }>
                {Reason::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == Reason::Blocked>{r.as_str()}</option> }).collect_view()}
            </select>
            <label for="draft-pattern">"Pattern"</label>
            <input id="draft-pattern" class="wide mono" autocomplete="off" spellcheck="false" prop:value=pattern
                on:input=move |ev| pattern.set(event_target_value(&ev))/>
            <h3>"On the group's examples"</h3>
            <ul class="outcomes" aria-live="polite" data-testid="draft-test-result">
                {move || match tested() {
                    None => None,
                    Some(Err(message)) => Some(view! { <li class="error">{message}</li> }.into_any()),
                    Some(Ok(results)) => Some(results.into_iter().map(|(text, v)| view! {
                        <li><strong class=format!("kind-{}", v.kind.as_str())>{v.kind.as_str()}</strong>
                            " · "{v.reason.as_str()}" · rule "<code>{v.rule}</code>" · "<span class="mono">{text}</span></li>
                    }).collect_view().into_any()),
                }}
            </ul>
            <PreviewBox draft=draft/>
            <Show when=move || session.is_admin()
                fallback=|| view! { <p class="hint" data-testid="read-only">"Only an admin may save a rule."</p> }>
                <button type="button" on:click=save>"Save the rule"</button>
            </Show>
            {move || saved.get().map(|s| match s {
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Ok(()) => view! { <p data-testid="draft-saved">"Saved to the policy."</p> }.into_any(),
            })}
        </div>
    }
}
