//! The HTTP API: Leptos server functions, callable from the WASM client and
//! from plain HTML forms. Each one takes the user from the session, checks
//! what it must, calls a service in `server/`, and maps errors to `ApiError`.

pub mod admin;
pub mod auth;
pub mod canned;
#[cfg(feature = "ssr")]
pub(crate) mod edge;
pub mod error;
pub mod files;
pub mod mentions;
pub mod notifications;
pub mod presence;
pub mod reactions;
pub mod reports;
pub mod rooms;
pub mod search;
pub mod sites;
pub mod support;
pub mod widget;

pub use error::ApiError;
