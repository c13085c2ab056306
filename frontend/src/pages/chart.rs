//! The one chart the dashboard draws, as inline SVG: bars or a line over a series of values, scaled
//! to a round maximum. No chart library: a rate over time or per provider needs a handful of shapes.
//! A drawing cannot be read out, so the chart's accessible name carries its figures, and the scale
//! and the first and last labels are text beside it.

use leptos::prelude::*;

/// One bar or point of the line: what it is (a provider, a time) and its value, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Bars,
    Line,
}

/// The plot's height in its own units; each point is `STEP` units wide. Whole units only, so that
/// no float is ever printed (the float formatter would grow the download).
const HEIGHT: i64 = 1000;
const STEP: i64 = 100;

/// A rate in percent with two decimals, `12.34%`.
pub fn percent(value: f64) -> String {
    let hundredths = (value * 100.0).round() as i64;
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

/// The smallest of 1, 2 and 5 times a power of ten (from 0.01) that is at least `max`.
fn round_max(max: f64) -> f64 {
    let mut scale = 0.01;
    while scale < 1e12 {
        for m in [1.0, 2.0, 5.0] {
            if max <= scale * m {
                return scale * m;
            }
        }
        scale *= 10.0;
    }
    max
}

/// The accessible name: the title, then every labelled figure, or for a long series its highest
/// and its latest.
fn summary(title: &str, points: &[Point]) -> String {
    let figure = |p: &Point| format!("{} {}", p.label, p.value.map_or_else(|| "none".to_owned(), percent));
    let valued: Vec<&Point> = points.iter().filter(|p| p.value.is_some()).collect();
    let (Some(highest), Some(latest)) = (
        valued.iter().max_by(|a, b| a.value.partial_cmp(&b.value).unwrap_or(std::cmp::Ordering::Equal)),
        valued.last(),
    ) else {
        return format!("{title}: no data");
    };
    if points.len() <= 12 {
        format!("{title}: {}", points.iter().map(figure).collect::<Vec<_>>().join(", "))
    } else {
        format!("{title}: highest {}, latest {}", figure(highest), figure(latest))
    }
}

/// A chart of `points` in percent, titled `title` (with its figures, for screen readers).
pub fn chart(title: &str, shape: Shape, points: Vec<Point>) -> AnyView {
    let summary = summary(title, &points);
    let top = round_max(points.iter().filter_map(|p| p.value).fold(0.0, f64::max));
    let y = move |v: f64| HEIGHT - (v / top * HEIGHT as f64).round() as i64;
    let width = STEP * points.len().max(1) as i64;
    let (class, d) = match shape {
        Shape::Bars => ("bars", bars_path(&points, y)),
        Shape::Line => ("line", line_path(&points, y)),
    };
    let first = points.first().map(|p| p.label.clone()).unwrap_or_default();
    let last = points.last().filter(|_| points.len() > 1).map(|p| p.label.clone()).unwrap_or_default();
    view! {
        <figure class="chart">
            <span class="chart-top" aria-hidden="true">{percent(top)}</span>
            <svg viewBox=format!("0 0 {width} {HEIGHT}") preserveAspectRatio="none" role="img"
                aria-label=summary class=class>
                <path d=d/>
            </svg>
            <figcaption aria-hidden="true"><span>{first}</span><span>{last}</span></figcaption>
        </figure>
    }
    .into_any()
}

/// One filled rectangle per point with a value, rising from the bottom.
fn bars_path(points: &[Point], y: impl Fn(f64) -> i64) -> String {
    let mut d = String::new();
    for (i, p) in points.iter().enumerate() {
        if let Some(v) = p.value {
            let x = i as i64 * STEP;
            d.push_str(&format!("M{} {HEIGHT}V{}H{}V{HEIGHT}Z", x + 10, y(v), x + STEP - 10));
        }
    }
    d
}

/// The line through the points that have a value; a point without one breaks it. Each piece starts
/// with a zero-length segment, so a lone point still shows as a dot.
fn line_path(points: &[Point], y: impl Fn(f64) -> i64) -> String {
    let mut d = String::new();
    let mut joined = false;
    for (i, p) in points.iter().enumerate() {
        let x = i as i64 * STEP + STEP / 2;
        match p.value {
            Some(v) if joined => d.push_str(&format!("L{x} {}", y(v))),
            Some(v) => d.push_str(&format!("M{x} {}h0", y(v))),
            None => {}
        }
        joined = p.value.is_some();
    }
    d
}
