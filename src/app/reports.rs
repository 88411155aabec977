use leptos::prelude::*;

use super::gate::RoleGate;
use crate::api::reports::support_report;
use crate::components::chart::DayChart;
use crate::model::Role;
use crate::report::{format_date, Figures, Report, DAY_MS};

/// `/reports`: the support desk's figures by day. Admins see every
/// department and agent, agents their own departments and themselves (the
/// server function refuses anything else).
#[component]
pub fn ReportsPage() -> impl IntoView {
    view! {
        <RoleGate allowed=|role| role != Role::Member refused="Reports are for the support team."
            waiting="Loading the reports…" load=reports_console/>
    }
}

#[leptos::lazy]
fn reports_console() -> AnyView {
    view! { <ReportsConsole/> }.into_any()
}

const FIELD: &str = "rounded-lg border border-white/20 bg-slate-900/60 px-3 py-1.5 text-sm text-slate-100 focus:border-sky-400";

/// Minutes east of UTC of this browser's zone, now.
fn local_offset() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        -(js_sys::Date::new_0().get_timezone_offset() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    0
}

/// The report's CSV as a `data:` address for the download link (the page
/// is drawn in the browser only).
fn csv_link(report: &Report) -> String {
    #[cfg(feature = "hydrate")]
    let csv = String::from(js_sys::encode_uri_component(&report.csv()));
    #[cfg(not(feature = "hydrate"))]
    let csv = {
        let _ = report; // never drawn on the server
        String::new()
    };
    format!("data:text/csv;charset=utf-8,{csv}")
}

/// "35 min", "2 h 5 min", "3 d 4 h", "40 s".
fn duration(ms: f64) -> String {
    let s = (ms / 1000.0).round() as i64;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3600, s % 3600 / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn count(value: f64) -> String {
    format!("{value:.0}")
}

fn score(value: f64) -> String {
    format!("{value:.2}")
}

fn ms(value: Option<i64>) -> String {
    value
        .map(|v| duration(v as f64))
        .unwrap_or_else(|| "–".into())
}

#[component]
fn ReportsConsole() -> impl IntoView {
    let offset = local_offset();
    let today = (crate::components::text::now_ms() + offset * 60_000).div_euclid(DAY_MS);
    let from = RwSignal::new(format_date(today - 29));
    let to = RwSignal::new(format_date(today));
    let department = RwSignal::new(0_i64);
    let agent = RwSignal::new(0_i64);
    let report = Resource::new(
        move || (from.get(), to.get(), department.get(), agent.get()),
        move |(from, to, department, agent)| support_report(from, to, offset, department, agent),
    );
    view! {
        <main id="reports" class="mx-auto max-w-5xl p-4 md:p-8">
            <header class="mb-4 flex flex-wrap items-center gap-3">
                <h1 class="text-2xl font-semibold text-slate-100">"Support reports"</h1>
                <a href="/" class="ml-auto text-sm text-sky-300 underline">"Back to chats"</a>
            </header>
            <form class="mb-4 flex flex-wrap items-end gap-3" on:submit=|ev| ev.prevent_default() aria-label="What the report covers">
                <label class="text-sm text-slate-300">"From"<br/>
                    <input id="report-from" type="date" class=FIELD bind:value=from/></label>
                <label class="text-sm text-slate-300">"To"<br/>
                    <input id="report-to" type="date" class=FIELD bind:value=to/></label>
                <Transition fallback=|| ()>
                    {move || report.get().and_then(Result::ok).map(|r| view! {
                        <label class="text-sm text-slate-300">"Department"<br/>
                            <select id="report-department" class=FIELD
                                on:change=move |ev| department.set(event_target_value(&ev).parse().unwrap_or(0))>
                                <option value="0" selected=r.department == 0>"All"</option>
                                {r.departments.iter().map(|d| view! {
                                    <option value=d.id.to_string() selected=r.department == d.id>{d.name.clone()}</option>
                                }).collect_view()}
                            </select></label>
                        <label class="text-sm text-slate-300">"Agent"<br/>
                            <select id="report-agent" class=FIELD
                                on:change=move |ev| agent.set(event_target_value(&ev).parse().unwrap_or(0))>
                                <option value="0" selected=r.agent == 0>"Everyone"</option>
                                {r.agents.iter().map(|a| view! {
                                    <option value=a.user_id.to_string() selected=r.agent == a.user_id>{a.display_name.clone()}</option>
                                }).collect_view()}
                            </select></label>
                        <a id="report-csv" class="rounded-lg border border-white/20 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10"
                            download=format!("glasschat-report-{}-{}.csv", r.from, r.to) href=csv_link(&r)>"Download CSV"</a>
                    })}
                </Transition>
            </form>
            <Transition fallback=|| view! { <p class="text-slate-400">"Counting…"</p> }>
                {move || report.get().map(|answer| match answer {
                    Ok(r) => view! { <Figures report=r/> }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-rose-300">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <Definitions/>
        </main>
    }
}

#[component]
fn Figures(report: Report) -> impl IntoView {
    let total = report.total.clone();
    let dates: Vec<String> = report.days.iter().map(|d| d.date.clone()).collect();
    let series = |pick: fn(&Figures) -> Option<f64>| -> Vec<Option<f64>> {
        report.days.iter().map(|d| pick(&d.figures)).collect()
    };
    let average = total
        .rating_average
        .map(|a| format!("{a:.2} of 5"))
        .unwrap_or_else(|| "–".into());
    view! {
        <section aria-label="The whole range" id="report-total" class="mb-4 grid grid-cols-2 gap-3 md:grid-cols-5">
            <Card label="Started" value=total.started.to_string()/>
            <Card label="First response (median · p90)" value=format!("{} · {}", ms(total.first_response_median_ms), ms(total.first_response_p90_ms))/>
            <Card label="Resolution (median · p90)" value=format!("{} · {}", ms(total.resolution_median_ms), ms(total.resolution_p90_ms))/>
            <Card label="Open at the end" value=total.open_at_end.to_string()/>
            <Card label="Satisfaction" value=format!("{average} ({})", total.ratings)/>
        </section>
        <div class="grid gap-3 md:grid-cols-2">
            <DayChart title="Conversations started" id="chart-started" dates=dates.clone()
                values=series(|f| Some(f.started as f64)) show=count/>
            <DayChart title="First response, median" id="chart-first-response" dates=dates.clone()
                values=series(|f| f.first_response_median_ms.map(|v| v as f64)) show=duration/>
            <DayChart title="Resolution time, median" id="chart-resolution" dates=dates.clone()
                values=series(|f| f.resolution_median_ms.map(|v| v as f64)) show=duration/>
            <DayChart title="Open at the end of the day" id="chart-open" dates=dates.clone()
                values=series(|f| Some(f.open_at_end as f64)) show=count/>
            <DayChart title="Satisfaction, average" id="chart-satisfaction" dates=dates.clone()
                values=series(|f| f.rating_average) show=score/>
        </div>
        <table id="report-days" class="mt-4 w-full text-left text-sm text-slate-200">
            <caption class="mb-2 text-left text-sm font-semibold text-slate-100">"By day"</caption>
            <thead class="text-xs text-slate-300">
                <tr>
                    <th scope="col" class="py-1">"Day"</th><th scope="col">"Started"</th>
                    <th scope="col">"First response"</th><th scope="col">"p90"</th>
                    <th scope="col">"Resolved"</th><th scope="col">"Resolution"</th><th scope="col">"p90"</th>
                    <th scope="col">"Open at end"</th><th scope="col">"Ratings"</th><th scope="col">"Average"</th>
                </tr>
            </thead>
            <tbody>
                {report.days.iter().map(|d| {
                    let f = &d.figures;
                    view! {
                        <tr class="border-t border-white/10" data-date=d.date.clone()>
                            <th scope="row" class="py-1 font-normal">{d.date.clone()}</th>
                            <td class="started">{f.started}</td>
                            <td class="first-response">{ms(f.first_response_median_ms)}</td>
                            <td>{ms(f.first_response_p90_ms)}</td>
                            <td class="resolved">{f.resolved}</td>
                            <td>{ms(f.resolution_median_ms)}</td>
                            <td>{ms(f.resolution_p90_ms)}</td>
                            <td class="open">{f.open_at_end}</td>
                            <td class="ratings">{f.ratings}</td>
                            <td>{f.rating_average.map(score).unwrap_or_else(|| "–".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Card(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="rounded-2xl border border-white/10 bg-white/5 p-3">
            <p class="text-xs text-slate-300">{label}</p>
            <p class="mt-1 text-lg font-semibold text-slate-100">{value}</p>
        </div>
    }
}

/// What each figure means, on the page.
#[component]
fn Definitions() -> impl IntoView {
    view! {
        <section id="report-definitions" class="mt-6 text-sm text-slate-300" aria-labelledby="definitions-title">
            <h2 id="definitions-title" class="mb-2 text-base font-semibold text-slate-100">"How these are counted"</h2>
            <dl class="grid gap-x-4 gap-y-2 md:grid-cols-[12rem_1fr]">
                <dt class="font-semibold text-slate-100">"Days"</dt>
                <dd>"Calendar days in this browser's time zone. The cards count the whole range; each figure is counted once, on one day."</dd>
                <dt class="font-semibold text-slate-100">"Started"</dt>
                <dd>"New conversations, on the day of the customer's first message, in the department it was in then. For an agent: the new conversations they answered first."</dd>
                <dt class="font-semibold text-slate-100">"First response"</dt>
                <dd>"From the customer's first message to the first reply by staff, measured again after every reopening (from the customer's next message). Counted on the day the wait began, for whoever replied. A conversation nobody has answered has none. Internal notes are not replies."</dd>
                <dt class="font-semibold text-slate-100">"Resolution"</dt>
                <dd>"From the start (or the reopening) to the resolution, on the day it was resolved, for whoever handled it then (or resolved it, if nobody was assigned)."</dd>
                <dt class="font-semibold text-slate-100">"Open at the end"</dt>
                <dd>"Conversations started or reopened and not resolved at the last moment of the day, in their department and with their assignee at that moment. For the whole range: at its end."</dd>
                <dt class="font-semibold text-slate-100">"Satisfaction"</dt>
                <dd>"The customers' ratings (1 to 5) given that day: their average and how many, for the department and the agent of the conversation when it was rated."</dd>
                <dt class="font-semibold text-slate-100">"Median and p90"</dt>
                <dd>"The median is the middle time (the mean of the two middle ones when their number is even); p90 is the time 90% of them are at or under."</dd>
            </dl>
        </section>
    }
}
