//! The composer's `@` list. Mentions themselves travel with a `send` frame
//! and are checked by the message writer.

use leptos::prelude::*;

use super::error::ApiError;
use crate::realtime::protocol::Person;

#[cfg(feature = "ssr")]
use {super::edge::participant, crate::server::services::mentions};

/// Up to 8 members of `room` (not the asker) whose name, or a word of it,
/// starts with `typed` (any case). Members of the room only.
#[server(endpoint = "mentions")]
pub async fn mention_candidates(room: i64, typed: String) -> Result<Vec<Person>, ApiError> {
    let (edge, actor) = participant().await?;
    edge.answer(mentions::candidates(&edge.state, &actor, room, &typed).await)
}
