//! Code that the first screen does not need, fetched when first wanted.
//!
//! A release build is split (`cargo leptos build --split`): each function
//! marked `#[lazy]` and the code only it reaches go to a WASM file of their
//! own, downloaded and linked the first time the function is called. Made
//! that way: the dialogs, the members panel, the support queue and the admin
//! console (each `#[lazy]` beside its component). On the server, and in a
//! build that is not split, a `#[lazy]` function is an ordinary one.
//!
//! What the server draws must hydrate without them, so a split-off view is
//! never part of the server's page: it is drawn on demand (a dialog that
//! opens) or once the page runs in the browser (`InBrowser`).

use std::future::Future;

use leptos::prelude::*;

/// Draws what `load` returns once `wanted` has been true, and keeps it from
/// then on (a dialog shows and hides itself on the same signal, so closing
/// and reopening it fetches nothing again). Nothing is drawn until then,
/// on the server or in the browser, so hydration has nothing to match.
#[component]
pub fn OnDemand<Load, Loading>(wanted: RwSignal<bool>, load: Load) -> impl IntoView
where
    Load: Fn() -> Loading + Copy + Send + Sync + 'static,
    Loading: Future<Output = AnyView> + Send + 'static,
{
    let ever_wanted =
        Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || wanted.get());
    move || ever_wanted.get().then(|| Suspend::new(load()))
}

/// Draws what `load` returns once the page runs in the browser: for a
/// screen whose code is not in the first download but that the server
/// cannot draw either (its code would have to be there to hydrate it).
/// The server sends `waiting` in its place.
#[component]
pub fn InBrowser<Load, Loading>(load: Load, waiting: &'static str) -> impl IntoView
where
    Load: Fn() -> Loading + Copy + Send + Sync + 'static,
    Loading: Future<Output = AnyView> + Send + 'static,
{
    // Effects run in the browser only, after hydration.
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    view! {
        <Show when=move || running.get() fallback=move || view! { <p class="p-8 text-slate-400">{waiting}</p> }>
            <OnDemand wanted=running load/>
        </Show>
    }
}
