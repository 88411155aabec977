use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};

use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{MessageKind, MessageView};

#[derive(Debug, Clone, sqlx::FromRow)]
struct MessageRow {
    id: i64,
    room_id: i64,
    seq: i64,
    sender_id: Option<i64>,
    sender_name: Option<String>,
    kind: String,
    body: Vec<u8>,
    created_at: i64,
    client_id: Option<String>,
}

impl From<MessageRow> for MessageView {
    fn from(row: MessageRow) -> MessageView {
        MessageView {
            id: row.id,
            room: row.room_id,
            seq: row.seq,
            sender_id: row.sender_id,
            sender_name: row.sender_name.unwrap_or_default(),
            kind: if row.kind == "system" {
                MessageKind::System
            } else {
                MessageKind::Text
            },
            body: String::from_utf8_lossy(&row.body).into_owned(),
            created_at: row.created_at,
            client_id: row.client_id,
        }
    }
}

const SELECT_MESSAGES: &str =
    "SELECT m.id, m.room_id, m.seq, m.sender_id, u.display_name AS sender_name,
        m.kind, m.body, m.created_at, m.client_id
     FROM messages m LEFT JOIN users u ON u.id = m.sender_id";

/// What storing a message produced.
#[derive(Debug)]
pub enum Stored {
    /// A new row: publish it.
    New(MessageView),
    /// The same (sender, client id) was stored before: answer with it, publish nothing.
    Duplicate(MessageView),
    /// The sender is not a member of the room (or it does not exist).
    NotMember,
}

/// A message to store, as the writer receives it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: i64,
    pub sender_id: i64,
    /// Carried into the stored view so it needs no second read.
    pub sender_name: String,
    pub client_id: String,
    pub body: String,
    pub now: i64,
}

impl Store {
    /// Stores a batch of messages in ONE transaction (group commit). Each
    /// message is one INSERT that takes the room's next seq, checks
    /// membership and skips a resent client id; the `messages_advance_room`
    /// trigger then moves the room's last_seq, the sender's read mark and
    /// the hidden flags in the same transaction. Nothing is acknowledged
    /// before the commit. On SQLite the transaction starts IMMEDIATE: it
    /// takes the write lock up front instead of failing to upgrade later.
    ///
    /// It runs on the writer's own connection, which stays open between
    /// batches so its page cache stays warm.
    pub async fn insert_batch(
        conn: &mut WriterConn,
        batch: impl ExactSizeIterator<Item = NewMessage>,
    ) -> Result<Vec<Stored>, StoreError> {
        let begin = match conn {
            WriterConn::Sqlite(_) => "BEGIN IMMEDIATE",
            WriterConn::Postgres(_) => "BEGIN",
        };
        let existing_sql = format!("{SELECT_MESSAGES} WHERE m.sender_id = $1 AND m.client_id = $2");
        Ok(match conn {
            WriterConn::Sqlite(c) => insert_batch_body!(c, begin, batch, existing_sql),
            WriterConn::Postgres(c) => insert_batch_body!(c, begin, batch, existing_sql),
        })
    }
}

/// The batch body, expanded once per backend (like `on_pool!`).
macro_rules! insert_batch_body {
    ($conn:ident, $begin:ident, $batch:ident, $existing_sql:ident) => {{
            let mut tx = sqlx::Connection::begin_with(&mut **$conn, $begin).await?;
            let mut out = Vec::with_capacity($batch.len());
            for msg in $batch {
                let inserted: Option<(i64, i64)> = sqlx::query_as(
                    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, created_at)
                     SELECT $1, r.last_seq + 1, $2, $3, 'text', $4, $5 FROM rooms r
                     WHERE r.id = $1 AND EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2)
                     ON CONFLICT (sender_id, client_id) DO NOTHING
                     RETURNING id, seq",
                )
                .bind(msg.room)
                .bind(msg.sender_id)
                .bind(&msg.client_id)
                .bind(msg.body.as_bytes())
                .bind(msg.now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((id, seq)) = inserted else {
                    // Nothing inserted: a resend of a stored message, or not a member.
                    let existing: Option<MessageRow> = sqlx::query_as(&$existing_sql)
                        .bind(msg.sender_id)
                        .bind(&msg.client_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    out.push(match existing {
                        Some(row) => Stored::Duplicate(row.into()),
                        None => Stored::NotMember,
                    });
                    continue;
                };
                out.push(Stored::New(MessageView {
                    id,
                    room: msg.room,
                    seq,
                    sender_id: Some(msg.sender_id),
                    sender_name: msg.sender_name,
                    kind: MessageKind::Text,
                    body: msg.body,
                    created_at: msg.now,
                    client_id: Some(msg.client_id),
                }));
            }
            tx.commit().await?;
            out
    }};
}
use insert_batch_body;

/// A connection a message writer keeps for itself.
pub enum WriterConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Store {
    pub async fn writer_connection(&self) -> Result<WriterConn, StoreError> {
        Ok(match self.db() {
            super::Db::Sqlite(pool) => WriterConn::Sqlite(pool.acquire().await?),
            super::Db::Postgres(pool) => WriterConn::Postgres(pool.acquire().await?),
        })
    }

    /// Messages with `after < seq <= up_to`, oldest first, at most `limit`.
    pub async fn messages_between(
        &self,
        room: i64,
        after: i64,
        up_to: i64,
        limit: i64,
    ) -> Result<Vec<MessageView>, StoreError> {
        let sql = format!("{SELECT_MESSAGES} WHERE m.room_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4");
        let rows: Vec<MessageRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(room).bind(after).bind(up_to).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(MessageView::from).collect())
    }

    /// Up to `limit` messages with seq below `before`, returned oldest first.
    pub async fn messages_before(
        &self,
        room: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<MessageView>, StoreError> {
        let sql = format!(
            "{SELECT_MESSAGES} WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        );
        let rows: Vec<MessageRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(room).bind(before).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().rev().map(MessageView::from).collect())
    }
}
