//! Rooms and their history over HTTP. The live stream is the WebSocket.

use leptos::prelude::*;

use super::error::ApiError;
use crate::realtime::protocol::MessageView;

/// Up to `limit` (max 200) messages of `room` below `before_seq`, oldest first.
/// Members only.
#[server(endpoint = "history")]
pub async fn history(room: i64, before_seq: i64, limit: i64) -> Result<Vec<MessageView>, ApiError> {
    use super::edge::Edge;
    use crate::server::messages;

    let edge = Edge::get()?;
    let user = edge.require_user().await?;
    messages::history(&edge.state, user.id, room, before_seq, limit)
        .await
        .map_err(|err| edge.fail(err.into(), "/"))
}

/// Creates a group room named `name` with the accounts in `members`
/// (emails separated by commas or spaces; unknown ones are reported).
#[server(endpoint = "rooms/create")]
pub async fn create_group(name: String, members: String) -> Result<i64, ApiError> {
    use super::edge::Edge;
    use super::validate;
    use crate::server::messages;

    let edge = Edge::get()?;
    let user = edge.require_user().await?;
    let name = validate::room_name(&name).map_err(|e| edge.fail(e, "/"))?;
    let mut emails = Vec::new();
    for raw in members
        .split([',', ' ', '\n', ';'])
        .filter(|s| !s.trim().is_empty())
    {
        emails.push(validate::email(raw).map_err(|e| edge.fail(e, "/"))?);
    }
    let found = edge
        .state
        .store
        .user_ids_by_email(&emails)
        .await
        .map_err(|e| edge.fail(e.into(), "/"))?;
    if found.len() < emails.len() {
        return Err(edge.fail(ApiError::UnknownMembers, "/"));
    }
    let ids: Vec<i64> = found.into_iter().map(|(_, id)| id).collect();
    messages::create_group(&edge.state, user.id, &name, &ids)
        .await
        .map_err(|err| edge.fail(err.into(), "/"))
}
