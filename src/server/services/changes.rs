//! Edits, deletes and reactions: checked here (shape, budget), decided in
//! the writer's transaction (who may, on the rows as they are then), and
//! published like messages after the commit (`messages::publisher`).

use crate::realtime::protocol::ClientFrame;
use crate::server::services::emoji::is_emoji;
use crate::server::services::messages::{Author, MessageError};
use crate::server::state::AppState;
use crate::server::store::{now_ms, Action, ChangeRequest, Pending, StoreError, Stored};

/// A change handed to the writer and not yet answered.
pub struct PendingChange {
    pub room: i64,
    pub seq: i64,
    pub stored: Pending,
}

/// The action a client frame asks for, or `None` for frames that are not
/// changes.
pub fn action_of(frame: ClientFrame) -> Option<(i64, i64, Action)> {
    match frame {
        ClientFrame::Edit { room, seq, body } => Some((room, seq, Action::Edit(body))),
        ClientFrame::Delete { room, seq } => Some((room, seq, Action::Delete)),
        ClientFrame::React {
            room,
            seq,
            emoji,
            on,
        } => Some((room, seq, Action::React { emoji, on })),
        _ => None,
    }
}

/// Checks a change and hands it to the writer. The sender is the socket's
/// session (`author`); the frame only names the message.
pub async fn submit(
    state: &AppState,
    author: &Author,
    room: i64,
    seq: i64,
    action: Action,
) -> Result<PendingChange, MessageError> {
    if seq < 1 {
        return Err(MessageError::Invalid("seq must be a message's seq"));
    }
    match &action {
        Action::Edit(body) if body.trim().is_empty() => {
            return Err(MessageError::Invalid(
                "an edit cannot be empty: delete the message instead",
            ))
        }
        Action::Edit(body) if body.chars().count() > state.config.limits.max_message_chars => {
            return Err(MessageError::Invalid("the message is too long"))
        }
        Action::React { emoji, .. } if !is_emoji(emoji) => {
            return Err(MessageError::Invalid("a reaction must be one emoji"))
        }
        _ => {}
    }
    state
        .change_limiter
        .check(author.id)
        .map_err(MessageError::SlowDown)?;
    let stored = state
        .writer
        .submit(ChangeRequest {
            room,
            seq,
            actor_id: author.id,
            action,
            now: now_ms(),
        })
        .await?;
    Ok(PendingChange { room, seq, stored })
}

/// What the writer answered: nothing to say when the change was made (its
/// `changed` frame reaches every tab) or was already so; a refusal is an
/// error for the sender.
pub fn settle(stored: Result<Stored, StoreError>) -> Result<(), MessageError> {
    match stored? {
        Stored::Refused(refusal) => Err(MessageError::Refused(refusal)),
        _ => Ok(()),
    }
}
