//! @mentions: who the composer's `@` list offers in a room. Who a message
//! mentions is decided by the message writer when it stores the message
//! (`store/writer/batch.rs`): members the sender picked whose `@Name` the
//! text holds, and `@room` in a group.

use super::actor::Actor;
use super::messages::MessageError;
use crate::realtime::protocol::Person;
use crate::server::state::AppState;

/// How many people the `@` list shows.
pub const CANDIDATES: i64 = 8;
/// The longest text looked up after the `@`, in characters.
pub const MAX_TYPED_CHARS: usize = 64;

/// Members of `room` whose name (or a word of it) starts with `typed`, for
/// a member of the room. The customer of a support conversation is offered
/// no one: the department's staff are not theirs to list.
pub async fn candidates(
    state: &AppState,
    actor: &Actor,
    room: i64,
    typed: &str,
) -> Result<Vec<Person>, MessageError> {
    if typed.chars().count() > MAX_TYPED_CHARS {
        return Err(MessageError::Invalid("that name is too long to look up"));
    }
    // No name holds a control character, and Postgres refuses a NUL in
    // text (found by the fuzz test at 3,000 cases).
    if typed.chars().any(char::is_control) {
        return Ok(Vec::new());
    }
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(MessageError::SlowDown)?;
    let summary = state
        .store
        .room_of(actor.id, room)
        .await?
        .ok_or(MessageError::Forbidden)?;
    if summary.support.is_some_and(|s| s.member_id == actor.id) {
        return Ok(Vec::new());
    }
    Ok(state
        .store
        .members_matching(room, actor.id, typed.trim_start(), CANDIDATES)
        .await?)
}
