//! The dashboard, where staff land after signing in: the five figures the mission asks for (the
//! overall bounce rate, the hard bounce rate per mailbox provider, soft-bounce retry success, the
//! bounce rate per campaign, the list's growth) as charts over a 24-hour or 7-day window, next to
//! the alerts, the pauses and the newest suppressions (`dashboard_alerts`). Every card loads on its
//! own, so one failing request shows its error without hiding the rest.
//!
//! The answers are read as JSON values (see `api::Reading`) and the figures picked out by their
//! paths in the wire types of `rebound_api::v1` (`/total/rates/bounce_rate`). Cards are built by a
//! few plain functions that return erased views, so the page adds little code to the download.

use std::time::Duration;

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::api::{self, ApiFailure, Reading};
use crate::pages::chart::{Point, Shape, chart, percent};
use crate::pages::common::when;
use crate::pages::dashboard_alerts::{alerts_card, newest_card, pauses_card};

/// An answer being loaded: `None` until the first one arrives.
pub type Loaded = RwSignal<Option<Result<Value, ApiFailure>>>;

/// Part of a card, drawn again whenever its answer changes. Boxed, so that every card shares one
/// copy of the rendering code rather than one per closure.
pub type Content = Box<dyn Fn() -> Vec<AnyView> + Send + Sync>;

/// How often the figures are read again while the page is open.
const REFRESH: Duration = Duration::from_secs(60);

/// Every answer the page shows, in the order of `readings`.
#[derive(Clone, Copy)]
struct Answers {
    overview: Loaded,
    series: Loaded,
    isps: Loaded,
    campaigns: Loaded,
    growth: Loaded,
    alerts: Loaded,
    newest: Loaded,
}

/// What to read for a window of `hours`; one point per hour over a day, per six hours over a week.
fn readings(hours: u32) -> [Reading; 7] {
    [
        Reading::Overview { hours },
        Reading::Series { hours, step: if hours > 24 { 6 * 3600 } else { 3600 } },
        Reading::Breakdown { by: "isp", hours },
        Reading::Breakdown { by: "campaign", hours },
        Reading::Growth { days: hours / 24 + 1 },
        Reading::Alerts { limit: 10 },
        Reading::Newest { limit: 5 },
    ]
}

/// Reads everything for the window `hours()` now and again whenever it changes (it tracks the
/// window and the refresh counter). Previous answers stay shown until the next arrive; an answer
/// overtaken by a newer request is dropped.
fn load(hours: impl Fn() -> u32 + 'static) -> Answers {
    let new = || RwSignal::new(None);
    let answers = Answers {
        overview: new(),
        series: new(),
        isps: new(),
        campaigns: new(),
        growth: new(),
        alerts: new(),
        newest: new(),
    };
    let a = answers;
    let states = [a.overview, a.series, a.isps, a.campaigns, a.growth, a.alerts, a.newest];
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let readings = readings(hours());
        generation.update_value(|g| *g += 1);
        for (reading, state) in readings.into_iter().zip(states) {
            start(reading, state, generation);
        }
    });
    answers
}

fn start(reading: Reading, state: Loaded, generation: StoredValue<u64>) {
    let mine = generation.get_value();
    spawn_local(async move {
        let answer = api::read(reading).await;
        if generation.try_get_value() == Some(mine) {
            state.try_set(Some(answer));
        }
    });
}

/// "Loading…", the server's error, or `ready`'s view of the answer.
pub fn shown(state: Loaded, ready: impl Fn(&Value) -> Vec<AnyView> + Send + Sync + 'static) -> Content {
    shown_boxed(state, Box::new(ready))
}

/// How a card draws its answer; boxed, so that `shown_boxed` exists once.
type Ready = Box<dyn Fn(&Value) -> Vec<AnyView> + Send + Sync>;

fn shown_boxed(state: Loaded, ready: Ready) -> Content {
    Box::new(move || {
        state.with(|answer| match answer {
            Some(Ok(value)) => ready(value),
            Some(Err(f)) => vec![para("error", Some("alert"), None, f.message.clone())],
            None => vec![para("list-state", Some("status"), None, "Loading…".to_owned())],
        })
    })
}

/// A paragraph of text, the one shape most of the page is made of.
pub fn para(class: &'static str, role: Option<&'static str>, testid: Option<&'static str>, text: String) -> AnyView {
    view! { <p class=class role=role data-testid=testid>{text}</p> }.into_any()
}

/// A card titled `title` (its heading's id is `id`), spanning the row when `wide`.
pub fn card(id: &'static str, title: &'static str, wide: bool, content: Vec<Content>) -> impl IntoView {
    view! {
        <section class=if wide { "card wide-card" } else { "card" } aria-labelledby=id>
            <h2 id=id>{title}</h2>
            {content}
        </section>
    }
}

/// A card's figure, large, and what it is made of.
fn headline(testid: &'static str, figure: String, detail: String) -> Vec<AnyView> {
    vec![para("figure", None, Some(testid), figure), para("hint", None, None, detail)]
}

/// A line of muted text, for what is not there.
pub fn note(text: &'static str) -> AnyView {
    para("empty", None, None, text.to_owned())
}

/// The value at `pointer`, a path of object keys (`/total/rates/bounce_rate`).
fn at<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    pointer.split('/').skip(1).try_fold(value, |v, key| v.get(key))
}

/// The number at `pointer`.
pub fn number(value: &Value, pointer: &str) -> Option<f64> {
    at(value, pointer).and_then(Value::as_f64)
}

/// The string or number at `pointer`, as text; empty when there is none.
pub fn text(value: &Value, pointer: &str) -> String {
    match at(value, pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The rate at `pointer`, as `12.34%`.
pub fn rate(value: &Value, pointer: &str) -> String {
    number(value, pointer).map_or_else(|| "none".to_owned(), percent)
}

/// The Unix time at `pointer`, as people read it.
pub fn time(value: &Value, pointer: &str) -> String {
    at(value, pointer).and_then(Value::as_i64).map(when).unwrap_or_default()
}

/// The elements of the array at `pointer`.
pub fn items<'v>(value: &'v Value, pointer: &str) -> &'v [Value] {
    at(value, pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A row of a `table`: its cells as text, the first one heading it (and linking to `link`).
#[derive(Default)]
pub struct Row {
    /// Colours the row (`level-critical`).
    pub class: &'static str,
    pub link: Option<String>,
    pub cells: Vec<String>,
}

/// A table of text under `caption`, with a header row of `head`.
pub fn table(caption: &'static str, head: &[&'static str], rows: Vec<Row>, testid: &'static str) -> AnyView {
    let rows = rows.into_iter().map(|row| {
        let mut cells = row.cells.into_iter();
        let first = cells.next().unwrap_or_default();
        let first = match row.link {
            Some(href) => Either::Left(view! { <a href=href>{first}</a> }),
            None => Either::Right(first),
        };
        view! {
            <tr class=row.class data-testid=testid>
                <th scope="row">{first}</th>
                {cells.map(|c| view! { <td>{c}</td> }).collect_view()}
            </tr>
        }
    });
    view! {
        <table class="list">
            <caption>{caption}</caption>
            <thead><tr>{head.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
            <tbody>{rows.collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// The page; signed out, each card shows the server's refusal.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let hours = RwSignal::new(24u32);
    let refresh = RwSignal::new(0u32);
    if let Ok(timer) = set_interval_with_handle(move || refresh.update(|n| *n += 1), REFRESH) {
        on_cleanup(move || timer.clear());
    }
    let answers = load(move || {
        refresh.track();
        hours.get()
    });
    let Answers { overview, series, isps, campaigns, growth, .. } = answers;
    let line = move |title: &'static str, pointer: &'static str| {
        shown(series, move |s| vec![series_chart(s, hours.get_untracked(), title, pointer)])
    };
    let choice = move |h: u32, label: &'static str| {
        view! {
            <label class="check"><input type="radio" name="window" prop:checked=move || hours.get() == h
                on:change=move |_| hours.set(h)/>{label}</label>
        }
    };
    view! {
        <section class="page dashboard">
            <h1>"Dashboard"</h1>
            <fieldset class="modes">
                <legend>"Window"</legend>
                {choice(24, "Last 24 hours")}
                {choice(24 * 7, "Last 7 days")}
            </fieldset>
            <div class="cards">
                {card("bounce-title", "Bounce rate (hard + soft)", false,
                    vec![shown(overview, bounce_figures), line("Bounce rate", "/rates/bounce_rate")])}
                {card("retry-title", "Soft-bounce retry success", false,
                    vec![shown(overview, retry_figures), line("Retry success", "/rates/retry_success_rate")])}
                {card("isp-title", "Hard bounce rate by provider", false, vec![shown(isps, |b| {
                    breakdown_view(b, "Hard bounce rate by provider", "Provider", "/rates/hard_rate")
                })])}
                {card("campaign-title", "Bounce rate by campaign", false, vec![shown(campaigns, |b| {
                    breakdown_view(b, "Bounce rate by campaign", "Campaign", "/rates/bounce_rate")
                })])}
                {card("growth-title", "Suppression-list growth", false,
                    vec![shown(overview, growth_figures), shown(growth, growth_chart)])}
                {alerts_card(answers.alerts)}
                {pauses_card(overview, refresh)}
                {newest_card(answers.newest)}
            </div>
        </section>
    }
}

/// Dashboard 1: hard and soft bounces over the window's attempts.
fn bounce_figures(o: &Value) -> Vec<AnyView> {
    let scarce = at(o, "/total/enough_volume") == Some(&Value::Bool(false));
    let detail = format!(
        "of {} attempts · hard {} · soft {} · blocks {}{}",
        text(o, "/total/rates/attempts"),
        rate(o, "/total/rates/hard_rate"),
        rate(o, "/total/rates/soft_rate"),
        rate(o, "/total/rates/block_rate"),
        if scarce { " · too few attempts to alert on" } else { "" },
    );
    headline("bounce-rate", rate(o, "/total/rates/bounce_rate"), detail)
}

/// Dashboard 3: of the soft-bounce episodes begun, the share a retry delivered.
fn retry_figures(o: &Value) -> Vec<AnyView> {
    let detail = format!(
        "{} of {} soft-bounce episodes ended in a delivery",
        text(o, "/total/counts/soft_recovered"),
        text(o, "/total/counts/soft_started"),
    );
    headline("retry-rate", rate(o, "/total/rates/retry_success_rate"), detail)
}

/// Dashboard 5: entries added over the entries in force, over the window...
fn growth_figures(o: &Value) -> Vec<AnyView> {
    let detail = format!(
        "{} added · {} lifted · {} active",
        text(o, "/list/added"),
        text(o, "/list/lifted"),
        text(o, "/list/active")
    );
    headline("growth-rate", rate(o, "/list/growth_rate"), detail)
}

/// ...and per UTC day.
fn growth_chart(g: &Value) -> Vec<AnyView> {
    let days = items(g, "/days").iter().map(|d| Point {
        label: time(d, "/day").get(..10).unwrap_or_default().to_owned(),
        value: number(d, "/growth_rate"),
    });
    vec![chart("List growth per day", Shape::Bars, days.collect())]
}

/// The rate at `pointer` in each step of the last `hours`, as a line chart; a step without
/// attempts (or, for retry success, without soft-bounce episodes) is a gap. The server sends only
/// the steps that counted something, so the steps are laid out back from the newest it sent,
/// from the step running now by the browser's clock.
fn series_chart(series: &Value, hours: u32, title: &str, pointer: &'static str) -> AnyView {
    let step = series["step"].as_i64().unwrap_or(3600).max(1);
    let sent = items(series, "/points");
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let last = sent.last().and_then(|p| p["at"].as_i64()).map(|at| at + (now - at).max(0) / step * step);
    let count = i64::from(hours) * 3600 / step;
    let points = last.into_iter().flat_map(|last| (0..count).map(move |k| last - (count - 1 - k) * step)).map(|at| {
        let counted = sent.iter().find(|p| p["at"].as_i64() == Some(at) && number(p, "/rates/attempts") > Some(0.0));
        let label = when(at).get(5..16).unwrap_or_default().to_owned();
        Point { label, value: counted.and_then(|p| number(p, pointer)) }
    });
    let per = if step > 3600 { "per 6 hours" } else { "per hour" };
    chart(&format!("{title} {per}"), Shape::Line, points.collect())
}

/// Dashboards 2 and 4: the rate at `pointer` per provider or campaign as bars, and the figures
/// behind them as a table, in the server's order (most attempts first).
fn breakdown_view(b: &Value, title: &str, column: &'static str, pointer: &str) -> Vec<AnyView> {
    let rows = items(b, "/rows");
    let points = rows.iter().map(|r| Point { label: text(r, "/name"), value: number(r, pointer) }).collect();
    let rows = rows.iter().map(|r| Row {
        cells: vec![
            text(r, "/name"),
            text(r, "/rates/attempts"),
            text(r, "/counts/hard"),
            text(r, "/counts/soft"),
            rate(r, "/rates/hard_rate"),
            rate(r, "/rates/bounce_rate"),
        ],
        ..Row::default()
    });
    let head = [column, "Attempts", "Hard", "Soft", "Hard rate", "Bounce rate"];
    vec![chart(title, Shape::Bars, points), table("Most attempts first", &head, rows.collect(), "breakdown-row")]
}
