//! The support desk: a member's one conversation per department, and what
//! staff do with it (claim, assign, transfer, resolve, reopen). Staff of a
//! department are its agents and every admin; they are members of each of
//! its conversations, so every message path (send, read, history, catch-up)
//! authorises them like anyone else, by membership. Whatever changes who is
//! staff calls `resync`, which adds and removes those memberships and the
//! open sockets with them.

use super::actor::Actor;
use super::conversations::{system_line, ConversationError};
use super::publish::{push_summaries, push_summary, subscribe, unsubscribe};
use crate::model::{DepartmentView, Role, StaffView};
use crate::realtime::protocol::SystemEvent;
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError, SupportRow};

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("not allowed")]
    Forbidden,
    #[error("no such department or conversation")]
    NotFound,
    #[error("the department is archived")]
    DepartmentClosed,
    #[error("the member already has a conversation with that department")]
    TransferConflict,
    #[error("that person is not staff of this department")]
    NotStaff,
    #[error("too many requests")]
    SlowDown(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConversationError> for SupportError {
    fn from(err: ConversationError) -> SupportError {
        match err {
            ConversationError::Store(e) => SupportError::Store(e),
            _ => SupportError::Forbidden,
        }
    }
}

type Result<T> = std::result::Result<T, SupportError>;

/// The departments a member can contact (admins also see archived ones).
pub async fn departments(state: &AppState, actor: &Actor) -> Result<Vec<DepartmentView>> {
    Ok(state.store.departments(actor.role == Role::Admin).await?)
}

/// Opens the actor's conversation with a department: created or reused.
pub async fn contact(state: &AppState, actor: &Actor, department_id: i64) -> Result<i64> {
    let department = state
        .store
        .department(department_id)
        .await?
        .ok_or(SupportError::NotFound)?;
    if department.archived {
        return Err(SupportError::DepartmentClosed);
    }
    let now = now_ms();
    let (room, new) = state
        .store
        .support_room(actor.id, department_id, now)
        .await?;
    if new {
        subscribe(state, actor.id, room).await?;
        resync(state, &[room]).await?;
    } else {
        // It existed: it may just have been un-hidden.
        push_summary(state, actor.id, room).await?;
    }
    Ok(room)
}

/// Who may take this conversation (for "Assign to"): staff only.
pub async fn staff(state: &AppState, actor: &Actor, room: i64) -> Result<Vec<StaffView>> {
    let support = staff_room(state, actor, room).await?;
    Ok(state.store.staff_of(support.department_id).await?)
}

/// The actor takes the conversation.
pub async fn claim(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    let support = staff_room(state, actor, room).await?;
    if support.assignee_id == Some(actor.id) && !support.resolved() {
        return Ok(());
    }
    state
        .store
        .set_support_state(room, support.department_id, "open", Some(actor.id))
        .await?;
    let event = SystemEvent::Claimed {
        name: actor.name.clone(),
    };
    announce(state, actor, room, event).await
}

/// Hands the conversation to another staff member of its department.
pub async fn assign(state: &AppState, actor: &Actor, room: i64, to: i64) -> Result<()> {
    let support = staff_room(state, actor, room).await?;
    if to == actor.id {
        return claim(state, actor, room).await;
    }
    let target = state
        .store
        .user_by_id(to)
        .await?
        .ok_or(SupportError::NotStaff)?;
    if !state.store.is_staff(to, support.department_id).await? {
        return Err(SupportError::NotStaff);
    }
    state
        .store
        .set_support_state(room, support.department_id, "open", Some(to))
        .await?;
    let event = SystemEvent::Assigned {
        by: actor.name.clone(),
        to: target.display_name,
    };
    announce(state, actor, room, event).await
}

/// Moves the conversation to another department, unassigned. Refused when
/// the member already talks to that department: the two are not merged.
pub async fn transfer(
    state: &AppState,
    actor: &Actor,
    room: i64,
    department_id: i64,
) -> Result<()> {
    let support = staff_room(state, actor, room).await?;
    if department_id == support.department_id {
        return Ok(());
    }
    let target = state
        .store
        .department(department_id)
        .await?
        .ok_or(SupportError::NotFound)?;
    if target.archived {
        return Err(SupportError::DepartmentClosed);
    }
    if state
        .store
        .support_room_exists(support.support_user_id, department_id)
        .await?
    {
        return Err(SupportError::TransferConflict);
    }
    match state
        .store
        .set_support_state(room, department_id, "open", None)
        .await
    {
        // A conversation with that department was opened meanwhile.
        Err(err) if err.is_unique_violation() => return Err(SupportError::TransferConflict),
        other => other?,
    }
    let event = SystemEvent::Transferred {
        by: actor.name.clone(),
        from: support.department,
        to: target.name,
    };
    // The old department's staff see the line, then lose the room.
    system_line(state, actor, room, event).await?;
    resync(state, &[room]).await?;
    push_summaries(state, room).await?;
    Ok(())
}

pub async fn resolve(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    set_resolved(state, actor, room, true).await
}

pub async fn reopen(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    set_resolved(state, actor, room, false).await
}

/// Resolves or reopens, keeping whoever handles it; a no-op when it is
/// already so (no second line).
async fn set_resolved(state: &AppState, actor: &Actor, room: i64, resolved: bool) -> Result<()> {
    let support = staff_room(state, actor, room).await?;
    if support.resolved() == resolved {
        return Ok(());
    }
    let (status, event) = if resolved {
        let by = actor.name.clone();
        ("resolved", SystemEvent::Resolved { by })
    } else {
        let by = actor.name.clone();
        ("open", SystemEvent::Reopened { by })
    };
    state
        .store
        .set_support_state(room, support.department_id, status, support.assignee_id)
        .await?;
    announce(state, actor, room, event).await
}

/// Makes the staff memberships of `rooms` match their departments, and the
/// open sockets with them: added staff get the room live, removed staff
/// lose it at once (nobody keeps a right they lost).
pub async fn resync(state: &AppState, rooms: &[i64]) -> std::result::Result<(), StoreError> {
    for room in rooms {
        let change = state.store.sync_support_staff(*room, now_ms()).await?;
        for user in change.removed {
            unsubscribe(state, user, *room);
        }
        for user in change.added {
            subscribe(state, user, *room).await?;
        }
        if let Some(notes) = change.notes {
            for user in notes.removed {
                unsubscribe(state, user, notes.room);
            }
            for user in notes.added {
                subscribe(state, user, notes.room).await?;
            }
        }
        if change.unassigned {
            // The assignee went with the removed staff: everyone left sees
            // the conversation back in the queue.
            push_summaries(state, *room).await?;
        }
    }
    Ok(())
}

/// The support conversation `room`, if the actor is staff of its department.
pub(super) async fn staff_room(state: &AppState, actor: &Actor, room: i64) -> Result<SupportRow> {
    let support = state
        .store
        .support_of(room)
        .await?
        .ok_or(SupportError::Forbidden)?;
    if support.support_user_id == actor.id
        || !state
            .store
            .is_staff(actor.id, support.department_id)
            .await?
    {
        return Err(SupportError::Forbidden);
    }
    Ok(support)
}

/// The status line, then everyone's refreshed summary.
async fn announce(state: &AppState, actor: &Actor, room: i64, event: SystemEvent) -> Result<()> {
    system_line(state, actor, room, event).await?;
    push_summaries(state, room).await?;
    Ok(())
}
