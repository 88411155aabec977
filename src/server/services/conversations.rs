//! The conversations service: direct chats (and invitations to them), group
//! membership, hide, mute and clear. Each operation checks who may do it,
//! changes the store, and only after the commit tells the hub which sockets
//! gain, lose or update a room. System lines ("Ada added Bo") go through the
//! message writer, so they take seqs like any message.

use super::actor::Actor;
use super::publish::{self, push_summaries, push_summary, subscribe, unsubscribe, ReadCount};
use crate::model::{DirectOutcome, InvitationView, MemberView, Role};
use crate::realtime::protocol::{RoomKind, SystemEvent};
use crate::server::auth::token;
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError, Stored, SystemLine, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error("that is your own email")]
    InviteSelf,
    #[error("some emails have no account")]
    UnknownMembers,
    #[error("not allowed")]
    Forbidden,
    #[error("too many invitations, retry in {0:?}")]
    SlowDown(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, ConversationError>;

/// Opens the direct chat with the account behind `email`: reused if it
/// exists, shown again if hidden. An unknown email stores an invitation that
/// the sign-up with that email completes.
pub async fn start_direct(state: &AppState, actor: &Actor, email: &str) -> Result<DirectOutcome> {
    if email == actor.email {
        return Err(ConversationError::InviteSelf);
    }
    let Some(peer) = state.store.user_by_email(email).await? else {
        state
            .invite_limiter
            .check(actor.id)
            .map_err(ConversationError::SlowDown)?;
        let token = token::generate().cookie_value;
        let (token, at) = state
            .store
            .invite(actor.id, email, &token, now_ms())
            .await?;
        return Ok(DirectOutcome::Invited(invitation(state, email, at, &token)));
    };
    let room = open_direct(state, actor.id, peer.id).await?;
    Ok(DirectOutcome::Room(room))
}

async fn open_direct(state: &AppState, starter: i64, peer: i64) -> Result<i64> {
    let (room, joined) = state.store.direct_room(starter, peer, now_ms()).await?;
    for user in &joined {
        subscribe(state, *user, room).await?;
    }
    if !joined.contains(&starter) {
        // It existed: it may just have been un-hidden for the starter.
        push_summary(state, starter, room).await?;
    }
    Ok(room)
}

/// After a sign-up through a member's invitation link (taken out of the
/// store by `registration::admit`: its token is single-use): the direct
/// chat with the inviter, live for them. Signing up with an invited email
/// proves nothing (anyone may type it), so other invitations to it stay
/// pending for their inviters.
pub async fn complete_invitation(state: &AppState, user: &UserRow, inviter: i64) -> Result<()> {
    if inviter != user.id {
        open_direct(state, inviter, user.id).await?;
    }
    Ok(())
}

pub async fn invitations(state: &AppState, actor: &Actor) -> Result<Vec<InvitationView>> {
    let pending = state.store.invitations_of(actor.id).await?;
    Ok(pending
        .into_iter()
        .map(|(email, at, token)| invitation(state, &email, at, &token))
        .collect())
}

/// The invitation as its inviter sees it, with the sign-up link to pass on:
/// the link carries the invitation's token (only the inviter and whoever
/// they give it to ever see it).
fn invitation(state: &AppState, email: &str, created_at: i64, token: &str) -> InvitationView {
    InvitationView {
        email: email.to_string(),
        created_at,
        signup_link: format!(
            "{}/signup?email={}&invite={}",
            state.config.public_origin,
            encode_query_value(email),
            encode_query_value(token)
        ),
    }
}

/// Creates a group owned by `actor` with `member_ids`.
pub async fn create_group(
    state: &AppState,
    actor: &Actor,
    name: &str,
    member_ids: &[i64],
) -> Result<i64> {
    let room = state
        .store
        .create_group(actor.id, name, member_ids, now_ms())
        .await?;
    let mut everyone = member_ids.to_vec();
    everyone.push(actor.id);
    everyone.sort_unstable();
    everyone.dedup();
    // No "created" line: a new group's first message is seq 1.
    for user in everyone {
        subscribe(state, user, room).await?;
    }
    Ok(room)
}

pub async fn rename(state: &AppState, actor: &Actor, room: i64, name: &str) -> Result<()> {
    require_group_manager(state, actor, room).await?;
    state.store.rename_room(room, name).await?;
    let event = SystemEvent::Renamed {
        by: actor.name.clone(),
        name: name.to_string(),
    };
    system_line(state, actor, room, event).await?;
    push_summaries(state, room).await?;
    Ok(())
}

/// Adds members to a group: its owner, or an admin who is a member. An
/// admin outside the group may moderate it (rename, remove, clear) but adds
/// nobody, themselves included: a new member reads the whole history, so
/// adding would be a way to read a private group without its members
/// knowing beforehand.
pub async fn add_members(state: &AppState, actor: &Actor, room: i64, ids: &[i64]) -> Result<()> {
    let allowed = match state.store.membership(actor.id, room).await? {
        Some((RoomKind::Group, owner)) => owner || actor.role == Role::Admin,
        _ => false,
    };
    if !allowed {
        return Err(ConversationError::Forbidden);
    }
    let added = state.store.add_members(room, ids, now_ms()).await?;
    if added.is_empty() {
        return Ok(());
    }
    for user in &added {
        subscribe(state, *user, room).await?;
    }
    let names = state
        .store
        .members(room)
        .await?
        .into_iter()
        .filter(|m| added.contains(&m.user_id))
        .map(|m| m.display_name)
        .collect();
    let event = SystemEvent::Added {
        by: actor.name.clone(),
        names,
    };
    system_line(state, actor, room, event).await?;
    Ok(())
}

/// Removes `user_id` from a group (owner or admin only). Their open sockets
/// stop receiving the room at once.
pub async fn remove_member(state: &AppState, actor: &Actor, room: i64, user_id: i64) -> Result<()> {
    if user_id == actor.id {
        return leave(state, actor, room).await;
    }
    require_group_manager(state, actor, room).await?;
    let members = state.store.members(room).await?;
    let Some(removed) = members.iter().find(|m| m.user_id == user_id) else {
        return Ok(()); // already gone: nothing to do
    };
    drop_member(state, room, removed).await?;
    let event = SystemEvent::Removed {
        by: actor.name.clone(),
        name: removed.display_name.clone(),
    };
    system_line(state, actor, room, event).await?;
    Ok(())
}

/// Leaves a group. Direct chats are not left but hidden.
pub async fn leave(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    match state.store.membership(actor.id, room).await? {
        Some((RoomKind::Group, _)) => {}
        _ => return Err(ConversationError::Forbidden),
    }
    let members = state.store.members(room).await?;
    let Some(me) = members.iter().find(|m| m.user_id == actor.id) else {
        return Err(ConversationError::Forbidden);
    };
    drop_member(state, room, me).await?;
    let event = SystemEvent::Left {
        name: actor.name.clone(),
    };
    system_line(state, actor, room, event).await?;
    Ok(())
}

async fn drop_member(state: &AppState, room: i64, member: &MemberView) -> Result<()> {
    state.store.remove_member(room, member.user_id).await?;
    unsubscribe(state, member.user_id, room);
    if member.owner {
        // Ownership may have passed on: refresh everyone's view of the room.
        push_summaries(state, room).await?;
    }
    Ok(())
}

/// Hides (or shows) a room in the actor's own sidebar, in every tab.
pub async fn set_hidden(state: &AppState, actor: &Actor, room: i64, hidden: bool) -> Result<()> {
    if !state.store.set_hidden(actor.id, room, hidden).await? {
        return Err(ConversationError::Forbidden);
    }
    Ok(push_summary(state, actor.id, room).await?)
}

pub async fn set_muted(state: &AppState, actor: &Actor, room: i64, muted: bool) -> Result<()> {
    if !state.store.set_muted(actor.id, room, muted).await? {
        return Err(ConversationError::Forbidden);
    }
    Ok(push_summary(state, actor.id, room).await?)
}

/// Deletes every message of the room for everyone, leaving one system line
/// that says who cleared it. Direct-chat participants, group owners and
/// admins may. Seqs keep counting; every member's unread becomes zero.
pub async fn clear(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    let allowed = match state.store.membership(actor.id, room).await? {
        Some((RoomKind::Direct, _)) => true,
        Some((RoomKind::Group, owner)) => owner || actor.role == Role::Admin,
        Some((RoomKind::Support | RoomKind::Notes, _)) => false,
        None => {
            actor.role == Role::Admin && state.store.room_kind(room).await? == Some(RoomKind::Group)
        }
    };
    if !allowed {
        return Err(ConversationError::Forbidden);
    }
    let event = SystemEvent::Cleared {
        by: actor.name.clone(),
    };
    let seq = system_line(state, actor, room, event).await?;
    for user in state.store.member_ids(room).await? {
        publish::read_mark(
            &state.hub,
            &state.fanout,
            user,
            room,
            ReadCount::all_read(seq),
        );
    }
    Ok(())
}

/// Who is in a room: for its members, and for an admin moderating a group
/// they are not in (to remove someone). Who talks to whom in a direct chat
/// is nobody else's business, an admin's included.
pub async fn members(state: &AppState, actor: &Actor, room: i64) -> Result<Vec<MemberView>> {
    let allowed = match state.store.membership(actor.id, room).await? {
        Some(_) => true,
        None => {
            actor.role == Role::Admin && state.store.room_kind(room).await? == Some(RoomKind::Group)
        }
    };
    if !allowed {
        return Err(ConversationError::Forbidden);
    }
    Ok(state.store.members(room).await?)
}

async fn require_group_manager(state: &AppState, actor: &Actor, room: i64) -> Result<()> {
    let allowed = match state.store.membership(actor.id, room).await? {
        Some((RoomKind::Group, owner)) => owner || actor.role == Role::Admin,
        Some(_) => false,
        None => {
            actor.role == Role::Admin && state.store.room_kind(room).await? == Some(RoomKind::Group)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(ConversationError::Forbidden)
    }
}

/// Stores a system line and publishes it; returns its seq.
pub(crate) async fn system_line(
    state: &AppState,
    actor: &Actor,
    room: i64,
    event: SystemEvent,
) -> Result<i64> {
    let line = SystemLine {
        room,
        actor_id: actor.id,
        actor_name: actor.name.clone(),
        event,
        now: now_ms(),
    };
    // The writer's hook has published it by the time this answers.
    match state.writer.write(line).await? {
        Stored::New(view) | Stored::Duplicate(view) => Ok(view.seq),
        Stored::NotMember
        | Stored::NoOriginal
        | Stored::NoFile
        | Stored::Reopened { .. }
        | Stored::Changed(_)
        | Stored::Unchanged
        | Stored::Refused(_)
        | Stored::Indexed { .. }
        | Stored::Trimmed { .. } => Err(ConversationError::Forbidden),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_links_encode_the_email() {
        assert_eq!(encode_query_value("a+b@x.io"), "a%2Bb%40x.io");
        assert_eq!(encode_query_value("ab.c-d_e~"), "ab.c-d_e~");
    }
}
