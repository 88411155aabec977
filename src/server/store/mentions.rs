//! @mentions: who a message calls, written with the message by the writer
//! (`batch.rs`), read back with it, and counted per member from their own
//! rows (see migrations/*/0011_mentions.sql).

use std::collections::HashMap;

use super::spans::Span;
use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{MessageView, Person};

/// A member's name in a room, if they are a member (the writer checks each
/// person a message names).
pub(super) const MEMBER_NAME: &str = "SELECT u.display_name FROM room_members m
     JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 AND m.user_id = $2";
pub(super) const ROOM_KIND: &str = "SELECT kind FROM rooms WHERE id = $1";
/// A person's mention at seq $2: it counts, one more than their last rank
/// in the room.
pub(super) const INSERT_MENTION: &str =
    "INSERT INTO mentions (room_id, message_seq, user_id, mention_rank, counts)
     VALUES ($1, $2, $3, COALESCE((SELECT x.mention_rank FROM mentions x
                                   WHERE x.room_id = $1 AND x.user_id = $3
                                   ORDER BY x.message_seq DESC LIMIT 1), 0) + 1, TRUE)";
/// A person's mention in a message that also says `@room`: listed, but the
/// `@room` row counts it (their rank stays).
pub(super) const INSERT_MENTION_UNCOUNTED: &str =
    "INSERT INTO mentions (room_id, message_seq, user_id, mention_rank, counts)
     VALUES ($1, $2, $3, COALESCE((SELECT x.mention_rank FROM mentions x
                                   WHERE x.room_id = $1 AND x.user_id = $3
                                   ORDER BY x.message_seq DESC LIMIT 1), 0), FALSE)";
pub(super) const INSERT_ROOM_MENTION: &str =
    "INSERT INTO mentions (room_id, message_seq, user_id, mention_rank, counts)
     VALUES ($1, $2, NULL, COALESCE((SELECT x.mention_rank FROM mentions x
                                     WHERE x.room_id = $1 AND x.user_id IS NULL
                                     ORDER BY x.message_seq DESC LIMIT 1), 0) + 1, TRUE)";
/// A deleted message's mentions stop counting (they stay listed).
pub(super) const MARK_DELETED: &str =
    "UPDATE mentions SET deleted = TRUE WHERE room_id = $1 AND message_seq = $2";
pub(super) const DELETE_ROOM_MENTIONS: &str = "DELETE FROM mentions WHERE room_id = $1";
/// One message's mentions (a row with no user is `@room`).
pub(super) const MENTIONS_OF: &str = "SELECT x.room_id, x.message_seq, x.user_id, u.shown_name
     FROM mentions x LEFT JOIN users u ON u.id = x.user_id
     WHERE x.room_id = $1 AND x.message_seq = $2
     ORDER BY x.user_id";
/// The mentions of stretches of messages (`spans`, by seq).
const MENTIONS_IN: &str = "SELECT x.room_id, x.message_seq, x.user_id, u.shown_name
     FROM mentions x LEFT JOIN users u ON u.id = x.user_id
     WHERE $SPANS
     ORDER BY x.room_id, x.message_seq, x.user_id";
/// Members whose name starts with the text typed after `@`, or has a word
/// that does (so "@love" finds Ada Lovelace), the asker left out.
const MEMBERS_MATCHING: &str = "SELECT u.id, u.display_name
     FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = $1 AND m.user_id <> $2 AND u.deactivated_at IS NULL
       AND (lower(u.display_name) LIKE $3 ESCAPE '\\' OR lower(u.display_name) LIKE $4 ESCAPE '\\')
     ORDER BY lower(u.display_name), u.id
     LIMIT $5";

/// room, message seq, user (none: `@room`), the user's name.
pub(super) type MentionRow = (i64, i64, Option<i64>, Option<String>);

/// Sets each view's mentions from `rows` (ordered by message).
pub(super) fn apply_mentions(rows: Vec<MentionRow>, views: &mut [MessageView]) {
    if rows.is_empty() {
        return;
    }
    let mut by_message: HashMap<(i64, i64), (Vec<Person>, bool)> = HashMap::new();
    for (room, seq, user, name) in rows {
        let entry = by_message.entry((room, seq)).or_default();
        match user {
            Some(id) => entry.0.push(Person {
                id,
                name: name.unwrap_or_default(),
            }),
            None => entry.1 = true,
        }
    }
    for view in views {
        if let Some((people, room)) = by_message.remove(&(view.room, view.seq)) {
            view.mentions = people;
            view.mentions_room = room;
        }
    }
}

/// `text` made safe inside a LIKE pattern (with `ESCAPE '\'`).
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// The mentions of the messages in `spans` (by seq).
    pub(super) async fn mentions_in(&self, spans: &[Span]) -> Result<Vec<MentionRow>, StoreError> {
        self.rows_in_spans(MENTIONS_IN, ("x.room_id", "x.message_seq"), spans)
            .await
    }

    /// Up to `limit` members of `room` other than `asker` whose name (or a
    /// word of it) starts with `typed`, in name order.
    pub async fn members_matching(
        &self,
        room: i64,
        asker: i64,
        typed: &str,
        limit: i64,
    ) -> Result<Vec<Person>, StoreError> {
        let typed = like_escaped(&typed.to_lowercase());
        let starts = format!("{typed}%");
        let word = format!("% {typed}%");
        let rows: Vec<(i64, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(MEMBERS_MATCHING)
                .bind(room).bind(asker).bind(&starts).bind(&word).bind(limit)
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name)| Person { id, name })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_typed_text_literally() {
        assert_eq!(like_escaped("ada"), "ada");
        assert_eq!(like_escaped("100%_\\"), "100\\%\\_\\\\");
    }

    #[test]
    fn rows_become_people_and_the_room_flag() {
        let mut views = vec![
            MessageView {
                seq: 4,
                ..MessageView::default()
            },
            MessageView {
                seq: 5,
                ..MessageView::default()
            },
        ];
        apply_mentions(
            vec![
                (0, 4, None, None),
                (0, 5, Some(2), Some("Bo".into())),
                (0, 5, Some(3), Some("Cy".into())),
                (1, 4, Some(2), Some("Bo".into())),
            ],
            &mut views,
        );
        assert!(views[0].mentions_room && views[0].mentions.is_empty());
        assert!(!views[1].mentions_room);
        assert_eq!(views[1].mentions.len(), 2);
        assert_eq!(views[1].mentions[1].name, "Cy");
    }
}
