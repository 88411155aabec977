//! Real-time messaging. `protocol` is the WebSocket contract, compiled into
//! both the server and the WASM client (see docs/protocol.md); `hub` is the
//! server's fan-out to open sockets, each with its bounded `queue`; `client`
//! is the browser side, working on the signals in `link` and telling the page
//! through `LiveEvent`s (it never calls a component).

pub mod link;
pub mod protocol;
pub mod state;

#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod queue;

#[cfg(feature = "hydrate")]
pub mod client;
