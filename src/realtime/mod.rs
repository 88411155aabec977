//! Real-time messaging. `protocol` is the WebSocket contract, compiled into
//! both the server and the WASM client (see docs/protocol.md); `hub` is the
//! server's fan-out to open sockets, each with its bounded `queue`; `client`
//! is the browser side, working on the signals in `link` and telling the page
//! through `LiveEvent`s (it never calls a component). `awareness` is the
//! client's live view of other people (presence, typing, read receipts),
//! kept apart from `state`, which the sync contract covers.

pub mod awareness;
pub mod link;
pub mod protocol;
pub mod state;

#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod ids;
#[cfg(feature = "ssr")]
pub mod presence;
#[cfg(feature = "ssr")]
pub mod queue;

#[cfg(feature = "hydrate")]
pub mod client;
