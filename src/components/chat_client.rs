//! The chat state a page works with: the socket's `ClientState`, the
//! connection status, the outbox, and the selected room. Created by the chat
//! page and shared through context. On the server it stays empty (the page
//! renders its frame); in the browser `realtime::client::start` fills it.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::model::{InvitationView, Role, UserView};
use crate::realtime::awareness::Awareness;
use crate::realtime::link::SocketLink;
use crate::realtime::protocol::{
    calls_by_name, ClientFrame, FileView, MessageKind, MessageView, Person, Quote, RoomKind,
    RoomSummary, TYPING_EVERY_MS,
};
use crate::realtime::state::ClientState;

pub use crate::realtime::link::{ConnState, OutboxItem, OutboxStatus};

/// What a room's composer does besides writing a new message: a reply
/// and an edit exclude each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposerMode {
    /// Answering this message (its quote shows above the box).
    Reply(Quote),
    /// Editing message `seq`, whose text was `original` when editing began.
    Edit { seq: i64, original: String },
}

impl ComposerMode {
    /// The seq and original text of the message being edited.
    pub fn edited(&self) -> Option<(i64, String)> {
        match self {
            ComposerMode::Edit { seq, original } => Some((*seq, original.clone())),
            ComposerMode::Reply(_) => None,
        }
    }
}

#[derive(Clone, Copy)]
pub struct ChatClient {
    /// Who is signed in (from the page's session check).
    pub me: StoredValue<UserView>,
    /// Their role, kept live: an admin may change it while the page is open.
    pub role: RwSignal<Role>,
    pub state: RwSignal<ClientState>,
    pub conn: RwSignal<ConnState>,
    pub outbox: RwSignal<Vec<OutboxItem>>,
    pub selected: RwSignal<Option<i64>>,
    /// A message the address points at (`/c/ROOM/SEQ`): shown and
    /// highlighted once it is on screen.
    pub target: RwSignal<Option<(i64, i64)>>,
    /// Unsent composer text per room; survives switching rooms.
    pub drafts: RwSignal<HashMap<i64, String>>,
    /// Per room, the message its composer replies to or edits.
    pub composing: RwSignal<HashMap<i64, ComposerMode>>,
    /// The message (room, seq) whose delete waits for a yes.
    pub deleting: RwSignal<Option<(i64, i64)>>,
    /// The message (room, seq) the emoji picker is open for.
    pub picking: RwSignal<Option<(i64, i64)>>,
    /// The image (room, file id) the viewer shows.
    pub viewing: RwSignal<Option<(i64, i64)>>,
    /// Why the last edit, delete or reaction did not happen.
    pub notice: RwSignal<Option<String>>,
    /// Others' presence, typing and reads (`realtime::awareness`).
    pub awareness: RwSignal<Awareness>,
    /// This tab is in use: visible and touched lately.
    pub active: RwSignal<bool>,
    /// Per room, when this tab last said the user is typing there.
    typing_sent: StoredValue<HashMap<i64, f64>>,
    /// Per room, the people picked from the composer's `@` list: a send
    /// names those its text still calls.
    pub picked: StoredValue<HashMap<i64, Vec<Person>>>,
    /// Direct chats waiting for someone to sign up.
    pub invitations: RwSignal<Vec<InvitationView>>,
    /// The latest line for the screen reader's polite live region.
    pub announcement: RwSignal<String>,
    #[cfg(feature = "hydrate")]
    pub sender: StoredValue<Option<futures::channel::mpsc::UnboundedSender<String>>, LocalStorage>,
}

impl ChatClient {
    pub fn new(me: UserView) -> ChatClient {
        ChatClient {
            role: RwSignal::new(me.role),
            me: StoredValue::new(me),
            state: RwSignal::new(ClientState::default()),
            conn: RwSignal::new(ConnState::Connecting),
            outbox: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            target: RwSignal::new(None),
            drafts: RwSignal::new(HashMap::new()),
            composing: RwSignal::new(HashMap::new()),
            deleting: RwSignal::new(None),
            picking: RwSignal::new(None),
            viewing: RwSignal::new(None),
            notice: RwSignal::new(None),
            awareness: RwSignal::new(Awareness::default()),
            active: RwSignal::new(true),
            typing_sent: StoredValue::new(HashMap::new()),
            picked: StoredValue::new(HashMap::new()),
            invitations: RwSignal::new(Vec::new()),
            announcement: RwSignal::new(String::new()),
            #[cfg(feature = "hydrate")]
            sender: StoredValue::new_local(None),
        }
    }

    /// The signals the socket loop (`realtime::client`) works on.
    pub fn link(&self) -> SocketLink {
        SocketLink {
            role: self.role,
            state: self.state,
            conn: self.conn,
            outbox: self.outbox,
            notice: self.notice,
            awareness: self.awareness,
            selected: self.selected,
            active: self.active,
            #[cfg(feature = "hydrate")]
            sender: self.sender,
        }
    }

    /// Sends an edit, delete or reaction. Unlike a message it is not kept
    /// for later: offline, the user is told at once.
    fn change(&self, frame: ClientFrame) {
        if self.conn.get_untracked() != ConnState::Online {
            self.notice
                .set(Some("You are offline: try again once connected.".into()));
            return;
        }
        self.notice.set(None);
        self.transmit(frame);
    }

    pub fn edit(&self, room: i64, seq: i64, body: String) {
        self.change(ClientFrame::Edit { room, seq, body });
    }

    pub fn delete(&self, room: i64, seq: i64) {
        self.change(ClientFrame::Delete { room, seq });
    }

    /// Adds (`on`) or takes back the user's `emoji` on message `seq`.
    pub fn react(&self, room: i64, seq: i64, emoji: String, on: bool) {
        self.change(ClientFrame::React {
            room,
            seq,
            emoji,
            on,
        });
    }

    /// Adds `emoji` to the message, or takes it back when it is there.
    pub fn toggle_reaction(&self, message: &MessageView, emoji: &str) {
        let me = self.my_id();
        let mine = message
            .reactions
            .iter()
            .any(|r| r.emoji == emoji && r.users.iter().any(|u| u.id == me));
        self.react(message.room, message.seq, emoji.to_string(), !mine);
    }

    /// Starts editing `message` in its room's composer.
    pub fn start_edit(&self, message: &MessageView) {
        let mode = ComposerMode::Edit {
            seq: message.seq,
            original: message.body.clone(),
        };
        self.composing.update(|c| {
            c.insert(message.room, mode);
        });
    }

    /// Puts `message`'s quote above its room's composer.
    pub fn start_reply(&self, message: &MessageView) {
        let mode = ComposerMode::Reply(Quote::of(message));
        self.composing.update(|c| {
            c.insert(message.room, mode);
        });
    }

    /// The user's newest message in `room` that can still be edited.
    pub fn my_last_message(&self, room: i64) -> Option<MessageView> {
        let me = self.my_id();
        self.state.with_untracked(|s| {
            s.rooms.get(&room).and_then(|r| {
                r.messages
                    .values()
                    .rev()
                    .find(|m| m.sender_id == Some(me) && m.kind == MessageKind::Text && !m.deleted)
                    .cloned()
            })
        })
    }

    /// Queues a message (a reply when `reply` quotes the original), with
    /// uploaded `files`: shown as "sending…" at once, sent when connected.
    pub fn send(&self, room: i64, body: String, reply: Option<Quote>, files: Vec<FileView>) {
        if body.trim().is_empty() && files.is_empty() {
            return;
        }
        let mentions = self.people_called(room, &body);
        let item = OutboxItem {
            client_id: new_client_id(),
            room,
            body,
            reply,
            mentions,
            files,
            status: OutboxStatus::Sending,
        };
        let frame = item.frame();
        self.outbox.update(|items| items.push(item));
        self.transmit(frame);
    }

    /// Remembers `person`, picked from the `@` list of `room`.
    pub fn pick(&self, room: i64, person: Person) {
        self.picked.update_value(|p| {
            let list = p.entry(room).or_default();
            if !list.iter().any(|known| known.id == person.id) {
                list.push(person);
            }
        });
    }

    /// Whom `body` calls by `@Name` in `room`: among the people picked from
    /// the `@` list and those whose messages (or mentions) are held, so a
    /// name typed in full without the list calls too.
    fn people_called(&self, room: i64, body: &str) -> Vec<i64> {
        if !body.contains('@') {
            return Vec::new();
        }
        let me = self.my_id();
        let mut known: Vec<Person> = self
            .picked
            .with_value(|p| p.get(&room).cloned())
            .unwrap_or_default();
        self.state.with_untracked(|s| {
            if let Some(r) = s.rooms.get(&room) {
                for m in r.messages.values() {
                    if let Some(id) = m.sender_id {
                        known.push(Person {
                            id,
                            name: m.sender_name.clone(),
                        });
                    }
                    known.extend(m.mentions.iter().cloned());
                }
            }
        });
        let mut called: Vec<i64> = known
            .into_iter()
            .filter(|p| p.id != me && calls_by_name(body, &p.name))
            .map(|p| p.id)
            .collect();
        called.sort_unstable();
        called.dedup();
        called.truncate(crate::realtime::protocol::MAX_MENTIONS);
        called
    }

    /// Sends a failed message again, with its original client id.
    pub fn retry(&self, client_id: &str) {
        let mut frame = None;
        self.outbox.update(|items| {
            if let Some(item) = items.iter_mut().find(|i| i.client_id == client_id) {
                item.status = OutboxStatus::Sending;
                frame = Some(item.frame());
            }
        });
        if let Some(frame) = frame {
            self.transmit(frame);
        }
    }

    pub fn mark_read(&self, room: i64, seq: i64) {
        self.transmit(ClientFrame::Read { room, seq });
    }

    /// The composer of `room` holds `text` now (or was just sent, with
    /// `text` empty): says "typing" at most every `TYPING_EVERY_MS` while
    /// there is text, and "stopped" once when it is cleared.
    pub fn typed(&self, room: i64, text: &str, now: f64, sent: bool) {
        let last = self.typing_sent.with_value(|t| t.get(&room).copied());
        if text.trim().is_empty() {
            if last.is_some() {
                self.typing_sent.update_value(|t| {
                    t.remove(&room);
                });
                // After a send, the message itself tells the others.
                if !sent {
                    self.transmit(ClientFrame::Typing { room, on: false });
                }
            }
        } else if last.is_none_or(|at| now - at >= TYPING_EVERY_MS as f64) {
            self.typing_sent.update_value(|t| {
                t.insert(room, now);
            });
            self.transmit(ClientFrame::Typing { room, on: true });
        }
    }

    /// This tab became used, or unused.
    pub fn set_active(&self, active: bool) {
        if self.active.get_untracked() != active {
            self.active.set(active);
            self.transmit(ClientFrame::Presence { active });
        }
    }

    /// Asks for the presence of the open conversation's members (and of
    /// the sidebar's people).
    pub fn show_people(&self) {
        self.transmit(ClientFrame::View {
            room: self.selected.get_untracked(),
        });
    }

    #[cfg(feature = "hydrate")]
    fn transmit(&self, frame: ClientFrame) {
        self.sender.with_value(|sender| {
            if let Some(tx) = sender {
                let _ = tx.unbounded_send(frame.to_json());
            }
        });
    }

    #[cfg(not(feature = "hydrate"))]
    fn transmit(&self, _frame: ClientFrame) {}
}

/// Runs a server call from an event handler; its error, or none, lands in
/// `error`. Live effects of a success arrive over the socket.
pub fn spawn_call(
    call: impl std::future::Future<Output = Result<(), crate::api::error::ApiError>> + 'static,
    error: RwSignal<Option<String>>,
) {
    spawn_call_then(call, error, || {});
}

/// `spawn_call`, then `on_ok` after a success.
pub fn spawn_call_then(
    call: impl std::future::Future<Output = Result<(), crate::api::error::ApiError>> + 'static,
    error: RwSignal<Option<String>>,
    on_ok: impl FnOnce() + 'static,
) {
    leptos::task::spawn_local(async move {
        let result = call.await;
        // `error` belongs to the component that made the call: once it is
        // gone (a closed panel, a row redrawn), so is what `on_ok` updates.
        if error.is_disposed() {
            return;
        }
        error.set(result.as_ref().err().map(|e| e.to_string()));
        if result.is_ok() {
            on_ok();
        }
    });
}

impl ChatClient {
    /// Opens `room`. Opening the one already open changes nothing (a second
    /// set would redraw its list and drop what that list was loading).
    pub fn open(&self, room: i64) {
        if self.selected.get_untracked() != Some(room) {
            self.selected.set(Some(room));
        }
    }

    pub fn my_id(&self) -> i64 {
        self.me.with_value(|me| me.id)
    }

    /// The summary of `room`, tracked.
    pub fn summary(&self, room: i64) -> Option<RoomSummary> {
        self.state
            .with(|s| s.rooms.get(&room).map(|r| r.summary.clone()))
    }

    /// Owners and admins manage a group (rename, members).
    pub fn can_manage(&self, summary: &RoomSummary) -> bool {
        summary.kind == RoomKind::Group
            && (summary.owner || self.role.get_untracked() == Role::Admin)
    }

    /// Agents and admins work the support queue.
    pub fn is_staff(&self) -> bool {
        self.role.get() != Role::Member
    }

    /// Whether the user may (edit, delete) `message`: the author edits; the
    /// author deletes, and in a group its owners and admins too; nobody
    /// does either in a support conversation, whose record stays whole.
    pub fn may_change(&self, message: &MessageView) -> (bool, bool) {
        if message.kind != MessageKind::Text || message.deleted {
            return (false, false);
        }
        let own = message.sender_id == Some(self.my_id());
        let admin = self.role.get_untracked() == Role::Admin;
        self.state
            .with_untracked(|s| match s.rooms.get(&message.room) {
                Some(r) if matches!(r.summary.kind, RoomKind::Support | RoomKind::Notes) => {
                    (false, false)
                }
                Some(r) => {
                    let moderator = r.summary.kind == RoomKind::Group && (r.summary.owner || admin);
                    (own, own || moderator)
                }
                None => (false, false),
            })
    }

    /// The message at `seq` in `room`, as the client holds it now.
    pub fn message(&self, room: i64, seq: i64) -> Option<MessageView> {
        self.state.with_untracked(|s| {
            s.rooms
                .get(&room)
                .and_then(|r| r.messages.get(&seq).cloned())
        })
    }

    /// Either side of a direct chat clears it; in a group, who manages it.
    pub fn can_clear(&self, summary: &RoomSummary) -> bool {
        summary.kind == RoomKind::Direct || self.can_manage(summary)
    }
}

#[cfg(feature = "hydrate")]
fn new_client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(not(feature = "hydrate"))]
fn new_client_id() -> String {
    String::new()
}
