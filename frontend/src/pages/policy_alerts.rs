//! The alert thresholds of the policy page: warning and critical levels per metric and scope,
//! what a critical level does, the window, the minimum volume and the hysteresis, with the
//! mission's industry presets filling in the overall bounce rate's levels. They are a setting of
//! their own (`/settings/monitoring`), which the policy page loads and saves with the policy; the
//! server validates every save and its error is shown next to the field it names.
//!
//! The settings are edited as JSON, each control bound to a field by the server's name for it
//! (`thresholds[2].warning`): one small control for every field, where typed bindings would need a
//! control per field type; and what is typed goes to the server as typed, so its validation (a
//! scope it cannot read, say) names the field. A preset is applied by `MonitoringSettings`' own
//! `apply_preset`, on the draft read as typed settings and written back, so the page keeps no
//! copy of the rule.

use leptos::prelude::*;
use rebound_api::v1::{AlertAction, AlertScope, Metric, MonitoringSettings, PRESETS, Preset, Threshold};
use serde_json::Value;

use crate::api::ApiFailure;
use crate::pages::common::FieldError;

/// The field `key` of the settings, or of their threshold `row`.
fn at<'a>(settings: &'a Value, row: Option<usize>, key: &str) -> Option<&'a Value> {
    match row {
        Some(i) => settings.get("thresholds")?.get(i)?.get(key),
        None => settings.get(key),
    }
}

/// The same field, to change it.
fn at_mut<'a>(settings: &'a mut Value, row: Option<usize>, key: &str) -> Option<&'a mut Value> {
    match row {
        Some(i) => settings.get_mut("thresholds")?.get_mut(i)?.get_mut(key),
        None => settings.get_mut(key),
    }
}

/// The draft with the overall bounce rate's levels from an industry preset. A draft that does not
/// read as settings (a scope half typed, say) is refused with the reason, as the preset could not
/// be applied to it.
fn with_preset(draft: &Value, preset: &Preset) -> Result<Value, String> {
    let mut settings = serde_json::from_value::<MonitoringSettings>(draft.clone()).map_err(|e| e.to_string())?;
    settings.apply_preset(preset);
    serde_json::to_value(settings).map_err(|e| e.to_string())
}

/// The thresholds, the window, the minimum volume, the hysteresis and the presets, editing
/// `draft` (the settings as the server sent them).
#[component]
pub fn AlertThresholds(draft: RwSignal<Option<Value>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let count = move || draft.with(|d| d.as_ref().and_then(|d| d["thresholds"].as_array()).map_or(0, Vec::len));
    let edit = move |change: &dyn Fn(&mut Value)| draft.update(|d| d.iter_mut().for_each(change));
    let refused = RwSignal::new(None::<String>);
    let preset = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        let Some(preset) = PRESETS.iter().find(|p| p.id == id) else { return };
        let applied = draft.with_untracked(|d| d.as_ref().map(|d| with_preset(d, preset)));
        match applied {
            Some(Ok(settings)) => draft.set(Some(settings)),
            Some(Err(why)) => refused.set(Some(format!("Correct the thresholds before choosing a preset: {why}"))),
            None => {}
        }
    };
    let add = move |_| {
        let added = Threshold {
            metric: Metric::BounceRate,
            scope: AlertScope::EachCampaign,
            warning: 5.0,
            critical: 10.0,
            action: AlertAction::Notify,
        };
        edit(&|d| {
            if let (Some(thresholds), Ok(added)) = (d["thresholds"].as_array_mut(), serde_json::to_value(&added)) {
                thresholds.push(added);
            }
        })
    };
    let remove = move |i: usize| {
        edit(&|d| {
            if let Some(thresholds) = d["thresholds"].as_array_mut().filter(|t| i < t.len()) {
                thresholds.remove(i);
            }
        })
    };
    let metrics = || Metric::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>();
    let actions = || AlertAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    // Any change in the card makes a refused preset's reason stale (choosing one fires `input` first).
    view! {
        <div class="card" on:input=move |_| refused.set(None)>
            <h2>"Alert thresholds"</h2>
            <p class="hint">"Rates over the rolling window, in percent of attempts (list growth: of the list, per day). \
                A warning notifies; a critical level notifies or pauses sending to its scope."</p>
            <label for="alert-preset">"Industry preset for the overall bounce rate (warning at the target, critical at the limit)"</label>
            <select id="alert-preset" on:change=preset>
                <option value="">"Choose an industry…"</option>
                {PRESETS.iter().map(|p| view! {
                    <option value=p.id>{format!("{}: {}% / {}%", p.name, Value::from(p.warning), Value::from(p.critical))}</option>
                }).collect_view()}
            </select>
            {move || refused.get().map(|why| view! { <p class="error field-error" role="alert" data-testid="error-preset">{why}</p> })}
            <div class="row">
                <Cell draft=draft failure=failure key="window_hours" label="Window (hours)"/>
                <Cell draft=draft failure=failure key="min_volume" label="Fewest attempts that can alert"/>
                <Cell draft=draft failure=failure key="hysteresis" label="Hysteresis (fraction of a level)"/>
            </div>
            <For each=move || 0..count() key=|i| *i let(i)>
                <div class="row threshold" data-testid="threshold-row">
                    <Cell draft=draft failure=failure row=i key="metric" label="Metric" choices=metrics()/>
                    <Cell draft=draft failure=failure row=i key="scope" label="Scope" text=true/>
                    <Cell draft=draft failure=failure row=i key="warning" label="Warning at (%)"/>
                    <Cell draft=draft failure=failure row=i key="critical" label="Critical at (%)"/>
                    <Cell draft=draft failure=failure row=i key="action" label="At critical" choices=actions()/>
                    <div><button type="button" class="secondary" on:click=move |_| remove(i)>"Remove"</button></div>
                </div>
            </For>
            <button type="button" class="secondary" on:click=add>"Add a threshold"</button>
        </div>
    }
}

/// One field's control, bound to the draft at `key` (of threshold `row`, when given), with the
/// server's error about it underneath: a choice among `choices`, or a field to type in. A `text`
/// field sends what is typed; a number's field sends a number when what is typed reads as one,
/// else the text, for the server to refuse by name.
#[component]
fn Cell(
    draft: RwSignal<Option<Value>>,
    failure: RwSignal<Option<ApiFailure>>,
    #[prop(optional)] row: Option<usize>,
    key: &'static str,
    label: &'static str,
    #[prop(optional)] text: bool,
    #[prop(optional)] choices: Vec<&'static str>,
) -> impl IntoView {
    let (field, id) = match row {
        Some(i) => (format!("thresholds[{i}].{key}"), format!("alert-{i}-{key}")),
        None => (key.to_owned(), format!("alert-{key}")),
    };
    let text = text || !choices.is_empty();
    let shown = move || {
        draft.with(|d| {
            d.as_ref().and_then(|d| at(d, row, key)).map_or_else(String::new, |v| match v {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
        })
    };
    let change = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        let typed = match serde_json::from_str::<Value>(typed.trim()) {
            Ok(number @ Value::Number(_)) if !text => number,
            _ => Value::String(typed),
        };
        draft.update(|d| {
            if let Some(value) = d.as_mut().and_then(|d| at_mut(d, row, key)) {
                *value = typed;
            }
        });
    };
    let control = if choices.is_empty() {
        view! { <input id=id.clone() autocomplete="off" prop:value=shown on:change=change/> }.into_any()
    } else {
        let options = choices.into_iter().map(|c| view! { <option value=c>{c}</option> }).collect_view();
        view! { <select id=id.clone() prop:value=shown on:change=change>{options}</select> }.into_any()
    };
    view! {
        <div>
            <label for=id>{label}</label>
            {control}
            <FieldError failure=failure field=field/>
        </div>
    }
}
