//! The search index's SQL (see migrations/*/0012_search.sql). The writer
//! keeps it (`writer/indexing.rs`); the search service asks it for
//! candidates here and confirms each against the decrypted message.

use std::fmt::Write as _;

use super::{on_pool, Db, Store, StoreError};

/// At most this many rooms are named inside an FTS5 query; past that the
/// memberships alone narrow it.
const FTS_ROOMS: usize = 200;
use crate::realtime::protocol::MessageView;
use crate::server::store::messages::{MessageRow, SELECT_MESSAGES};

/// SQLite: a message to index as it is (in its own transaction), and
/// what the writer's index step does with it (`writer/sqlite_index.rs`).
pub(super) const QUEUE_FOR_INDEX: &str = "INSERT INTO search_queue (message_id) VALUES ($1)";
/// SQLite: new messages are indexed above a mark (message ids).
pub(super) const INDEXED_TO: &str = "SELECT indexed_to FROM search_state WHERE id = 1";
pub(super) const SET_INDEXED_TO: &str = "UPDATE search_state SET indexed_to = $1 WHERE id = 1";
pub(super) const NEWEST_MESSAGE: &str = "SELECT COALESCE(MAX(id), 0) FROM messages";
/// New text messages above the mark, up to a message id, oldest first.
pub(super) const NEW_SINCE: &str = "SELECT id, room_id, seq, body, key_id, nonce FROM messages
     WHERE id > $1 AND id <= $2 AND kind = 'text' AND deleted_at IS NULL ORDER BY id LIMIT $3";
pub(super) const QUEUED: &str = "SELECT id, message_id FROM search_queue ORDER BY id LIMIT $1";
pub(super) const DONE_QUEUED: &str = "DELETE FROM search_queue WHERE id <= $1";
pub(super) const QUEUED_MESSAGE: &str =
    "SELECT room_id, seq, body, key_id, nonce FROM messages WHERE id = $1 AND kind = 'text' AND deleted_at IS NULL";
/// SQLite: one FTS5 document per message, its terms in hex (`fts_doc`).
pub(super) const INSERT_DOC: &str = "INSERT INTO search_docs (rowid, terms) VALUES ($1, $2)";
pub(super) const DELETE_DOC: &str = "DELETE FROM search_docs WHERE rowid = $1";
/// SQLite: a room's documents (before its messages go). Deleting one that
/// is not there changes nothing (tested in `writer/sqlite_index.rs`).
pub(super) const DELETE_ROOM_DOCS: &str =
    "DELETE FROM search_docs WHERE rowid IN (SELECT id FROM messages WHERE room_id = $1)";
pub(super) const INDEX_GENERATION: &str = "SELECT generation FROM search_state WHERE id = 1";
/// Postgres: a batch's postings, one row per (room, term, message) of the
/// three arrays.
pub(super) const INSERT_POSTINGS: &str = "INSERT INTO search_postings (room_id, term, message_id)
     SELECT * FROM unnest($1::BIGINT[], $2::INT[], $3::BIGINT[]) ON CONFLICT DO NOTHING";
pub(super) const DELETE_POSTING: &str =
    "DELETE FROM search_postings WHERE room_id = $1 AND term = $2 AND message_id = $3";
pub(super) const DELETE_ROOM_POSTINGS: &str = "DELETE FROM search_postings WHERE room_id = $1";
/// One row when the word is new (then its prefixes are added).
pub(super) const INSERT_WORD: &str =
    "INSERT INTO search_words (word) VALUES ($1) ON CONFLICT DO NOTHING";
pub(super) const INSERT_PREFIX: &str =
    "INSERT INTO search_prefixes (prefix, word) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(super) const UNINDEXED_TO: &str = "SELECT search_unindexed_to FROM rooms WHERE id = $1";
pub(super) const SET_UNINDEXED_TO: &str = "UPDATE rooms SET search_unindexed_to = $2 WHERE id = $1";
/// The text messages the background pass indexes, a slice of a room.
pub(super) const BODIES: &str = "SELECT id, seq, body, key_id, nonce FROM messages
     WHERE room_id = $1 AND seq > $2 AND seq <= $3 AND kind = 'text' AND deleted_at IS NULL";

/// An FTS5 document: the room as `r<id>`, then each term as 8 hex digits.
pub(super) fn fts_doc(room: i64, terms: &[i32]) -> String {
    let mut doc = String::with_capacity(12 + 9 * terms.len());
    let _ = write!(doc, "r{room}");
    for term in terms {
        let _ = write!(doc, " {:08x}", *term as u32);
    }
    doc
}

/// What a query asks of the index: every group holds a term (any of a
/// group's terms: the words a prefix stands for).
#[derive(Debug, Clone, Default)]
pub struct IndexQuery {
    /// The asker: only rooms they are a member of are searched.
    pub user_id: i64,
    /// When set, only these of their rooms (`in:`).
    pub rooms: Option<Vec<i64>>,
    /// Each group: a message must hold one of its terms. The first group
    /// drives the walk (the rarest-looking one).
    pub groups: Vec<Vec<i32>>,
    /// Only messages with an id below this (the page before).
    pub below_id: i64,
    /// Sent at or after / before (ms), for `after:` and `before:`.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: i64,
}

/// How far the background pass is: (seqs still to index, what it began with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexProgress {
    pub remaining: i64,
    pub total: i64,
}

fn list(out: &mut String, values: impl IntoIterator<Item = i64>) {
    out.push('(');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v}");
    }
    out.push(')');
}

impl IndexQuery {
    /// SQLite: the FTS5 query. Every group is one of its terms; the
    /// asker's rooms (when there are not too many) narrow it inside FTS5,
    /// and their memberships are checked row by row in any case.
    fn fts_match(&self, rooms: &[i64]) -> String {
        let mut text = String::new();
        if !rooms.is_empty() && rooms.len() <= FTS_ROOMS {
            text.push('(');
            for (i, room) in rooms.iter().enumerate() {
                if i > 0 {
                    text.push_str(" OR ");
                }
                let _ = write!(text, "r{room}");
            }
            text.push(')');
        }
        for group in &self.groups {
            if !text.is_empty() {
                text.push_str(" AND ");
            }
            text.push('(');
            for (i, term) in group.iter().enumerate() {
                if i > 0 {
                    text.push_str(" OR ");
                }
                let _ = write!(text, "{:08x}", *term as u32);
            }
            text.push(')');
        }
        text
    }

    /// SQLite: FTS5 hands out message ids newest first and stops at the
    /// limit; each is checked to be a message of a room the asker is in.
    fn fts_sql(&self) -> String {
        let mut sql = String::from(
            "SELECT search_docs.rowid FROM search_docs
             JOIN messages m ON m.id = search_docs.rowid
             JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $1
             WHERE search_docs MATCH $6 AND search_docs.rowid < $2
               AND m.created_at >= $3 AND m.created_at < $4",
        );
        if let Some(rooms) = &self.rooms {
            sql.push_str(" AND m.room_id IN ");
            list(&mut sql, rooms.iter().copied());
        }
        sql.push_str(" ORDER BY search_docs.rowid DESC LIMIT $5");
        sql
    }

    /// Postgres: the statement, with the terms and rooms written in as numbers
    /// (computed hashes and ids, never text from the asker), so one text
    /// serves both databases whatever the counts.
    fn sql(&self) -> String {
        let dated = self.since.is_some() || self.until.is_some();
        let mut sql = String::from("SELECT DISTINCT p.message_id FROM search_postings p");
        if dated {
            sql.push_str(" JOIN messages m ON m.id = p.message_id");
        }
        sql.push_str(" WHERE p.room_id IN (SELECT room_id FROM room_members WHERE user_id = $1)");
        if let Some(rooms) = &self.rooms {
            sql.push_str(" AND p.room_id IN ");
            list(&mut sql, rooms.iter().copied());
        }
        sql.push_str(" AND p.message_id < $2 AND p.term IN ");
        list(
            &mut sql,
            self.groups.first().into_iter().flatten().map(|&t| t as i64),
        );
        if dated {
            sql.push_str(" AND m.created_at >= $3 AND m.created_at < $4");
        }
        for group in self.groups.iter().skip(1) {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM search_postings q WHERE q.room_id = p.room_id AND q.message_id = p.message_id AND q.term IN ",
            );
            list(&mut sql, group.iter().map(|&t| t as i64));
            sql.push(')');
        }
        sql.push_str(" ORDER BY p.message_id DESC LIMIT $5");
        sql
    }
}

impl Store {
    /// Ids of messages (newest first) whose postings hold every group of
    /// `query`, in the asker's rooms: candidates, to be confirmed.
    pub async fn search_candidates(&self, query: &IndexQuery) -> Result<Vec<i64>, StoreError> {
        if query.groups.iter().any(Vec::is_empty) || query.groups.is_empty() {
            return Ok(Vec::new());
        }
        let since = query.since.unwrap_or(i64::MIN);
        let until = query.until.unwrap_or(i64::MAX);
        Ok(match self.db() {
            Db::Sqlite(pool) => {
                let rooms = match &query.rooms {
                    Some(rooms) => rooms.clone(),
                    None => self.room_ids_of(query.user_id).await?,
                };
                if rooms.is_empty() {
                    return Ok(Vec::new());
                }
                sqlx::query_scalar(&query.fts_sql())
                    .bind(query.user_id)
                    .bind(query.below_id)
                    .bind(since)
                    .bind(until)
                    .bind(query.limit)
                    .bind(query.fts_match(&rooms))
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(&query.sql())
                    .bind(query.user_id)
                    .bind(query.below_id)
                    .bind(since)
                    .bind(until)
                    .bind(query.limit)
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// Ids of text messages (newest first) in the asker's rooms, for a
    /// search with filters and no words (`from:ann`, `before:…`).
    pub async fn search_recent(&self, query: &IndexQuery) -> Result<Vec<i64>, StoreError> {
        let mut sql = String::from(
            "SELECT m.id FROM messages m
             WHERE m.room_id IN (SELECT room_id FROM room_members WHERE user_id = $1)",
        );
        if let Some(rooms) = &query.rooms {
            sql.push_str(" AND m.room_id IN ");
            list(&mut sql, rooms.iter().copied());
        }
        sql.push_str(
            " AND m.id < $2 AND m.created_at >= $3 AND m.created_at < $4
              AND m.kind = 'text' AND m.deleted_at IS NULL
             ORDER BY m.id DESC LIMIT $5",
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(&sql)
                .bind(query.user_id)
                .bind(query.below_id)
                .bind(query.since.unwrap_or(i64::MIN))
                .bind(query.until.unwrap_or(i64::MAX))
                .bind(query.limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The words (hashes) the vocabulary has under `prefix`, at most `limit`.
    pub async fn words_with_prefix(&self, prefix: i32, limit: i64) -> Result<Vec<i32>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT word FROM search_prefixes WHERE prefix = $1 LIMIT $2")
                .bind(prefix)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The messages with these ids, opened, as they are now (text only,
    /// not deleted), in the order of `ids`.
    pub async fn messages_by_id(&self, ids: &[i64]) -> Result<Vec<MessageView>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = format!(
            "{SELECT_MESSAGES} WHERE m.kind = 'text' AND m.deleted_at IS NULL AND m.id IN "
        );
        list(&mut sql, ids.iter().copied());
        let rows: Vec<MessageRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        let mut views: Vec<MessageView> =
            rows.into_iter().map(|r| r.into_view(&self.keys)).collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.id));
        self.attach_files_by_id(&mut views).await?;
        Ok(views)
    }

    /// The background pass's progress.
    pub async fn index_progress(&self) -> Result<IndexProgress, StoreError> {
        let (remaining, total): (Option<i64>, i64) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT (SELECT CAST(SUM(search_unindexed_to) AS BIGINT) FROM rooms WHERE search_unindexed_to > 0),
                        backfill_total FROM search_state WHERE id = 1",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(IndexProgress {
            remaining: remaining.unwrap_or(0),
            total,
        })
    }

    /// Rooms the background pass has left, the busiest (highest seq) first.
    pub async fn rooms_to_index(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT id FROM rooms WHERE search_unindexed_to > 0 ORDER BY search_unindexed_to DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The check of the key the index was built with (`None`: not yet said).
    pub async fn index_key_check(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT key_check FROM search_state WHERE id = 1")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Marks the index as built with the key `check`: when `rebuild`, first
    /// drops every entry and sets every room's messages to be indexed
    /// again by the background pass (new messages are indexed as they
    /// come, meanwhile). One transaction.
    pub async fn restart_index(&self, check: &[u8], rebuild: bool) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            if rebuild {
                let postings: &[&str] = match self.db() {
                    Db::Sqlite(_) => &[
                        "INSERT INTO search_docs (search_docs) VALUES ('delete-all')",
                        "DELETE FROM search_queue",
                        // What is there now is the background pass's.
                        "UPDATE search_state SET indexed_to = (SELECT COALESCE(MAX(id), 0) FROM messages)",
                    ],
                    Db::Postgres(_) => &["DELETE FROM search_postings"],
                };
                for sql in postings.iter().copied().chain([
                    "UPDATE search_state SET generation = generation + 1",
                    "DELETE FROM search_words",
                    "DELETE FROM search_prefixes",
                    "UPDATE rooms SET search_unindexed_to = last_seq",
                    "UPDATE search_state SET backfill_total = (SELECT COALESCE(SUM(last_seq), 0) FROM rooms)",
                ]) {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
            }
            sqlx::query("UPDATE search_state SET key_check = $1 WHERE id = 1")
                .bind(check)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_walks_the_first_group_and_checks_the_others() {
        let query = IndexQuery {
            user_id: 7,
            rooms: Some(vec![3, 4]),
            groups: vec![vec![11], vec![-5, 6]],
            below_id: i64::MAX,
            since: None,
            until: None,
            limit: 50,
        };
        let sql = query.sql();
        assert!(sql.contains("p.room_id IN (3,4)"));
        assert!(sql.contains("p.term IN (11)"));
        assert!(sql.contains("q.term IN (-5,6)"));
        assert!(!sql.contains("JOIN messages"));
        assert_eq!(
            query.fts_match(&[3, 4]),
            "(r3 OR r4) AND (0000000b) AND (fffffffb OR 00000006)"
        );
        assert_eq!(fts_doc(3, &[11, -5]), "r3 0000000b fffffffb");
    }
}
