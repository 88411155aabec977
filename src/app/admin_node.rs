//! The admin page's "This node" section: what an operator sizes a node
//! with, as `/health` gives it (docs/deploy.md, "Sizing a node").

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_shared::{Console, BUTTON};
use crate::api::admin;
use crate::model::NodeSizing;

#[component]
pub(super) fn NodeFigures() -> impl IntoView {
    let console = expect_context::<Console>();
    let figures = RwSignal::new(None::<NodeSizing>);
    let load = move || {
        spawn_local(async move {
            match admin::node_status().await {
                Ok(now) => drop(figures.try_set(Some(now))),
                Err(err) => drop(console.error.try_set(Some(err.to_string()))),
            }
        });
    };
    Effect::new(move |_| load());
    let row = |label: &'static str, value: String| {
        view! {
            <tr class="border-t border-white/10">
                <th scope="row" class="py-1 pr-4 text-left font-normal text-slate-300">{label}</th>
                <td class="py-1 tabular-nums">{value}</td>
            </tr>
        }
    };
    view! {
        <section id="node-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="node-title">
            <div class="mb-3 flex items-center justify-between gap-3">
                <h2 id="node-title" class="text-lg font-semibold">"This node"</h2>
                <button type="button" class=BUTTON on:click=move |_| load()>"Refresh"</button>
            </div>
            {move || figures.get().map(|f| view! {
                <table id="node-figures" class="text-sm">
                    <caption class="sr-only">"This node's sizing figures"</caption>
                    <tbody>
                        {row("Sockets open", format!("{} of the {} it can hold", f.sockets_open, f.max_sockets))}
                        {row("Descriptor limit", f.descriptor_limit.to_string())}
                        {row("Messages stored", format!("{:.1} a second", f.messages_per_second))}
                        {row("Writes per transaction", format!("{:.1}", f.writes_per_transaction))}
                        {row("Memory", format!("{:.0} MiB", f.resident_memory_bytes as f64 / 1_048_576.0))}
                    </tbody>
                </table>
            })}
            <p class="mt-2 text-xs text-slate-400">"Rates are over the last few seconds. Every open tab is a socket, and each socket a file descriptor: see Sizing a node in docs/deploy.md."</p>
        </section>
    }
}
