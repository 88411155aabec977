//! Edits, deletes and reactions. Each change is stored by the message
//! writer (it takes the room's next seq, like a message) as a row of
//! `message_changes` naming the message, while the message's own row is
//! updated to what it is now. Reading a room's events after a seq merges
//! both tables by seq: the catch-up, the gap fill and the other nodes'
//! delivery all read the same sequence a live socket receives.

use std::collections::{HashMap, HashSet};

use super::messages::{MessageRow, SELECT_MESSAGES};
use super::spans::{Span, SpanColumns, SPANS};
use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{Change, ChangeKind, MessageView, ServerFrame};

/// What a change does to its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Edit(String),
    Delete,
    React { emoji: String, on: bool },
}

impl Action {
    pub(super) fn kind(&self) -> ChangeKind {
        match self {
            Action::Edit(_) => ChangeKind::Edited,
            Action::Delete => ChangeKind::Deleted,
            Action::React { .. } => ChangeKind::Reacted,
        }
    }
}

/// A change as the writer receives it; who may make it is decided in the
/// writer's transaction (`batch::change`), from the rows as they are then.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub room: i64,
    /// The message to change.
    pub seq: i64,
    pub actor_id: i64,
    pub action: Action,
    pub now: i64,
}

/// Why a change was refused; nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a member of the room (or no such room).
    NotMember,
    /// No message at that seq (or a system line), or it was deleted.
    NoMessage,
    /// Only the author edits a message.
    NotAuthor,
    /// The author deletes; in a group also its owners and admins.
    MayNotDelete,
    /// Support conversations (and their notes) keep their record whole.
    SupportRecord,
    /// The message has `MAX_REACTIONS` different emoji already.
    TooManyReactions,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotMember => "you are not a member of this room",
            Refusal::NoMessage => "that message is not in this conversation (or it was deleted)",
            Refusal::NotAuthor => "only its author can edit a message",
            Refusal::MayNotDelete => {
                "only its author, the group's owners and admins can delete a message"
            }
            Refusal::SupportRecord => {
                "messages in support conversations stay as they were sent: they cannot be edited or deleted"
            }
            Refusal::TooManyReactions => "this message has all the different reactions it can take",
        })
    }
}

/// The acting member and the message, read in the writer's transaction:
/// a row only when the actor is a member of the room.
#[derive(Debug, Clone, Default)]
pub(super) struct Target {
    pub member_role: String,
    pub user_role: String,
    pub room_kind: String,
    /// The message's columns; `kind` is `None` when there is no message.
    pub sender_id: Option<i64>,
    pub kind: Option<String>,
    pub deleted: bool,
    pub body: Option<Vec<u8>>,
    pub key_id: Option<i64>,
    pub nonce: Option<Vec<u8>>,
}

/// member role, user role, room kind, sender, kind, deleted at, body, key, nonce.
pub(super) type TargetColumns = (
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<Vec<u8>>,
);

impl Target {
    pub(super) fn from_columns(c: TargetColumns) -> Target {
        Target {
            member_role: c.0,
            user_role: c.1,
            room_kind: c.2,
            sender_id: c.3,
            kind: c.4,
            deleted: c.5.is_some(),
            body: c.6,
            key_id: c.7,
            nonce: c.8,
        }
    }

    /// Whether `actor` may make `action` here; the reaction count is
    /// checked separately (it needs another read).
    pub(super) fn allows(&self, actor: i64, action: &Action) -> Result<(), Refusal> {
        if self.kind.as_deref() != Some("text") || self.deleted {
            return Err(Refusal::NoMessage);
        }
        let own = self.sender_id == Some(actor);
        match action {
            Action::React { .. } => Ok(()),
            // A conversation's notes are part of its record too.
            _ if self.room_kind == "support" || self.room_kind == "notes" => {
                Err(Refusal::SupportRecord)
            }
            Action::Edit(_) if own => Ok(()),
            Action::Edit(_) => Err(Refusal::NotAuthor),
            Action::Delete => {
                let moderator = self.room_kind == "group"
                    && (self.member_role == "owner" || self.user_role == "admin");
                if own || moderator {
                    Ok(())
                } else {
                    Err(Refusal::MayNotDelete)
                }
            }
        }
    }
}

/// The actor's membership and the message they act on, in one read.
pub(super) const TARGET: &str =
    "SELECT rm.role, u.role, r.kind, m.sender_id, m.kind, m.deleted_at, m.body, m.key_id, m.nonce
     FROM room_members rm
     JOIN rooms r ON r.id = rm.room_id
     JOIN users u ON u.id = rm.user_id
     LEFT JOIN messages m ON m.room_id = rm.room_id AND m.seq = $2
     WHERE rm.room_id = $1 AND rm.user_id = $3";
pub(super) const EDIT: &str =
    "UPDATE messages SET body = $3, key_id = $4, nonce = $5, edited_at = $6
     WHERE room_id = $1 AND seq = $2";
/// A tombstone: the body (and its key) are gone, the seq stays.
pub(super) const TOMBSTONE: &str =
    "UPDATE messages SET body = $3, key_id = NULL, nonce = NULL, deleted_at = $4
     WHERE room_id = $1 AND seq = $2";
pub(super) const DROP_REACTIONS: &str =
    "DELETE FROM reactions WHERE room_id = $1 AND message_seq = $2";
pub(super) const ADD_REACTION: &str =
    "INSERT INTO reactions (room_id, message_seq, emoji, user_id, seq, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
pub(super) const REMOVE_REACTION: &str =
    "DELETE FROM reactions WHERE room_id = $1 AND message_seq = $2 AND emoji = $3 AND user_id = $4";
/// Whether the emoji is new on the message, and how many the message has.
pub(super) const REACTION_ROOM: &str =
    "SELECT COUNT(DISTINCT emoji), SUM(CASE WHEN emoji = $3 THEN 1 ELSE 0 END)
     FROM reactions WHERE room_id = $1 AND message_seq = $2";
pub(super) const INSERT_CHANGE: &str =
    "INSERT INTO message_changes (room_id, seq, message_seq, change, actor_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";
/// A change moves the room's last seq, not its activity or newest message.
pub(super) const ADVANCE_ROOM: &str = "UPDATE rooms SET last_seq = $2 WHERE id = $1";
/// A clear also drops the changes and reactions before its line.
pub(super) const DELETE_ROOM_CHANGES: &str = "DELETE FROM message_changes WHERE room_id = $1";
pub(super) const DELETE_ROOM_REACTIONS: &str = "DELETE FROM reactions WHERE room_id = $1";
/// One message as it is now.
pub(super) static MESSAGE_AT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{SELECT_MESSAGES} WHERE m.room_id = $1 AND m.seq = $2"));
/// The changes in stretches of rooms' sequences (`spans`).
const CHANGES_IN: &str = "SELECT x.room_id, x.seq, x.message_seq, x.change
     FROM message_changes x WHERE $SPANS
     ORDER BY x.room_id, x.seq";

impl ChangeKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Edited => "edited",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Reacted => "reacted",
        }
    }

    fn parse(text: &str) -> ChangeKind {
        match text {
            "edited" => ChangeKind::Edited,
            "deleted" => ChangeKind::Deleted,
            _ => ChangeKind::Reacted,
        }
    }
}

/// A frame of a room's sequence, with its seq.
pub type Sequenced = (i64, ServerFrame);

/// One read of a room's sequence.
#[derive(Debug, Default)]
pub struct EventPage {
    pub events: Vec<Sequenced>,
    /// When events may remain within the range asked for: the seq this
    /// page is complete through, to read on from.
    pub next: Option<i64>,
}

/// `after < seq <= up_to` of one room's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    pub room: i64,
    pub after: i64,
    pub up_to: i64,
}

/// room, seq, the message's seq, what changed.
type ChangeRow = (i64, i64, i64, String);

/// The columns `MESSAGES_IN`'s stretches are over.
const MESSAGE_SEQS: SpanColumns = ("m.room_id", "m.seq");
/// The messages in stretches of rooms' sequences (`spans`).
static MESSAGES_IN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{SELECT_MESSAGES} WHERE {SPANS} ORDER BY m.room_id, m.seq")
});

impl Store {
    /// The room's events (messages and changes) with `after < seq <= up_to`,
    /// in seq order, at most `limit`. A change carries its message as it is
    /// now, so replaying them ends where a fresh read of the room ends.
    pub async fn events_between(
        &self,
        room: i64,
        after: i64,
        up_to: i64,
        limit: i64,
    ) -> Result<EventPage, StoreError> {
        let limit = limit.max(1);
        let changes = async {
            let rows: Vec<ChangeRow> = on_pool!(self.db(), pool => {
                sqlx::query_as(
                    "SELECT room_id, seq, message_seq, change FROM message_changes
                     WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                )
                .bind(room).bind(after).bind(up_to).bind(limit)
                .fetch_all(pool).await?
            });
            Ok::<_, StoreError>(rows)
        };
        let (mut messages, mut changes) =
            tokio::try_join!(self.messages_between(room, after, up_to, limit), changes)?;
        // Each table was read up to `limit` rows: past the last row of a
        // full one, the other's rows may not be all there is.
        let full_messages = messages.len() as i64 == limit;
        let full_changes = changes.len() as i64 == limit;
        let mut through = up_to;
        if full_messages {
            through = through.min(messages.last().map_or(up_to, |m| m.seq));
        }
        if full_changes {
            through = through.min(changes.last().map_or(up_to, |c| c.1));
        }
        let next = (full_messages || full_changes).then_some(through);
        messages.retain(|m| m.seq <= through);
        changes.retain(|c| c.1 <= through);
        self.attach_details(&mut messages).await?;
        let events = self
            .merge_events(messages, changes)
            .await?
            .remove(&room)
            .unwrap_or_default();
        Ok(EventPage { events, next })
    }

    /// Every event in each of `ranges`, by room, in seq order: one query
    /// per table for up to 64 rooms. Nothing limits how many a range
    /// holds, so callers keep them short (a range holds at most
    /// `up_to - after` events: messages and changes share the seqs).
    pub async fn events_in(
        &self,
        ranges: &[SeqRange],
    ) -> Result<HashMap<i64, Vec<Sequenced>>, StoreError> {
        let spans: Vec<Span> = ranges
            .iter()
            .filter(|r| r.up_to > r.after)
            .map(|r| Span {
                room: r.room,
                low: r.after + 1,
                high: r.up_to,
            })
            .collect();
        if spans.is_empty() {
            return Ok(HashMap::new());
        }
        // The details are read over the same stretches, beside the rows: one
        // round of reads.
        let (messages, changes, details) = tokio::try_join!(
            self.rows_in_spans::<MessageRow>(&MESSAGES_IN, MESSAGE_SEQS, &spans),
            self.rows_in_spans::<ChangeRow>(CHANGES_IN, ("x.room_id", "x.seq"), &spans),
            self.details_in(&spans),
        )?;
        let mut messages: Vec<MessageView> = messages
            .into_iter()
            .map(|r| r.into_view(&self.keys))
            .collect();
        details.give(&mut messages);
        self.merge_events(messages, changes).await
    }

    /// Messages (with their details) and changes, each in seq order within
    /// its room, as each room's events in seq order. A change carries its
    /// message as it is now: one of `messages`, or read here by seq.
    async fn merge_events(
        &self,
        mut messages: Vec<MessageView>,
        changes: Vec<ChangeRow>,
    ) -> Result<HashMap<i64, Vec<Sequenced>>, StoreError> {
        let read: HashSet<(i64, i64)> = messages.iter().map(|m| (m.room, m.seq)).collect();
        let mut missing: Vec<Span> = changes
            .iter()
            .filter(|(room, _, target, _)| !read.contains(&(*room, *target)))
            .map(|&(room, _, target, _)| Span {
                room,
                low: target,
                high: target,
            })
            .collect();
        missing.sort_by_key(|s| (s.room, s.low));
        missing.dedup();
        let fed = messages.len();
        if !missing.is_empty() {
            let (rows, details) = tokio::try_join!(
                self.rows_in_spans::<MessageRow>(&MESSAGES_IN, MESSAGE_SEQS, &missing),
                self.details_in(&missing),
            )?;
            let mut targets: Vec<MessageView> =
                rows.into_iter().map(|r| r.into_view(&self.keys)).collect();
            details.give(&mut targets);
            messages.extend(targets);
        }
        let current: HashMap<(i64, i64), MessageView> = if changes.is_empty() {
            HashMap::new()
        } else {
            messages
                .iter()
                .map(|m| ((m.room, m.seq), m.clone()))
                .collect()
        };
        messages.truncate(fed);
        let mut out: HashMap<i64, Vec<Sequenced>> = HashMap::new();
        for message in messages {
            out.entry(message.room)
                .or_default()
                .push((message.seq, ServerFrame::Message(message)));
        }
        for (room, seq, target, change) in changes {
            // A change whose message is gone (cleared) has nothing to say.
            if let Some(message) = current.get(&(room, target)) {
                out.entry(room).or_default().push((
                    seq,
                    ServerFrame::Changed(Change {
                        room,
                        seq,
                        change: ChangeKind::parse(&change),
                        message: message.clone(),
                    }),
                ));
            }
        }
        for events in out.values_mut() {
            events.sort_by_key(|(seq, _)| *seq);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(room_kind: &str, sender: i64, member_role: &str, user_role: &str) -> Target {
        Target {
            member_role: member_role.into(),
            user_role: user_role.into(),
            room_kind: room_kind.into(),
            sender_id: Some(sender),
            kind: Some("text".into()),
            ..Target::default()
        }
    }

    #[test]
    fn only_the_author_edits_and_moderators_delete_only_in_groups() {
        let edit = Action::Edit("x".into());
        let group = target("group", 1, "member", "member");
        assert_eq!(group.allows(1, &edit), Ok(()));
        assert_eq!(group.allows(2, &edit), Err(Refusal::NotAuthor));
        assert_eq!(group.allows(2, &Action::Delete), Err(Refusal::MayNotDelete));
        let owner = target("group", 1, "owner", "member");
        assert_eq!(owner.allows(2, &Action::Delete), Ok(()));
        assert_eq!(owner.allows(2, &edit), Err(Refusal::NotAuthor));
        let admin = target("group", 1, "member", "admin");
        assert_eq!(admin.allows(2, &Action::Delete), Ok(()));
        let direct_admin = target("direct", 1, "member", "admin");
        assert_eq!(
            direct_admin.allows(2, &Action::Delete),
            Err(Refusal::MayNotDelete)
        );
        let support = target("support", 1, "member", "admin");
        assert_eq!(support.allows(1, &edit), Err(Refusal::SupportRecord));
        assert_eq!(
            support.allows(1, &Action::Delete),
            Err(Refusal::SupportRecord)
        );
        let react = Action::React {
            emoji: "👍".into(),
            on: true,
        };
        assert_eq!(support.allows(2, &react), Ok(()));
        let mut gone = target("group", 1, "member", "member");
        gone.deleted = true;
        assert_eq!(gone.allows(1, &react), Err(Refusal::NoMessage));
        let mut line = target("group", 1, "member", "member");
        line.kind = Some("system".into());
        assert_eq!(line.allows(1, &Action::Delete), Err(Refusal::NoMessage));
        let mut none = target("group", 1, "member", "member");
        none.kind = None;
        assert_eq!(none.allows(1, &edit), Err(Refusal::NoMessage));
    }
}
