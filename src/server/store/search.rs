//! The search index's SQL (see migrations/*/0012_search.sql). The writer
//! keeps it (`writer/indexing.rs`); the search service asks it for
//! candidates here and confirms each against the decrypted message.

use std::fmt::Write as _;

use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::MessageView;
use crate::server::store::messages::{MessageRow, SELECT_MESSAGES};

pub(super) const INSERT_POSTING: &str =
    "INSERT INTO search_postings (room_id, term, message_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
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
    /// The statement, with the terms and rooms written in as numbers
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
        let sql = query.sql();
        let since = query.since.unwrap_or(i64::MIN);
        let until = query.until.unwrap_or(i64::MAX);
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(&sql)
                .bind(query.user_id)
                .bind(query.below_id)
                .bind(since)
                .bind(until)
                .bind(query.limit)
                .fetch_all(pool)
                .await?
        }))
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
                for sql in [
                    "DELETE FROM search_postings",
                    "DELETE FROM search_words",
                    "DELETE FROM search_prefixes",
                    "UPDATE rooms SET search_unindexed_to = last_seq",
                    "UPDATE search_state SET backfill_total = (SELECT COALESCE(SUM(last_seq), 0) FROM rooms)",
                ] {
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

    /// Rows in the index, for the figures (postings, words, prefixes).
    pub async fn index_rows(&self) -> Result<(i64, i64, i64), StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM search_postings), (SELECT COUNT(*) FROM search_words),
                        (SELECT COUNT(*) FROM search_prefixes)",
            )
            .fetch_one(pool)
            .await?
        }))
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
    }
}
