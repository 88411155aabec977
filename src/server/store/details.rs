//! What a message row does not hold (its reactions, files and whom it
//! mentions), read for stretches of messages of any rooms and given to
//! each message by its room and seq. Every read that hands out messages
//! goes through `attach_details` or `details_in`, so none forgets either.

use std::collections::HashMap;

use super::files::{give_files, FileRow};
use super::mentions::{apply_mentions, MentionRow};
use super::spans::{spans_of, Span};
use super::{Store, StoreError};
use crate::realtime::protocol::{MessageView, Person, Reaction};

/// One message's reactions, in the order they were added.
pub(super) const REACTIONS_OF: &str =
    "SELECT x.room_id, x.message_seq, x.emoji, x.user_id, u.shown_name
     FROM reactions x JOIN users u ON u.id = x.user_id
     WHERE x.room_id = $1 AND x.message_seq = $2
     ORDER BY x.seq";
/// The reactions of stretches of messages (`spans`, by seq).
const REACTIONS_IN: &str = "SELECT x.room_id, x.message_seq, x.emoji, x.user_id, u.shown_name
     FROM reactions x JOIN users u ON u.id = x.user_id
     WHERE $SPANS
     ORDER BY x.room_id, x.message_seq, x.seq";
/// room, message seq, emoji, user id, user name.
pub(super) type ReactionRow = (i64, i64, String, i64, String);

/// Groups rows (ordered by message, then by the seq that added them) into
/// each message's reactions (by room and seq), every emoji in the order
/// it was first used.
pub(super) fn group_reactions(rows: Vec<ReactionRow>) -> HashMap<(i64, i64), Vec<Reaction>> {
    let mut out: HashMap<(i64, i64), Vec<Reaction>> = HashMap::new();
    for (room, seq, emoji, id, name) in rows {
        let list = out.entry((room, seq)).or_default();
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

/// Gives each of `views` its reactions from `rows`.
pub(super) fn give_reactions(rows: Vec<ReactionRow>, views: &mut [MessageView]) {
    if rows.is_empty() {
        return;
    }
    let mut grouped = group_reactions(rows);
    for view in views {
        if let Some(reactions) = grouped.remove(&(view.room, view.seq)) {
            view.reactions = reactions;
        }
    }
}

/// What a message row does not hold, read for stretches of messages.
pub(super) struct Details {
    reactions: Vec<ReactionRow>,
    files: Vec<FileRow>,
    mentions: Vec<MentionRow>,
}

impl Details {
    /// Gives each of `views` its own.
    pub(super) fn give(self, views: &mut [MessageView]) {
        give_reactions(self.reactions, views);
        give_files(self.files, views);
        apply_mentions(self.mentions, views);
    }
}

impl Store {
    /// Fills in the details of `views` (messages of any rooms).
    pub(super) async fn attach_details(&self, views: &mut [MessageView]) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        let spans = spans_of(views);
        self.details_in(&spans).await?.give(views);
        Ok(())
    }

    /// The details of the messages in `spans` (by seq), read at once, so a
    /// read that knows its stretches can fetch them beside the messages.
    pub(super) async fn details_in(&self, spans: &[Span]) -> Result<Details, StoreError> {
        let (reactions, files, mentions) = tokio::try_join!(
            self.reactions_in(spans),
            self.files_in(spans),
            self.mentions_in(spans),
        )?;
        Ok(Details {
            reactions,
            files,
            mentions,
        })
    }

    /// The reactions of the messages in `spans` (by seq).
    pub(super) async fn reactions_in(
        &self,
        spans: &[Span],
    ) -> Result<Vec<ReactionRow>, StoreError> {
        self.rows_in_spans(REACTIONS_IN, ("x.room_id", "x.message_seq"), spans)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_group_by_emoji_in_order_of_first_use() {
        let rows = vec![
            (1, 5, "👍".to_string(), 1, "Ada".to_string()),
            (1, 5, "🎉".to_string(), 2, "Bo".to_string()),
            (1, 5, "👍".to_string(), 2, "Bo".to_string()),
            (1, 6, "🎉".to_string(), 1, "Ada".to_string()),
            (2, 5, "🎉".to_string(), 1, "Ada".to_string()),
        ];
        let grouped = group_reactions(rows);
        let five = &grouped[&(1, 5)];
        assert_eq!(five.len(), 2);
        assert_eq!(five[0].emoji, "👍");
        assert_eq!(five[0].users.len(), 2);
        assert_eq!(five[1].emoji, "🎉");
        assert_eq!(grouped[&(1, 6)][0].users[0].name, "Ada");
        assert_eq!(grouped[&(2, 5)].len(), 1);
    }
}
