//! Conversations over HTTP: history, direct chats, groups, hide, mute and
//! clear. Every function takes the user from the session and leaves the
//! rules to `server::services::conversations`; the live stream is the WebSocket.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{DirectOutcome, InvitationView, MemberView};
use crate::realtime::protocol::MessageView;

#[cfg(feature = "ssr")]
use {
    super::edge::{actor, participant, Edge},
    crate::server::services::conversations,
    crate::server::services::messages,
};

/// Emails separated by commas, semicolons, spaces or new lines, validated.
#[cfg(feature = "ssr")]
fn parse_emails(edge: &Edge, text: &str) -> Result<Vec<String>, ApiError> {
    text.split([',', ' ', '\n', ';'])
        .filter(|s| !s.trim().is_empty())
        .map(|raw| crate::validate::email(raw).map_err(|field| edge.fail(field.into(), "/")))
        .collect()
}

/// The ids of `emails`; any unknown one fails the whole call.
#[cfg(feature = "ssr")]
async fn user_ids(edge: &Edge, emails: &[String]) -> Result<Vec<i64>, ApiError> {
    let found = edge
        .state
        .store
        .user_ids_by_email(emails)
        .await
        .map_err(|e| edge.fail(e.into(), "/"))?;
    if found.len() < emails.len() {
        return Err(edge.fail(ApiError::UnknownMembers, "/"));
    }
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

/// Up to `limit` (max 200) messages of `room` below `before_seq`, oldest first.
/// Members only.
#[server(endpoint = "history")]
pub async fn history(room: i64, before_seq: i64, limit: i64) -> Result<Vec<MessageView>, ApiError> {
    let (edge, actor) = participant().await?;
    edge.answer(messages::history(&edge.state, actor.id, room, before_seq, limit).await)
}

/// Creates a group room named `name` with the accounts in `members`
/// (emails separated by commas or spaces; unknown ones are reported).
#[server(endpoint = "rooms/create")]
pub async fn create_group(name: String, members: String) -> Result<i64, ApiError> {
    let (edge, actor) = actor().await?;
    let name = crate::validate::room_name(&name).map_err(|field| edge.fail(field.into(), "/"))?;
    let emails = parse_emails(&edge, &members)?;
    let ids = user_ids(&edge, &emails).await?;
    edge.answer(conversations::create_group(&edge.state, &actor, &name, &ids).await)
}

/// Opens the direct chat with `email` (reused, or shown again if hidden);
/// an email without an account becomes a pending invitation.
#[server(endpoint = "rooms/direct")]
pub async fn start_direct(email: String) -> Result<DirectOutcome, ApiError> {
    let (edge, actor) = actor().await?;
    let email = crate::validate::email(&email).map_err(|field| edge.fail(field.into(), "/"))?;
    edge.answer(conversations::start_direct(&edge.state, &actor, &email).await)
}

/// The user's invitations still waiting for a sign-up.
#[server(endpoint = "rooms/invitations")]
pub async fn invitations() -> Result<Vec<InvitationView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::invitations(&edge.state, &actor).await)
}

#[server(endpoint = "rooms/members")]
pub async fn room_members(room: i64) -> Result<Vec<MemberView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::members(&edge.state, &actor, room).await)
}

/// Renames a group (its owner or an admin).
#[server(endpoint = "rooms/rename")]
pub async fn rename_room(room: i64, name: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let name = crate::validate::room_name(&name).map_err(|field| edge.fail(field.into(), "/"))?;
    edge.answer(conversations::rename(&edge.state, &actor, room, &name).await)
}

/// Adds the accounts in `members` (emails) to a group (its owner or an admin).
#[server(endpoint = "rooms/add")]
pub async fn add_members(room: i64, members: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let emails = parse_emails(&edge, &members)?;
    let ids = user_ids(&edge, &emails).await?;
    edge.answer(conversations::add_members(&edge.state, &actor, room, &ids).await)
}

/// Removes a member from a group (its owner or an admin; anyone for themself).
#[server(endpoint = "rooms/remove")]
pub async fn remove_member(room: i64, user_id: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::remove_member(&edge.state, &actor, room, user_id).await)
}

#[server(endpoint = "rooms/leave")]
pub async fn leave_room(room: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::leave(&edge.state, &actor, room).await)
}

/// Hides the room from the user's own sidebar (or shows it again).
#[server(endpoint = "rooms/hide")]
pub async fn hide_room(room: i64, hidden: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::set_hidden(&edge.state, &actor, room, hidden).await)
}

#[server(endpoint = "rooms/mute")]
pub async fn mute_room(room: i64, muted: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::set_muted(&edge.state, &actor, room, muted).await)
}

/// Deletes the room's whole history for every member.
#[server(endpoint = "rooms/clear")]
pub async fn clear_room(room: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(conversations::clear(&edge.state, &actor, room).await)
}
