//! What the browser's socket loop (`client`) shares with the page: the
//! connection status, the outbox, and the signals it updates. Compiled into
//! both builds, since the server renders the page with them empty.

use leptos::prelude::*;

use super::awareness::Awareness;
use super::protocol::{ClientFrame, FileView, MessageView, Quote, RoomSummary};
use super::state::ClientState;
use crate::model::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Online,
    Offline { retry_in_ms: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Written (or waiting for the socket); resent after a reconnect.
    Sending,
    /// Acknowledged with this seq; gone once the message itself arrives.
    Sent(i64),
    /// Refused; the user may retry.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub client_id: String,
    pub room: i64,
    pub body: String,
    /// A reply: the quote shown while it is sending; its seq is sent.
    pub reply: Option<Quote>,
    /// The people picked from the `@` list whose names the body holds.
    pub mentions: Vec<i64>,
    /// Finished uploads sent with it (shown as they will be while sending).
    pub files: Vec<FileView>,
    pub status: OutboxStatus,
}

impl OutboxItem {
    /// The frame that sends it (again: a resend carries the same client id).
    pub fn frame(&self) -> ClientFrame {
        ClientFrame::Send {
            room: self.room,
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            reply_to: self.reply.as_ref().map(|q| q.seq),
            mentions: self.mentions.clone(),
            files: self.files.iter().map(|f| f.id).collect(),
        }
    }
}

/// The reactive state the socket loop reads and writes. The page's chat
/// state holds the same signals (`components::chat_client`); the loop knows
/// nothing of the page beyond these and the `LiveEvent`s it hands back.
#[derive(Clone, Copy)]
pub struct SocketLink {
    /// Kept live: an admin may change it while the page is open.
    pub role: RwSignal<Role>,
    pub state: RwSignal<ClientState>,
    pub conn: RwSignal<ConnState>,
    pub outbox: RwSignal<Vec<OutboxItem>>,
    /// Why the user's last edit, delete or reaction was refused.
    pub notice: RwSignal<Option<String>>,
    /// Others' presence, typing and reads.
    pub awareness: RwSignal<Awareness>,
    /// The conversation on screen (its members' presence is asked for).
    pub selected: RwSignal<Option<i64>>,
    /// This tab is in use (told to the server on every connect).
    pub active: RwSignal<bool>,
    /// Where sends go while the socket is open.
    #[cfg(feature = "hydrate")]
    pub sender: StoredValue<Option<futures::channel::mpsc::UnboundedSender<String>>, LocalStorage>,
}

/// Something new the page may want to tell the user about.
pub enum LiveEvent<'a> {
    /// A message that arrived live (not during a room's catch-up).
    Message(&'a MessageView),
    /// The user just gained this room.
    RoomAdded(&'a RoomSummary),
}
