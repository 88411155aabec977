#![recursion_limit = "256"]
//! Glasschat: one crate, two builds. With `ssr` it is the axum server
//! (`src/server/`), with `hydrate` the WASM client; `src/app/`,
//! `src/components/`, `src/api/` and `src/model.rs` are compiled into both.

pub mod api;
pub mod app;
pub mod calendar;
pub mod components;
pub mod model;
pub mod realtime;
pub mod report;
pub mod validate;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    components::crash_notice::install_panic_hook();
    // Lazy: the auth pages' route code is a WASM file of its own, fetched
    // before hydrating them.
    leptos::mount::hydrate_lazy(app::App);
}

/// Panics on purpose, so the browser tests can see the crash notice (and
/// anyone can, from the console). It breaks only the tab that calls it.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn selftest_panic() {
    panic!("self-test: the crash notice");
}
