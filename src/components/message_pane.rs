use leptos::prelude::*;

/// The right pane. Empty until a conversation is chosen.
#[component]
pub fn MessagePane() -> impl IntoView {
    view! {
        <main class="glass-panel hidden flex-1 flex-col items-center justify-center md:flex md:rounded-2xl" aria-label="Messages">
            <p class="text-lg font-medium text-slate-200">"Pick a conversation"</p>
            <p class="mt-1 text-sm text-slate-400">"Messages you send and receive appear here."</p>
        </main>
    }
}
