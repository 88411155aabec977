//! Exports as JSON: a person's own data (their profile and every message
//! of their conversations they may read, as the history shows it), and an
//! admin's export of one conversation. Both are decrypted, so each is in
//! the audit log, and each spends the export budget.

use std::time::Duration;

use serde::Serialize;

use super::actor::Actor;
use super::audit::{self, Who};
use crate::model::{MemberView, Role};
use crate::realtime::protocol::{MessageView, RoomKind};
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError};

const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("admins only")]
    Forbidden,
    #[error("no such conversation")]
    NotFound,
    #[error("too many exports; wait {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not write the export: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Serialize)]
struct Profile<'a> {
    id: i64,
    email: &'a str,
    display_name: &'a str,
    role: &'a str,
}

#[derive(Serialize)]
struct Conversation {
    room: i64,
    kind: RoomKind,
    /// As the exporting person sees it (a direct chat: the other person).
    name: String,
    messages: Vec<MessageView>,
}

#[derive(Serialize)]
struct OwnData<'a> {
    exported_at: i64,
    profile: Profile<'a>,
    conversations: Vec<Conversation>,
}

#[derive(Serialize)]
struct RoomExport {
    exported_at: i64,
    room: i64,
    kind: RoomKind,
    members: Vec<MemberView>,
    messages: Vec<MessageView>,
}

/// Every message of `room` below `before`, oldest first, page by page.
async fn all_messages(
    state: &AppState,
    room: i64,
    before: i64,
) -> Result<Vec<MessageView>, StoreError> {
    // Pages come newest first; each is oldest first within.
    let mut pages: Vec<Vec<MessageView>> = Vec::new();
    let mut before = before;
    loop {
        let page = state.store.messages_before(room, before, PAGE).await?;
        let Some(first) = page.first() else { break };
        before = first.seq;
        let full = page.len() as i64 == PAGE;
        pages.push(page);
        if !full {
            break;
        }
    }
    Ok(pages.into_iter().rev().flatten().collect())
}

/// The signed-in person's own data, as JSON.
pub async fn own_data(state: &AppState, actor: &Actor) -> Result<Vec<u8>, ExportError> {
    state
        .export_limiter
        .check(actor.id)
        .map_err(ExportError::SlowDown)?;
    let mut conversations = Vec::new();
    for summary in state.store.rooms_of(actor.id).await? {
        let messages = all_messages(state, summary.room, summary.last_seq + 1).await?;
        conversations.push(Conversation {
            room: summary.room,
            kind: summary.kind,
            name: summary.name,
            messages,
        });
    }
    let detail = format!("{} conversations", conversations.len());
    audit::record(
        &state.store,
        &Who::from(actor),
        "export.own",
        &actor.email,
        &detail,
    )
    .await;
    let export = OwnData {
        exported_at: now_ms(),
        profile: Profile {
            id: actor.id,
            email: &actor.email,
            display_name: &actor.name,
            role: actor.role.as_str(),
        },
        conversations,
    };
    Ok(serde_json::to_vec_pretty(&export)?)
}

/// One conversation, whoever is in it, for an admin (legal asks).
pub async fn room(state: &AppState, actor: &Actor, room: i64) -> Result<Vec<u8>, ExportError> {
    if actor.role != Role::Admin {
        return Err(ExportError::Forbidden);
    }
    state
        .export_limiter
        .check(actor.id)
        .map_err(ExportError::SlowDown)?;
    let kind = state
        .store
        .room_kind(room)
        .await?
        .ok_or(ExportError::NotFound)?;
    let messages = all_messages(state, room, i64::MAX).await?;
    let detail = format!("{} messages", messages.len());
    audit::record(
        &state.store,
        &Who::from(actor),
        "export.room",
        &format!("room {room}"),
        &detail,
    )
    .await;
    let export = RoomExport {
        exported_at: now_ms(),
        room,
        kind,
        members: state.store.members(room).await?,
        messages,
    };
    Ok(serde_json::to_vec_pretty(&export)?)
}
