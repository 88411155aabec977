#![recursion_limit = "256"]
//! Glasschat: one crate, two builds. With `ssr` it is the axum server
//! (`src/server/`), with `hydrate` the WASM client; `src/app/`,
//! `src/components/`, `src/api/` and `src/model.rs` are compiled into both.

pub mod api;
pub mod app;
pub mod components;
pub mod model;
pub mod realtime;
pub mod validate;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
