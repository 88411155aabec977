use leptos::prelude::*;

/// Copies `text` (a link to pass on, a code block) to the clipboard, and
/// says so.
#[component]
pub fn CopyButton(
    text: String,
    #[prop(default = "Copy link")] label: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" on:click=copy class="rounded border border-white/20 px-2 py-1 text-xs text-slate-100 hover:bg-white/10">
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
