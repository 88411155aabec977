//! Edits, deletes and reactions. Each change is stored by the message
//! writer (it takes the room's next seq, like a message) as a row of
//! `message_changes` naming the message, while the message's own row is
//! updated to what it is now. Reading a room's events after a seq merges
//! both tables by seq: the catch-up, the gap fill and the other nodes'
//! delivery all read the same sequence a live socket receives.

use std::collections::{BTreeMap, HashMap};

use super::messages::{MessageRow, SELECT_MESSAGES};
use super::{id_list, on_pool, Store, StoreError};
use crate::realtime::protocol::{Change, ChangeKind, MessageView, Person, Reaction, ServerFrame};

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
/// One message's reactions, in the order they were added.
pub(super) const REACTIONS_OF: &str = "SELECT x.message_seq, x.emoji, x.user_id, u.shown_name
     FROM reactions x JOIN users u ON u.id = x.user_id
     WHERE x.room_id = $1 AND x.message_seq = $2
     ORDER BY x.seq";
/// The reactions of a range of a room's messages.
const REACTIONS_BETWEEN: &str = "SELECT x.message_seq, x.emoji, x.user_id, u.shown_name
     FROM reactions x JOIN users u ON u.id = x.user_id
     WHERE x.room_id = $1 AND x.message_seq >= $2 AND x.message_seq <= $3
     ORDER BY x.message_seq, x.seq";

/// The lowest and highest seq of `views`, if any.
pub(super) fn seq_span(views: &[MessageView]) -> Option<(i64, i64)> {
    let low = views.iter().map(|v| v.seq).min()?;
    let high = views.iter().map(|v| v.seq).max()?;
    Some((low, high))
}

/// message seq, emoji, user id, user name.
pub(super) type ReactionRow = (i64, String, i64, String);

/// Groups rows (ordered by message, then by the seq that added them) into
/// each message's reactions, every emoji in the order it was first used.
pub(super) fn group_reactions(rows: Vec<ReactionRow>) -> HashMap<i64, Vec<Reaction>> {
    let mut out: HashMap<i64, Vec<Reaction>> = HashMap::new();
    for (seq, emoji, id, name) in rows {
        let list = out.entry(seq).or_default();
        let reactor = Person { id, name };
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.users.push(reactor),
            None => list.push(Reaction {
                emoji,
                users: vec![reactor],
            }),
        }
    }
    out
}

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
        let mut messages = self.messages_between(room, after, up_to, limit).await?;
        let changes: Vec<(i64, i64, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT seq, message_seq, change FROM message_changes
                 WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
            )
            .bind(room).bind(after).bind(up_to).bind(limit)
            .fetch_all(pool).await?
        });
        // Each table was read up to `limit` rows: past the last row of a
        // full one, the other's rows may not be all there is.
        let full_messages = messages.len() as i64 == limit;
        let full_changes = changes.len() as i64 == limit;
        let mut through = up_to;
        if full_messages {
            through = through.min(messages.last().map_or(up_to, |m| m.seq));
        }
        if full_changes {
            through = through.min(changes.last().map_or(up_to, |c| c.0));
        }
        let next = (full_messages || full_changes).then_some(through);
        self.attach_details(room, &mut messages).await?;
        if changes.is_empty() {
            let events = messages
                .into_iter()
                .map(|m| (m.seq, ServerFrame::Message(m)))
                .collect();
            return Ok(EventPage { events, next });
        }
        // The changed messages as they are now: those read above, the rest
        // read by seq.
        let mut current: BTreeMap<i64, MessageView> =
            messages.iter().map(|m| (m.seq, m.clone())).collect();
        let missing: Vec<i64> = changes
            .iter()
            .map(|(_, target, _)| *target)
            .filter(|t| !current.contains_key(t))
            .collect();
        for view in self.messages_at(room, &missing).await? {
            current.insert(view.seq, view);
        }
        let mut events: Vec<Sequenced> = messages
            .into_iter()
            .filter(|m| m.seq <= through)
            .map(|m| (m.seq, ServerFrame::Message(m)))
            .collect();
        for (seq, target, change) in changes.into_iter().filter(|c| c.0 <= through) {
            // A change whose message is gone (cleared) has nothing to say.
            if let Some(message) = current.get(&target) {
                events.push((
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
        events.sort_by_key(|(seq, _)| *seq);
        Ok(EventPage { events, next })
    }

    /// The messages at `seqs` in `room`, with their reactions.
    async fn messages_at(&self, room: i64, seqs: &[i64]) -> Result<Vec<MessageView>, StoreError> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let list = id_list(chunk.iter().copied());
            let sql = format!("{SELECT_MESSAGES} WHERE m.room_id = $1 AND m.seq IN ({list})");
            let rows: Vec<MessageRow> = on_pool!(self.db(), pool => {
                sqlx::query_as(&sql).bind(room).fetch_all(pool).await?
            });
            out.extend(rows.into_iter().map(|r| r.into_view(&self.keys)));
        }
        self.attach_details(room, &mut out).await?;
        Ok(out)
    }

    /// Fills in the reactions of `views` (messages of one room).
    pub(super) async fn attach_reactions(
        &self,
        room: i64,
        views: &mut [MessageView],
    ) -> Result<(), StoreError> {
        let Some((low, high)) = seq_span(views) else {
            return Ok(());
        };
        let rows: Vec<ReactionRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(REACTIONS_BETWEEN).bind(room).bind(low).bind(high).fetch_all(pool).await?
        });
        if rows.is_empty() {
            return Ok(());
        }
        let mut grouped = group_reactions(rows);
        for view in views {
            if let Some(reactions) = grouped.remove(&view.seq) {
                view.reactions = reactions;
            }
        }
        Ok(())
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

    #[test]
    fn reactions_group_by_emoji_in_order_of_first_use() {
        let rows = vec![
            (5, "👍".to_string(), 1, "Ada".to_string()),
            (5, "🎉".to_string(), 2, "Bo".to_string()),
            (5, "👍".to_string(), 2, "Bo".to_string()),
            (6, "🎉".to_string(), 1, "Ada".to_string()),
        ];
        let grouped = group_reactions(rows);
        let five = &grouped[&5];
        assert_eq!(five.len(), 2);
        assert_eq!(five[0].emoji, "👍");
        assert_eq!(five[0].users.len(), 2);
        assert_eq!(five[1].emoji, "🎉");
        assert_eq!(grouped[&6][0].users[0].name, "Ada");
    }
}
