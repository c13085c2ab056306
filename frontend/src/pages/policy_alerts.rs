//! The alert thresholds of the policy page: warning and critical levels per metric and scope,
//! what a critical level does, the window, the minimum volume and the hysteresis, with the
//! mission's industry presets filling in the overall bounce rate's levels. They are a setting of
//! their own (`/settings/monitoring`), which the policy page loads and saves with the policy; the
//! server validates every save and its error is shown next to the field it names.
//!
//! The settings are edited as JSON, each control bound to a field by the server's name for it
//! (`thresholds[2].warning`): one small control for every field, where typed bindings would add
//! their deserialiser and a control per field type to the download; and what is typed goes to the
//! server as typed, so its validation (a scope it cannot read, say) names the field.

use leptos::prelude::*;
use rebound_api::v1::{Metric, PRESETS, Preset};
use serde_json::{Value, json};

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

/// The overall bounce rate's levels from an industry preset (the threshold added if absent), as
/// `MonitoringSettings::apply_preset` does on the server's side of the type.
fn apply_preset(settings: &mut Value, preset: &Preset) {
    let Some(thresholds) = settings["thresholds"].as_array_mut() else { return };
    match thresholds.iter_mut().find(|t| t["metric"] == "bounce_rate" && t["scope"] == "all") {
        Some(overall) => {
            overall["warning"] = preset.warning.into();
            overall["critical"] = preset.critical.into();
        }
        None => thresholds.push(json!({
            "metric": "bounce_rate", "scope": "all", "warning": preset.warning, "critical": preset.critical, "action": "pause",
        })),
    }
}

/// The thresholds, the window, the minimum volume, the hysteresis and the presets, editing
/// `draft` (the settings as the server sent them).
#[component]
pub fn AlertThresholds(draft: RwSignal<Option<Value>>, failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let count = move || draft.with(|d| d.as_ref().and_then(|d| d["thresholds"].as_array()).map_or(0, Vec::len));
    let edit = move |change: &dyn Fn(&mut Value)| draft.update(|d| d.iter_mut().for_each(change));
    let preset = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        if let Some(preset) = PRESETS.iter().find(|p| p.id == id) {
            edit(&|d| apply_preset(d, preset));
        }
    };
    let add = move |_| {
        edit(&|d| {
            if let Some(thresholds) = d["thresholds"].as_array_mut() {
                thresholds.push(json!({"metric": "bounce_rate", "scope": "campaign:*", "warning": 5, "critical": 10, "action": "notify"}));
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
    view! {
        <div class="card">
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
            <div class="row">
                <Cell draft=draft failure=failure key="window_hours" label="Window (hours)"/>
                <Cell draft=draft failure=failure key="min_volume" label="Fewest attempts that can alert"/>
                <Cell draft=draft failure=failure key="hysteresis" label="Hysteresis (fraction of a level)"/>
            </div>
            <datalist id="alert-metrics">
                {Metric::ALL.iter().map(|m| view! { <option value=m.as_str()></option> }).collect_view()}
            </datalist>
            <datalist id="alert-actions"><option value="notify"></option><option value="pause"></option></datalist>
            <For each=move || 0..count() key=|i| *i let(i)>
                <div class="row threshold" data-testid="threshold-row">
                    <Cell draft=draft failure=failure row=i key="metric" label="Metric" text="alert-metrics"/>
                    <Cell draft=draft failure=failure row=i key="scope" label="Scope" text=""/>
                    <Cell draft=draft failure=failure row=i key="warning" label="Warning at (%)"/>
                    <Cell draft=draft failure=failure row=i key="critical" label="Critical at (%)"/>
                    <Cell draft=draft failure=failure row=i key="action" label="At critical: notify or pause" text="alert-actions"/>
                    <div><button type="button" class="secondary" on:click=move |_| remove(i)>"Remove"</button></div>
                </div>
            </For>
            <button type="button" class="secondary" on:click=add>"Add a threshold"</button>
        </div>
    }
}

/// One field's control, bound to the draft at `key` (of threshold `row`, when given), with the
/// server's error about it underneath. A text field (`text`: the id of its list of suggestions,
/// or empty) sends what is typed; a number's field sends a number when what is typed reads as
/// one, else the text, for the server to refuse by name.
#[component]
fn Cell(
    draft: RwSignal<Option<Value>>,
    failure: RwSignal<Option<ApiFailure>>,
    #[prop(optional)] row: Option<usize>,
    key: &'static str,
    label: &'static str,
    #[prop(optional)] text: Option<&'static str>,
) -> impl IntoView {
    let (field, id) = match row {
        Some(i) => (format!("thresholds[{i}].{key}"), format!("alert-{i}-{key}")),
        None => (key.to_owned(), format!("alert-{key}")),
    };
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
            Ok(number @ Value::Number(_)) if text.is_none() => number,
            _ => Value::String(typed),
        };
        draft.update(|d| {
            if let Some(value) = d.as_mut().and_then(|d| at_mut(d, row, key)) {
                *value = typed;
            }
        });
    };
    view! {
        <div>
            <label for=id.clone()>{label}</label>
            <input id=id autocomplete="off" list=text.filter(|l| !l.is_empty()) prop:value=shown on:change=change/>
            <FieldError failure=failure field=field/>
        </div>
    }
}
