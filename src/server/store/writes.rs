//! What the message writer is handed (`Write`) and what each write
//! produced (`Stored`): messages, system lines and changes alike.

use super::changes::{ChangeRequest, Refusal};
use super::messages::{NewMessage, SystemLine};
use crate::realtime::protocol::{Change, MessageView};

/// What storing a message produced.
// Two views in `Reopened`: a batch holds a few of these for microseconds,
// not worth a box per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Stored {
    /// A new row: publish it.
    New(MessageView),
    /// The same (sender, client id) was stored before: answer with it, publish nothing.
    Duplicate(MessageView),
    /// The sender is not a member of the room (or it does not exist).
    NotMember,
    /// A reply to a seq with no message in the room: nothing stored.
    NoOriginal,
    /// A file it names is not a finished upload of the sender into the
    /// room (or was sent already): nothing stored.
    NoFile,
    /// A new message by the member of a resolved support conversation,
    /// and the system line that reopened it, stored with it.
    Reopened {
        message: MessageView,
        line: MessageView,
    },
    /// A change took the room's next seq: publish it.
    Changed(Change),
    /// The change asked for is already so (the same text, a reaction that
    /// is there, or not there): nothing stored, nothing to publish.
    Unchanged,
    /// A change that was not allowed; nothing stored.
    Refused(Refusal),
    /// A step of the search index's background pass: what is left of the room.
    Indexed { remaining: i64 },
    /// A retention step: `messages` rows of the room deleted, every one at
    /// or below `through` (0 when nothing was old enough).
    Trimmed { through: i64, messages: i64 },
}

/// One write the message writer performs.
#[derive(Debug, Clone)]
pub enum Write {
    Text(NewMessage),
    System(SystemLine),
    Change(ChangeRequest),
    /// Index the next slice of a room's older messages for search.
    Index(IndexStep),
    /// Delete a slice of a room's messages older than its retention.
    Trim(TrimStep),
}

/// A step of the search index's background pass, in one room.
#[derive(Debug, Clone, Copy)]
pub struct IndexStep {
    pub room: i64,
}

/// A retention step in one room: deletes its oldest messages, at most
/// `limit`, up to (not including) the first one written at or after
/// `cutoff` (Unix ms). Only a run of the oldest goes, so what is left is
/// every message above a seq (`rooms.trimmed_through`).
#[derive(Debug, Clone, Copy)]
pub struct TrimStep {
    pub room: i64,
    pub cutoff: i64,
    pub limit: i64,
}

impl Write {
    pub fn room(&self) -> i64 {
        match self {
            Write::Text(m) => m.room,
            Write::System(l) => l.room,
            Write::Change(c) => c.room,
            Write::Index(step) => step.room,
            Write::Trim(step) => step.room,
        }
    }
}

impl From<IndexStep> for Write {
    fn from(step: IndexStep) -> Write {
        Write::Index(step)
    }
}

impl From<TrimStep> for Write {
    fn from(step: TrimStep) -> Write {
        Write::Trim(step)
    }
}

impl From<ChangeRequest> for Write {
    fn from(change: ChangeRequest) -> Write {
        Write::Change(change)
    }
}

impl From<NewMessage> for Write {
    fn from(message: NewMessage) -> Write {
        Write::Text(message)
    }
}

impl From<SystemLine> for Write {
    fn from(line: SystemLine) -> Write {
        Write::System(line)
    }
}
