//! Code that the first screen does not need, fetched when first wanted.
//!
//! A release build is split (`cargo leptos build --split`): each function
//! marked `#[lazy]` and the code only it reaches go to a WASM file of their
//! own, downloaded and linked the first time the function is called. Made
//! that way: the dialogs (confirmations included), the ⋯ menu, the members
//! panel, the invitations list, the support queue, the admin console (each
//! `#[lazy]` beside its component) and the Markdown parser. On the server, and in a
//! build that is not split, a `#[lazy]` function is an ordinary one.
//!
//! What the server draws must hydrate without them, so a split-off view is
//! never part of the server's page: it is drawn on demand (a dialog that
//! opens) or once the page runs in the browser (`InBrowser`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;

/// Draws what `load` returns once `wanted` has been true, and keeps it from
/// then on: what it draws shows and hides itself on the same signal (a
/// dialog, a menu, a panel), so closing and reopening fetches nothing again,
/// and nothing is ever taken down while its code is still arriving (a view
/// that came after its place was gone stayed on the page). Nothing is drawn
/// until then, on the server or in the browser, so hydration has nothing
/// to match.
#[component]
pub fn OnDemand<Load, Loading>(#[prop(into)] wanted: Signal<bool>, load: Load) -> impl IntoView
where
    Load: Fn() -> Loading + Copy + Send + Sync + 'static,
    Loading: Future<Output = AnyView> + Send + 'static,
{
    // Each call site is its own type; the work is done once, type-erased
    // (a copy of it per call site cost the first download a kilobyte each).
    on_demand(wanted, Arc::new(move || Box::pin(load()) as BoxedLoading))
}

type BoxedLoading = Pin<Box<dyn Future<Output = AnyView> + Send>>;

fn on_demand(wanted: Signal<bool>, load: Arc<dyn Fn() -> BoxedLoading + Send + Sync>) -> AnyView {
    let ever_wanted =
        Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || wanted.get());
    (move || {
        ever_wanted.get().then(|| {
            let focus = kept_focus();
            let loading = load();
            Suspend::new(async move {
                let view = loading.await;
                restore_lost_focus(focus);
                view
            })
        })
    })
    .into_any()
}

/// The element that has the focus when something is asked for (the button
/// that opens a menu). Drawing what arrives asynchronously can leave the
/// focus on the page's body; `restore_lost_focus` puts a keyboard user back
/// where they were, where Esc still reaches the menu's handler.
#[cfg(feature = "hydrate")]
type KeptFocus = StoredValue<Option<web_sys::HtmlElement>, LocalStorage>;
/// (Nothing has the focus while the server renders.)
#[cfg(not(feature = "hydrate"))]
#[derive(Clone, Copy)]
struct KeptFocus;

fn kept_focus() -> KeptFocus {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        StoredValue::new_local(active)
    }
    #[cfg(not(feature = "hydrate"))]
    KeptFocus
}

fn restore_lost_focus(focus: KeptFocus) {
    #[cfg(feature = "hydrate")]
    // After the new view is on the page.
    request_animation_frame(move || {
        let Some(element) = focus.try_get_value().flatten() else {
            return;
        };
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let on_body = match (document.active_element(), document.body()) {
            (None, _) => true,
            (Some(active), Some(body)) => active == *body.as_ref(),
            (Some(_), None) => false,
        };
        if on_body && element.is_connected() {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let KeptFocus = focus;
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
