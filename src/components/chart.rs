//! A figure by day as an SVG bar chart, readable on the dark theme: one
//! bar per day (none for a day without a value), the largest value at the
//! top, the first and last dates below; each bar names its day and value.

use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 150.0;
/// Room under the bars for the dates.
const BOTTOM: f64 = 20.0;
/// Room above the bars for the top value.
const TOP: f64 = 16.0;

#[component]
pub fn DayChart(
    /// The chart's heading (and its accessible name).
    title: &'static str,
    id: &'static str,
    dates: Vec<String>,
    values: Vec<Option<f64>>,
    /// How a value reads ("35 min", "4.5").
    show: fn(f64) -> String,
) -> impl IntoView {
    let largest = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let scale = if largest > 0.0 {
        (HEIGHT - BOTTOM - TOP) / largest
    } else {
        0.0
    };
    let n = values.len().max(1) as f64;
    let slot = WIDTH / n;
    let bar = (slot * 0.7).max(1.0);
    let baseline = HEIGHT - BOTTOM;
    let bars = dates
        .iter()
        .zip(&values)
        .enumerate()
        .filter_map(|(k, (date, value))| {
            let value = (*value)?;
            let height = (value * scale).max(if value > 0.0 { 1.0 } else { 0.0 });
            let x = k as f64 * slot + (slot - bar) / 2.0;
            let label = format!("{date}: {}", show(value));
            Some(view! {
                <rect x=format!("{x:.1}") y=format!("{:.1}", baseline - height)
                    width=format!("{bar:.1}") height=format!("{height:.1}") rx="2" fill="#38bdf8">
                    <title>{label}</title>
                </rect>
            })
        })
        .collect_view();
    let first = dates.first().cloned().unwrap_or_default();
    let last = dates.last().cloned().unwrap_or_default();
    let heading = format!("{id}-title");
    view! {
        <figure class="rounded-2xl border border-white/10 bg-white/5 p-3">
            <figcaption id=heading.clone() class="mb-1 text-sm font-semibold text-slate-100">{title}</figcaption>
            <svg id=id viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=heading
                class="h-auto w-full" preserveAspectRatio="none">
                <line x1="0" x2=WIDTH.to_string() y1=baseline.to_string() y2=baseline.to_string() stroke="#64748b" stroke-width="1"/>
                <text x="2" y="11" fill="#cbd5e1" font-size="11">{if largest > 0.0 { show(largest) } else { "no data".to_string() }}</text>
                {bars}
                <text x="2" y=(HEIGHT - 5.0).to_string() fill="#cbd5e1" font-size="11">{first}</text>
                <text x=(WIDTH - 2.0).to_string() y=(HEIGHT - 5.0).to_string() fill="#cbd5e1" font-size="11" text-anchor="end">{last}</text>
            </svg>
        </figure>
    }
}
