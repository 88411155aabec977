//! Satisfaction: when a support conversation is resolved, its member is
//! asked "How did we do?" and rates that resolution once, 1 to 5 with an
//! optional comment. The score is kept for reports (with the department
//! and whoever handled it); the rating reaches the conversation as a
//! `rated` system line, so staff see it where they work, live and in
//! catch-up like any line (the comment sealed with it).

use super::actor::Actor;
use super::conversations::{system_line, ConversationError};
use crate::realtime::protocol::SystemEvent;
use crate::server::state::AppState;
use crate::server::store::{now_ms, NewRating, StoreError};
use crate::validate::{self, Field};

#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    #[error("not allowed")]
    Forbidden,
    #[error("no resolution there to rate")]
    NotFound,
    #[error("that resolution was rated already")]
    AlreadyRated,
    #[error("invalid {0:?}")]
    Invalid(Field),
    #[error("too many changes, retry in {0:?}")]
    SlowDown(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConversationError> for RatingError {
    fn from(err: ConversationError) -> RatingError {
        match err {
            ConversationError::Store(e) => RatingError::Store(e),
            _ => RatingError::Forbidden,
        }
    }
}

/// The member of conversation `room` rates the resolution whose `resolved`
/// line is at seq `resolution`. Only the conversation's member (or website
/// visitor), once per resolution.
pub async fn rate(
    state: &AppState,
    actor: &Actor,
    room: i64,
    resolution: i64,
    score: i64,
    comment: &str,
) -> Result<(), RatingError> {
    let score = validate::rating_score(score).map_err(RatingError::Invalid)?;
    let comment = validate::rating_comment(comment).map_err(RatingError::Invalid)?;
    let support = state
        .store
        .support_of(room)
        .await?
        .ok_or(RatingError::Forbidden)?;
    if support.support_user_id != actor.id {
        return Err(RatingError::Forbidden);
    }
    state
        .change_limiter
        .check(actor.id)
        .map_err(RatingError::SlowDown)?;
    if resolution < 1 {
        return Err(RatingError::NotFound);
    }
    let line = state
        .store
        .messages_before(room, resolution.saturating_add(1), 1)
        .await?;
    let resolved = line.first().is_some_and(|m| {
        m.seq == resolution && matches!(m.event, Some(SystemEvent::Resolved { .. }))
    });
    if !resolved {
        return Err(RatingError::NotFound);
    }
    let rating = NewRating {
        room,
        resolved_seq: resolution,
        user_id: actor.id,
        department_id: support.department_id,
        agent_id: support.assignee_id,
        score,
        now: now_ms(),
    };
    if !state.store.add_rating(&rating).await? {
        return Err(RatingError::AlreadyRated);
    }
    let event = SystemEvent::Rated {
        by: actor.name.clone(),
        score: u8::try_from(score).unwrap_or(5),
        comment,
        resolution,
    };
    if let Err(err) = system_line(state, actor, room, event).await {
        // No line, no rating: the member may try again.
        state.store.remove_rating(room, resolution).await?;
        return Err(err.into());
    }
    Ok(())
}
