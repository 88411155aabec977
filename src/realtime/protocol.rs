//! The WebSocket contract, declared once for both sides. JSON text frames,
//! internally tagged by `"type"`. docs/protocol.md explains the rules
//! (sequence numbers, acks, catch-up, read marks) that these carry.

use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;

/// The longest message body, in characters (the server's default limit;
/// `GLASSCHAT_MAX_MESSAGE_CHARS` can lower or raise it there).
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Close codes the client acts on.
pub mod close {
    /// The socket fell behind (its queue filled): reconnect and catch up.
    pub const LAGGED: u16 = 4000;
    /// The session ended (logout, revocation): go to the login page.
    pub const UNAUTHORIZED: u16 = 4001;
    /// Every session of this user was revoked (a password change or
    /// reset elsewhere, a deactivation): log in again.
    pub const REVOKED: u16 = 1008;
    /// The node is stopping (a rolling restart; RFC 6455's "Service
    /// Restart"): reconnect at once, without back-off, and another node
    /// (or this one, back) takes the socket.
    pub const RESTARTING: u16 = 1012;
    /// A frame over the size limit (RFC 6455 "message too big").
    pub const TOO_BIG: u16 = 1009;
    /// Frames kept coming past their budget after `slow_down` answers:
    /// reconnect later (the browser's backoff does).
    pub const FLOODED: u16 = 4002;
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame after `Welcome`: per room, the newest seq the client
    /// holds. The server sends everything after it before live traffic.
    /// Rooms left out start at the seq `Welcome` reported.
    Hello {
        rooms: Vec<RoomCursor>,
    },
    /// Store a message. `client_id` (a UUID the client made) makes it
    /// idempotent: resending it returns the first ack and stores nothing.
    Send {
        room: i64,
        client_id: String,
        body: String,
        /// The seq of the message (in the same room) this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<i64>,
        /// The members this message calls (picked from the `@` list). The
        /// server keeps those who are members and whose `@Name` the body
        /// holds; `@room` in a group is read from the body itself.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<i64>,
        /// Finished uploads of this user into this room (at most
        /// `MAX_FILES_PER_MESSAGE`), sent with this message; the body may
        /// then be empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<i64>,
    },
    /// Replace the text of your own message `seq` in `room`.
    Edit {
        room: i64,
        seq: i64,
        body: String,
    },
    /// Delete message `seq`: your own, or in a group any message when you
    /// own the group or are an admin. It stays as a tombstone.
    Delete {
        room: i64,
        seq: i64,
    },
    /// Add (`on`) or take back your `emoji` reaction to message `seq`.
    /// Stating the wanted end makes a resend harmless.
    React {
        room: i64,
        seq: i64,
        emoji: String,
        on: bool,
    },
    /// "I have read up to `seq`". Marks never move backwards.
    Read {
        room: i64,
        seq: i64,
    },
    /// This tab is in use (visible and touched in the last
    /// `IDLE_AFTER_MS`) or not. Sent when it changes; a new socket counts
    /// as active until it says otherwise.
    Presence {
        active: bool,
    },
    /// The conversation this tab shows (`None`: none): its members' presence
    /// is sent to this socket, besides that of the people its direct chats
    /// and support conversations are with. Replaces the previous one.
    View {
        #[serde(default)]
        room: Option<i64>,
    },
    /// The user is typing in `room` (`on`), at most once every
    /// `TYPING_EVERY_MS`; `on: false` when the text was cleared.
    Typing {
        room: i64,
        on: bool,
    },
    Ping,
}

/// A tab untouched this long counts as away.
pub const IDLE_AFTER_MS: u64 = 5 * 60 * 1000;
/// A typing client repeats its `typing` frame at most this often...
pub const TYPING_EVERY_MS: u64 = 3_000;
/// ...and others stop showing it this long after the last one.
pub const TYPING_SHOWN_MS: u64 = 6_000;
/// Read receipts are kept to conversations of at most this many members
/// (in bigger ones "seen by" would be noise, and its traffic grows with
/// the square of the room).
pub const RECEIPTS_MAX_MEMBERS: i64 = 100;

/// How present a person is: the most present of their tabs, on any node.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    #[default]
    Offline,
    /// Tabs open, none of them in use.
    Away,
    Online,
}

/// A person's presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceView {
    pub user: i64,
    pub state: Presence,
    /// Offline: when they were last seen (Unix ms), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCursor {
    pub room: i64,
    pub last_seq: i64,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every socket.
    Welcome {
        protocol: u32,
        user_id: i64,
        rooms: Vec<RoomSummary>,
    },
    /// A stored message; per room, seqs arrive in increasing order, each once.
    Message(MessageView),
    /// A message changed (edited, deleted, reacted to). The change has a
    /// seq of its own in the room's sequence (so it is delivered like a
    /// message: once, in order, in catch-up), and carries the message as
    /// it is now.
    Changed(Change),
    /// The catch-up for `room` is complete up to `seq`; live traffic follows.
    CaughtUp {
        room: i64,
        seq: i64,
    },
    Ack(Ack),
    /// The user's read mark in `room` changed (this tab, another tab, or a send).
    ReadMark {
        room: i64,
        read_seq: i64,
        last_seq: i64,
        unread: i64,
        /// Of those, the ones that mention the user (or `@room`).
        #[serde(default)]
        mentions: i64,
    },
    /// The user was added to a room while connected.
    RoomAdded(RoomSummary),
    /// A room's details changed for this user (renamed, hidden, shown,
    /// muted, membership role). Seqs and read marks in it never go back.
    RoomUpdated(RoomSummary),
    /// The user left or was removed: drop the room; nothing more arrives.
    RoomRemoved {
        room: i64,
    },
    /// An admin changed this user's role or departments; the rooms it
    /// gains or loses arrive as `room_added` / `room_removed`.
    RoleChanged {
        role: crate::model::Role,
    },
    Error(FrameError),
    Pong,
    /// People this socket shows changed presence (or, after `view`, where
    /// each of them stands now). Not stored, not part of catch-up.
    Presence {
        users: Vec<PresenceView>,
    },
    /// A member of `room` started (`on`) or stopped typing. Not stored,
    /// not part of catch-up: a client stops showing it `TYPING_SHOWN_MS`
    /// after the last one, or when that person's message arrives.
    Typing {
        room: i64,
        user: i64,
        name: String,
        on: bool,
    },
    /// A member's read mark in `room` moved to `read_seq` (read receipts:
    /// both sides have them on, the room is small enough).
    Seen(Reader),
}

/// Who has read how far in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    pub room: i64,
    pub user: i64,
    pub name: String,
    pub read_seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    Direct,
    Group,
    Support,
    /// A support conversation's internal notes, seen by its staff only.
    Notes,
}

impl RoomKind {
    pub fn parse(text: &str) -> RoomKind {
        match text {
            "direct" => RoomKind::Direct,
            "support" => RoomKind::Support,
            "notes" => RoomKind::Notes,
            _ => RoomKind::Group,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: i64,
    pub kind: RoomKind,
    /// A group's name; for a direct chat, the other person's display name.
    pub name: String,
    pub last_seq: i64,
    pub read_seq: i64,
    /// Other people's messages above the read mark that are still there
    /// (not system lines, not changes, not deleted ones), counted up to
    /// `last_seq`.
    pub unread: i64,
    /// Of those, the ones that mention this user (by name or `@room`).
    #[serde(default)]
    pub mentions: i64,
    /// Unix ms of the newest message (or of the room's creation).
    pub last_activity: i64,
    /// The newest message, for the sidebar preview (body cut to a preview).
    pub last: Option<MessageView>,
    /// Direct chats: the other person's email.
    pub peer_email: Option<String>,
    /// Direct chats: the other person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<i64>,
    /// Removed from this user's sidebar until the next message.
    pub hidden: bool,
    /// No notifications for this user.
    pub muted: bool,
    /// This user owns the group (may rename, add and remove, clear).
    pub owner: bool,
    /// Support conversations: who asked which department, and its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportInfo>,
    /// A notes room (staff only): the support conversation its notes
    /// belong to. Its own seqs; the conversation's stay gap-free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes_of: Option<i64>,
    /// Retention deleted every message at or below this seq: a client
    /// drops what it holds there.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trimmed_through: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SupportStatus {
    Open,
    Resolved,
}

/// A support conversation: one per member and department. Its room's
/// members are that member plus the department's staff (its agents and
/// every admin), kept in step with roles by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportInfo {
    pub department_id: i64,
    pub department: String,
    /// The member who asked (the customer side).
    pub member_id: i64,
    pub member_name: String,
    pub status: SupportStatus,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    /// Unix ms of the member's oldest message that no staff reply has
    /// answered yet; `None` when nobody is waiting.
    pub waiting_since: Option<i64>,
    /// A conversation from a website's widget: which site, and whether the
    /// site vouched for who the visitor is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteMark>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteMark {
    pub name: String,
    pub verified: bool,
}

impl SupportInfo {
    /// The waiting rule, as the server's summary query computes it: a
    /// member's message starts the wait, any staff reply ends it.
    pub fn on_message(&mut self, message: &MessageView) {
        if message.kind != MessageKind::Text {
            return;
        }
        if message.sender_id == Some(self.member_id) {
            self.waiting_since.get_or_insert(message.created_at);
        } else {
            self.waiting_since = None;
        }
    }
}

impl RoomSummary {
    /// The one person this conversation is with, as `user_id` sees it: the
    /// other side of a direct chat; for staff, the member a support
    /// conversation is with.
    pub fn person_for(&self, user_id: i64) -> Option<i64> {
        match &self.support {
            Some(s) if s.member_id != user_id => Some(s.member_id),
            Some(_) => None,
            None => self.peer_id,
        }
    }

    /// A support conversation seen from the staff side (in a queue, not
    /// in the sidebar).
    pub fn staffed_by(&self, user_id: i64) -> bool {
        self.support
            .as_ref()
            .is_some_and(|s| s.member_id != user_id)
    }

    /// Whether new messages here call for this user (title count, browser
    /// notification). Staff are called by an unassigned conversation of
    /// their department, then only the assignee is.
    pub fn calls(&self, user_id: i64) -> bool {
        match &self.support {
            Some(s) if s.member_id != user_id => s.assignee_id.is_none_or(|a| a == user_id),
            _ => true,
        }
    }
}

/// How much of the newest message a summary carries.
pub const PREVIEW_CHARS: usize = 120;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    #[default]
    Text,
    System,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub room: i64,
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub sender_name: String,
    pub kind: MessageKind,
    pub body: String,
    /// Server time, Unix milliseconds. For display only: order is by seq.
    pub created_at: i64,
    /// The sender's idempotency key, so the sending tab can match its outbox.
    pub client_id: Option<String>,
    /// System lines: what happened (`body` holds its plain-text description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<SystemEvent>,
    /// For a reply: the message it answers, as its quote shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Quote>,
    /// Unix ms of the newest edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// Deleted: the row keeps its seq, `body` is empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions, in the order each emoji was first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The people it mentions, as fixed when it was sent (a deleted
    /// message keeps them, so counts can drop it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Person>,
    /// It says `@room` in a group: it mentions every member.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mentions_room: bool,
    /// Files sent with it, in the order they were attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileView>,
}

/// The most files one message carries.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// What files sent without text show as: "📎 report.pdf", "📎 3 files".
pub fn files_label(count: usize, first: Option<&str>) -> String {
    match (count, first) {
        (1, Some(name)) => format!("📎 {name}"),
        (0 | 1, _) => "📎 File".to_string(),
        (n, _) => format!("📎 {n} files"),
    }
}

/// The largest file, in bytes (the server's default; `GLASSCHAT_MAX_FILE_MB`
/// changes it there, and the server refuses what is over its own limit).
pub const MAX_FILE_BYTES: i64 = 25 * 1000 * 1000;

/// A file in a message. Its bytes are read from `/files/ID` (the upload as
/// it came, always as a download) and, for an image, `/files/ID/thumb` and
/// `/files/ID/preview` (made by the server, metadata stripped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    /// In bytes.
    pub size: i64,
    /// Sniffed from the content by the server, never taken from the name.
    pub mime: String,
    /// An image shown inline: its size in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

impl FileView {
    /// Whether it is shown inline (a thumbnail and a preview were made).
    pub fn is_image(&self) -> bool {
        self.width.is_some() && self.height.is_some()
    }

    pub fn download_url(&self) -> String {
        format!("/files/{}", self.id)
    }

    pub fn thumbnail_url(&self) -> String {
        format!("/files/{}/thumb", self.id)
    }

    pub fn preview_url(&self) -> String {
        format!("/files/{}/preview", self.id)
    }
}

/// A size as people read it: "532 B", "14 KB", "3.2 MB" (powers of 1000,
/// as the limits are stated).
pub fn human_size(bytes: i64) -> String {
    // Whole numbers only: formatting a float would add its code (tens of
    // kilobytes) to the browser's first download.
    let b = bytes.max(0);
    if b < 1000 {
        format!("{b} B")
    } else if b < 999_500 {
        format!("{} KB", (b + 500) / 1000)
    } else if b < 10_000_000 && b % 1_000_000 != 0 {
        let tenths = (b + 50_000) / 100_000;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} MB", (b + 500_000) / 1_000_000)
    }
}

/// One emoji under a message and who reacted with it (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: i64,
    pub name: String,
}

/// The most people one message mentions by name.
pub const MAX_MENTIONS: usize = 50;
/// Mentions every member of a group.
pub const ROOM_MENTION: &str = "@room";

/// Whether `body` calls `name` with `@name` (any case), ending at a word's
/// end: "@Ada," mentions Ada, "@Adam" does not.
pub fn calls_by_name(body: &str, name: &str) -> bool {
    name_calls(body, name).next().is_some()
}

/// Where `body` calls `name` (`@name`, any case, at a word's start and
/// end): the byte ranges of each `@name`. The composer, the server and the
/// highlight all read mentions through this one rule.
pub fn name_calls<'a>(body: &'a str, name: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let name = name.trim();
    body.match_indices('@').filter_map(move |(at, _)| {
        if name.is_empty() {
            return None;
        }
        let starts_word = body[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '@');
        let end = at + 1 + prefix_len_any_case(&body[at + 1..], name)?;
        let ends_word = body[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        (starts_word && ends_word).then_some((at, end))
    })
}

/// The length in bytes of the start of `text` that is `prefix` in any case.
fn prefix_len_any_case(text: &str, prefix: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    for wanted in prefix.chars() {
        let (_, have) = chars.next()?;
        if !have.to_lowercase().eq(wanted.to_lowercase()) {
            return None;
        }
    }
    Some(chars.next().map_or(text.len(), |(i, _)| i))
}

/// The most reactions (distinct emoji) one message takes, and the longest
/// emoji sequence accepted, in bytes.
pub const MAX_REACTIONS: usize = 50;
pub const MAX_EMOJI_BYTES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Edited,
    Deleted,
    Reacted,
}

/// What a `changed` frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub room: i64,
    /// The change's own seq (not the message's).
    pub seq: i64,
    pub change: ChangeKind,
    /// The message as it is now.
    pub message: MessageView,
}

/// The longest quote of a replied-to message, in characters.
pub const QUOTE_CHARS: usize = 100;

/// A reply's quote: the original's author and first line, read from the
/// original as it is now (so a reply to a message deleted later quotes
/// nothing: `gone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub seq: i64,
    pub sender_name: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

impl Quote {
    /// The quote of `original`: its first line of text (not a code fence),
    /// as plain text (Markdown's marks left out), cut.
    pub fn of(original: &MessageView) -> Quote {
        if original.deleted {
            return Quote::gone(original.seq);
        }
        let line = original
            .body
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with("~~~"))
            .map(plain_line)
            .unwrap_or_default();
        let mut text: String = line.chars().take(QUOTE_CHARS).collect();
        if line.chars().count() > QUOTE_CHARS {
            text.push('…');
        }
        Quote {
            seq: original.seq,
            sender_name: original.sender_name.clone(),
            text,
            gone: false,
        }
    }

    /// The quote of a message that is no longer there.
    pub fn gone(seq: i64) -> Quote {
        Quote {
            seq,
            sender_name: String::new(),
            text: String::new(),
            gone: true,
        }
    }
}

/// One line of Markdown as the text it shows: without a quote's `>`, a
/// heading's `#`, a list's bullet or number, emphasis, strikethrough and
/// code marks, and with a link's text for the link. Cheap and small (the
/// parser stays out of the page's first load); a quote needs no more.
pub fn plain_line(line: &str) -> String {
    // Block marks at the start: quote, heading, bullet, number.
    let mut rest = line.trim();
    loop {
        let before = rest.len();
        rest = rest.trim_start_matches(['>', '#', ' ']);
        for bullet in ["- ", "* ", "+ "] {
            rest = rest.strip_prefix(bullet).unwrap_or(rest);
        }
        let number = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if number.len() < rest.len() {
            if let Some(after) = number.strip_prefix(['.', ')']) {
                rest = after;
            }
        }
        if rest.len() == before {
            break;
        }
    }
    // Inline marks: emphasis (a `*` or `_` that opens or closes a word, not
    // `2 * 3` or `snake_case`), strikethrough, code, and a link's address.
    let chars: Vec<char> = rest.chars().collect();
    let edge = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_none_or(|c| c.is_whitespace() || c.is_ascii_punctuation())
    };
    let mut out = String::with_capacity(rest.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '`' | '[' => {}
            '~' if next == Some('~') => i += 1,
            '*' | '_' if next == Some(c) => i += 1,
            '*' | '_' if edge(i.checked_sub(1)) != edge(Some(i + 1)) => {}
            ']' if next == Some('(') => {
                // Skip the address, up to its `)`.
                i = (i + 2..chars.len())
                    .find(|&j| chars[j] == ')')
                    .unwrap_or(chars.len());
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

impl MessageView {
    /// Whether this message counts as unread for `user` above their read
    /// mark: someone else's text that is still there.
    pub fn counts_for(&self, user: i64) -> bool {
        self.kind == MessageKind::Text && !self.deleted && self.sender_id != Some(user)
    }

    /// Whether this message calls `user`, by name or with `@room`.
    pub fn mentions_user(&self, user: i64) -> bool {
        self.mentions_room || self.mentions.iter().any(|p| p.id == user)
    }

    /// Whether it counts in `user`'s mention badge above their read mark.
    pub fn counts_as_mention_for(&self, user: i64) -> bool {
        self.counts_for(user) && self.mentions_user(user)
    }

    /// A copy with the body cut to `PREVIEW_CHARS`, for room summaries.
    /// The message as a sidebar preview shows it: body cut, no quote.
    pub fn preview(&self) -> MessageView {
        let mut short = self.clone();
        short.reply = None;
        short.reactions = Vec::new();
        short.mentions = Vec::new();
        short.mentions_room = false;
        short.body = self.text_or_files();
        short.files = Vec::new();
        if let Some((cut, _)) = short.body.char_indices().nth(PREVIEW_CHARS) {
            short.body.truncate(cut);
            short.body.push('…');
        }
        short
    }

    /// Its text, or for files sent alone what they are ("📎 report.pdf",
    /// "📎 3 files"), for a preview or a notification.
    pub fn text_or_files(&self) -> String {
        if !self.body.is_empty() || self.deleted || self.kind != MessageKind::Text {
            return self.body.clone();
        }
        let first = self.files.first().map(|f| f.name.as_str());
        files_label(self.files.len(), first)
    }

    /// The same message with `text_or_files` as its text, for a preview
    /// made where only the count and the first file's name are known (the
    /// server's room summaries).
    pub fn with_files_label(mut self, count: i64, first: Option<&str>) -> MessageView {
        if self.body.is_empty() && !self.deleted && count > 0 {
            self.body = files_label(count as usize, first);
        }
        self
    }

    /// True for the line that a clear leaves: everything before it is gone.
    pub fn is_clear(&self) -> bool {
        matches!(self.event, Some(SystemEvent::Cleared { .. }))
    }
}

/// What a system line records. Stored as this JSON in the message body, and
/// delivered with the same seqs and catch-up as any message: a client that
/// was offline during a clear learns of it from the catch-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SystemEvent {
    Renamed {
        by: String,
        name: String,
    },
    Added {
        by: String,
        names: Vec<String>,
    },
    Removed {
        by: String,
        name: String,
    },
    Left {
        name: String,
    },
    /// Every message before this line was deleted, for all members.
    Cleared {
        by: String,
    },
    /// Support: `name` took the conversation.
    Claimed {
        name: String,
    },
    /// Support: `by` handed the conversation to `to`.
    Assigned {
        by: String,
        to: String,
    },
    /// Support: moved from one department to another (unassigned again).
    Transferred {
        by: String,
        from: String,
        to: String,
    },
    Resolved {
        by: String,
    },
    /// By staff, or by the member writing in a resolved conversation.
    Reopened {
        by: String,
    },
    /// Support: the member rated the resolution whose line is at seq
    /// `resolution` (1 to 5; once per resolution).
    Rated {
        by: String,
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        resolution: i64,
    },
}

impl SystemEvent {
    /// A support status change, as reports record it (`support_events`).
    pub fn support_kind(&self) -> Option<&'static str> {
        match self {
            SystemEvent::Claimed { .. } => Some("claimed"),
            SystemEvent::Assigned { .. } => Some("assigned"),
            SystemEvent::Transferred { .. } => Some("transferred"),
            SystemEvent::Resolved { .. } => Some("resolved"),
            SystemEvent::Reopened { .. } => Some("reopened"),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SystemEvent::Renamed { by, name } => {
                format!("{by} renamed the group to \u{201c}{name}\u{201d}")
            }
            SystemEvent::Added { by, names } => format!("{by} added {}", names.join(", ")),
            SystemEvent::Removed { by, name } => format!("{by} removed {name}"),
            SystemEvent::Left { name } => format!("{name} left the group"),
            SystemEvent::Cleared { by } => format!("{by} cleared the history"),
            SystemEvent::Claimed { name } => format!("{name} is handling this conversation"),
            SystemEvent::Assigned { by, to } => format!("{by} assigned the conversation to {to}"),
            SystemEvent::Transferred { by, from, to } => {
                format!("{by} transferred the conversation from {from} to {to}")
            }
            SystemEvent::Resolved { by } => format!("{by} marked the conversation resolved"),
            SystemEvent::Reopened { by } => format!("{by} reopened the conversation"),
            SystemEvent::Rated {
                by, score, comment, ..
            } => match comment {
                Some(text) => format!("{by} rated the help {score} of 5: \u{201c}{text}\u{201d}"),
                None => format!("{by} rated the help {score} of 5"),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub client_id: String,
    pub room: i64,
    pub seq: i64,
    pub message_id: i64,
    pub server_time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not valid JSON or not a frame this server knows.
    BadFrame,
    /// Empty body, body too long, malformed client id.
    Invalid,
    /// Not a member of the room (or no such room: the same answer), or
    /// not allowed this action on this message.
    Forbidden,
    /// No such message in the room, or it was deleted.
    NotFound,
    /// Too many sends; `retry_after_ms` says when to try again.
    SlowDown,
    /// Something failed on the server; the send may be retried as is.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<i64>,
    /// For an edit, delete or reaction: the message it was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        // Serialising these plain data types cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"encoding"}"#)
        })
    }
}

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes one text frame; any failure is a `BadFrame` error for the sender.
    pub fn decode(text: &str) -> Result<ClientFrame, FrameError> {
        serde_json::from_str(text).map_err(|e| FrameError {
            code: ErrorCode::BadFrame,
            message: format!("unrecognised frame: {}", truncate(&e.to_string(), 200)),
            client_id: None,
            room: None,
            seq: None,
            retry_after_ms: None,
        })
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(532), "532 B");
        assert_eq!(human_size(14_400), "14 KB");
        assert_eq!(human_size(999_499), "999 KB");
        assert_eq!(human_size(999_500), "1.0 MB");
        assert_eq!(human_size(3_240_000), "3.2 MB");
        assert_eq!(human_size(1_000_000), "1 MB");
        assert_eq!(human_size(25_000_000), "25 MB");
        assert_eq!(human_size(20_600_000), "21 MB");
    }

    #[test]
    fn frames_are_tagged_json() {
        let send = ClientFrame::Send {
            room: 3,
            client_id: "c1".into(),
            body: "hi".into(),
            reply_to: None,
            mentions: Vec::new(),
            files: Vec::new(),
        };
        assert_eq!(
            send.to_json(),
            r#"{"type":"send","room":3,"client_id":"c1","body":"hi"}"#
        );
        assert_eq!(ClientFrame::decode(&send.to_json()).unwrap(), send);
        let pong = ServerFrame::Pong.to_json();
        assert_eq!(pong, r#"{"type":"pong"}"#);
    }

    #[test]
    fn a_name_is_called_with_an_at_sign_and_a_word_end() {
        assert!(calls_by_name("@Ada hi", "Ada"));
        assert!(calls_by_name("hi @ada, look", "Ada"));
        assert!(calls_by_name("ping @Ada Lovelace.", "Ada Lovelace"));
        assert!(calls_by_name("(@Ada)", "Ada"));
        assert!(!calls_by_name("@Adam hi", "Ada"));
        assert!(!calls_by_name("mail ada@Ada.org", "Ada"));
        assert!(!calls_by_name("Ada", "Ada"));
        assert!(!calls_by_name("@@Ada", "Ada"));
        assert!(!calls_by_name("@", ""));
        assert!(calls_by_name("first @Adam then @Ada", "Ada"));
        assert!(calls_by_name("¡@Élodie!", "élodie"));
        assert_eq!(
            name_calls("@Ada and @ada", "ADA").collect::<Vec<_>>(),
            vec![(0, 4), (9, 13)]
        );
    }

    #[test]
    fn a_quote_is_plain_text() {
        assert_eq!(
            plain_line("**Launch plan** for *Friday*:"),
            "Launch plan for Friday:"
        );
        assert_eq!(
            plain_line("> ## - see [the docs](https://x.y) `now`"),
            "see the docs now"
        );
        assert_eq!(plain_line("1. ~~old~~ new"), "old new");
        assert_eq!(plain_line("2 * 3 = snake_case"), "2 * 3 = snake_case");
        assert_eq!(plain_line("_it_ [open"), "it open");
        let body = "```\ncode\n```".to_string();
        let m = MessageView {
            body,
            ..MessageView::default()
        };
        assert_eq!(Quote::of(&m).text, "code");
    }

    #[test]
    fn junk_decodes_to_a_bad_frame_error() {
        for junk in [
            "",
            "null",
            "{}",
            r#"{"type":"explode"}"#,
            r#"{"type":"send","room":"x"}"#,
            "\u{0}\u{1}",
        ] {
            let err = ClientFrame::decode(junk).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadFrame, "{junk:?}");
            assert!(err.message.len() < 260);
        }
    }
}

/// Property tests of the frame decoder (proptest). `FUZZ_CASES` sets the
/// cases per property: a few thousand in `make test`, millions in
/// `make fuzz`. A failure is shrunk and its seed kept in
/// `proptest-regressions/realtime/protocol.txt`, replayed first on every run.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn cases() -> u32 {
        std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3_000)
    }

    /// Decoding either fails with a short `BadFrame` error or gives a frame
    /// that survives its own encoding.
    fn decodes_cleanly(text: &str) -> Result<(), TestCaseError> {
        match ClientFrame::decode(text) {
            Ok(frame) => {
                let again = ClientFrame::decode(&frame.to_json());
                prop_assert_eq!(again.ok(), Some(frame));
            }
            Err(err) => {
                prop_assert_eq!(err.code, ErrorCode::BadFrame);
                prop_assert!(err.message.len() < 260, "{}", err.message);
            }
        }
        Ok(())
    }

    /// Keys and strings from the frames' own vocabulary, so most inputs get
    /// past the tag and reach the typed fields.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "type",
                "hello",
                "send",
                "read",
                "ping",
                "rooms",
                "room",
                "last_seq",
                "seq",
                "client_id",
                "body",
                "edit",
                "delete",
                "react",
                "emoji",
                "on",
                "presence",
                "active",
                "view",
                "typing",
                "Send",
                "",
            ])
            .prop_map(str::to_string),
            ".{0,12}",
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop::num::f64::NORMAL.prop_map(Value::from),
            word().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((word(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    fn frame() -> impl Strategy<Value = ClientFrame> {
        let cursor =
            (any::<i64>(), any::<i64>()).prop_map(|(room, last_seq)| RoomCursor { room, last_seq });
        prop_oneof![
            prop::collection::vec(cursor, 0..5).prop_map(|rooms| ClientFrame::Hello { rooms }),
            (
                any::<i64>(),
                any::<String>(),
                any::<String>(),
                any::<Option<i64>>(),
                prop::collection::vec(any::<i64>(), 0..4),
                prop::collection::vec(any::<i64>(), 0..3),
            )
                .prop_map(|(room, client_id, body, reply_to, mentions, files)| {
                    ClientFrame::Send {
                        room,
                        client_id,
                        body,
                        reply_to,
                        mentions,
                        files,
                    }
                }),
            (any::<i64>(), any::<i64>()).prop_map(|(room, seq)| ClientFrame::Read { room, seq }),
            (any::<i64>(), any::<i64>(), any::<String>())
                .prop_map(|(room, seq, body)| ClientFrame::Edit { room, seq, body }),
            (any::<i64>(), any::<i64>()).prop_map(|(room, seq)| ClientFrame::Delete { room, seq }),
            (any::<i64>(), any::<i64>(), any::<String>(), any::<bool>()).prop_map(
                |(room, seq, emoji, on)| ClientFrame::React {
                    room,
                    seq,
                    emoji,
                    on
                }
            ),
            any::<bool>().prop_map(|active| ClientFrame::Presence { active }),
            any::<Option<i64>>().prop_map(|room| ClientFrame::View { room }),
            (any::<i64>(), any::<bool>()).prop_map(|(room, on)| ClientFrame::Typing { room, on }),
            Just(ClientFrame::Ping),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn any_text_decodes_cleanly(text in any::<String>()) {
            decodes_cleanly(&text)?;
        }

        #[test]
        fn any_json_decodes_cleanly(value in json()) {
            decodes_cleanly(&value.to_string())?;
        }

        /// Valid frames with bytes replaced, removed or inserted.
        #[test]
        fn mutated_frames_decode_cleanly(
            frame in frame(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
        ) {
            let mut bytes = frame.to_json().into_bytes();
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, byte),
                }
            }
            decodes_cleanly(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn every_frame_round_trips(frame in frame()) {
            prop_assert_eq!(ClientFrame::decode(&frame.to_json()).ok(), Some(frame));
        }
    }
}
