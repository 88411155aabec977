//! Presence and read receipts over HTTP: the user's privacy settings, and
//! where the other members of a conversation have read to (live changes
//! of both arrive over the socket).

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::Privacy;
use crate::realtime::protocol::Reader;

#[cfg(feature = "ssr")]
use {
    super::edge::{actor, participant},
    crate::server::services::{presence, receipts},
};

/// The signed-in user's "Appear offline" and "Send read receipts".
#[server(endpoint = "privacy")]
pub async fn my_privacy() -> Result<Privacy, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(presence::privacy(&edge.state, actor.id).await)
}

/// Changes them; every tab and node applies them at once.
#[server(endpoint = "privacy/set")]
pub async fn set_privacy(invisible: bool, receipts: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let privacy = Privacy {
        invisible,
        receipts,
    };
    edge.answer(presence::set_privacy(&edge.state, actor.id, privacy).await)
}

/// How far the other members of `room` have read (read receipts; empty
/// when the asker has them off, or the room shows none).
#[server(endpoint = "receipts")]
pub async fn room_readers(room: i64) -> Result<Vec<Reader>, ApiError> {
    let (edge, actor) = participant().await?;
    edge.answer(receipts::readers(&edge.state, actor.id, room).await)
}
