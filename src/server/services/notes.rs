//! Internal notes: lines staff write in a support conversation that its
//! member never receives. They are messages of a room of their own (kind
//! `notes`, one per conversation, made on the first note) whose members are
//! the conversation's staff only, kept in step with them by
//! `support::resync`. Every path a line travels (live, catch-up, history,
//! search, unread, previews, files, typing, the `@` list) checks membership,
//! so the member has no way to a note, and their conversation's seqs stay
//! gap-free because a note takes none of them (docs/protocol.md).

use super::actor::Actor;
use super::publish::subscribe;
use super::support::{staff_room, SupportError};
use crate::server::state::AppState;
use crate::server::store::now_ms;

/// The notes room of support conversation `room`, made on first use with
/// the conversation's staff in it (each of their tabs gets `room_added`).
/// Staff of the conversation's department only.
pub async fn open(state: &AppState, actor: &Actor, room: i64) -> Result<i64, SupportError> {
    staff_room(state, actor, room).await?;
    if let Some(notes) = state.store.notes_of(room).await? {
        return Ok(notes);
    }
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(SupportError::SlowDown)?;
    let (notes, joined) = state.store.notes_room(room, now_ms()).await?;
    for user in joined {
        subscribe(state, user, notes).await?;
    }
    Ok(notes)
}
