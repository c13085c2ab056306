//! The dashboard's cards about what is being done: every alert's current level with the latest
//! transitions, the paused scopes (resumed here with a reason, by operators and admins) and the
//! newest suppressions, each linked to its entry.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{AlertLevel, Metric, ResumePause};
use serde_json::Value;

use crate::api::{self, ApiFailure};
use crate::app::Session;
use crate::pages::common::{FieldError, FormError};
use crate::pages::dashboard::{Loaded, Row, card, items, note, para, rate, shown, table, text, time};

fn metric_name(metric: &str) -> &'static str {
    match Metric::parse(metric) {
        Some(Metric::BounceRate) => "Bounce rate",
        Some(Metric::HardRate) => "Hard bounce rate",
        Some(Metric::SoftRate) => "Soft bounce rate",
        Some(Metric::BlockRate) => "Block rate",
        Some(Metric::ComplaintRate) => "Complaint rate",
        Some(Metric::SuppressionGrowth) => "List growth",
        None => "Other",
    }
}

/// Every alert's level (raised ones first, the worst first), then the latest changes.
pub fn alerts_card(alerts: Loaded) -> impl IntoView {
    let levels = [
        (AlertLevel::Critical, "level-critical"),
        (AlertLevel::Warning, "level-warning"),
        (AlertLevel::Resolved, "level-resolved"),
        (AlertLevel::Ok, ""),
    ];
    let ready = move |a: &Value| {
        let states = items(a, "/states");
        let rows = levels.iter().flat_map(|&(level, class)| {
            states.iter().filter(move |s| s["level"].as_str() == Some(level.as_str())).map(move |s| Row {
                class,
                cells: vec![
                    metric_name(&text(s, "/metric")).to_owned(),
                    text(s, "/scope"),
                    level.as_str().to_owned(),
                    rate(s, "/value"),
                    text(s, "/volume"),
                    time(s, "/since"),
                ],
                ..Row::default()
            })
        });
        let changes = items(a, "/transitions").iter().map(|t| Row {
            cells: vec![
                time(t, "/at"),
                metric_name(&text(t, "/metric")).to_owned(),
                text(t, "/scope"),
                format!("{} → {}", text(t, "/from"), text(t, "/to")),
                rate(t, "/value"),
                rate(t, "/threshold"),
                if t["pause_id"].is_i64() { "paused sending" } else { "" }.to_owned(),
            ],
            ..Row::default()
        });
        let mut views = Vec::new();
        if states.is_empty() {
            views.push(note("No alert has been evaluated yet."));
        }
        let head = ["Metric", "Scope", "Level", "Value", "Attempts", "Since"];
        views.push(table("Levels now", &head, rows.collect(), "alert-row"));
        let head = ["When", "Metric", "Scope", "Change", "Value", "Threshold", "Action"];
        views.push(table("Latest changes", &head, changes.collect(), "alert-transition"));
        views
    };
    card("alerts-title", "Alerts", true, vec![shown(alerts, ready)])
}

/// The scopes paused now, each with its resume form for operators and admins.
pub fn pauses_card(overview: Loaded, refresh: RwSignal<u32>) -> impl IntoView {
    let session = expect_context::<Session>();
    let ready = move |o: &Value| {
        let pauses = items(o, "/pauses");
        if pauses.is_empty() {
            return vec![note("Nothing is paused.")];
        }
        let mut views = Vec::new();
        for p in pauses {
            let scope = text(p, "/scope");
            let mta = text(p, "/mta_state");
            let facts = format!(
                "{scope} since {} by {}: {}{}",
                time(p, "/created_at"),
                text(p, "/created_by"),
                text(p, "/reason"),
                if mta.is_empty() { String::new() } else { format!(" (on the MTA: {mta})") },
            );
            views.push(para("pause", None, Some("pause"), facts));
            if let Some(error) = p["mta_error"].as_str() {
                views.push(para("error", None, None, error.to_owned()));
            }
            if session.can_write() {
                let id = p["id"].as_i64().unwrap_or(0);
                views.push(view! { <ResumeForm id=id scope=scope refresh=refresh/> }.into_any());
            }
        }
        views
    };
    card("pauses-title", "Paused sending", false, vec![shown(overview, ready)])
}

/// Resuming needs a reason, which the audit log keeps.
#[component]
fn ResumeForm(id: i64, scope: String, refresh: RwSignal<u32>) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = ResumePause { reason: reason.get_untracked() };
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::resume_pause(id, &request).await {
                Ok(()) => refresh.update(|n| *n += 1),
                Err(f) => {
                    failure.try_set(Some(f));
                }
            }
            busy.try_set(false);
        });
    };
    let input = format!("resume-{id}");
    view! {
        <form class="resume" on:submit=submit>
            <label for=input.clone()>"Why may "{scope}" send again?"</label>
            <input id=input class="wide" autocomplete="off"
                prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
            <FieldError failure=failure field="reason"/>
            <FormError failure=failure fields=&["reason"]/>
            <button type="submit" disabled=busy>"Resume"</button>
        </form>
    }
}

/// The newest entries of the list, each linked to its history on the suppressions page.
pub fn newest_card(newest: Loaded) -> impl IntoView {
    let ready = |page: &Value| {
        let rows = items(page, "/items").iter().map(|s| Row {
            link: Some(format!("/suppressions?entry={}", text(s, "/id"))),
            cells: vec![text(s, "/address"), text(s, "/reason"), time(s, "/created_at")],
            ..Row::default()
        });
        vec![table("Newest first", &["Address", "Reason", "Added"], rows.collect(), "newest-row")]
    };
    card("newest-title", "Newest suppressions", false, vec![shown(newest, ready)])
}
