use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};

use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{MessageKind, MessageView, SystemEvent};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    pub kind: String,
    pub body: Vec<u8>,
    pub created_at: i64,
    pub client_id: Option<String>,
}

impl From<MessageRow> for MessageView {
    fn from(row: MessageRow) -> MessageView {
        let (kind, event, body) = decode_body(&row.kind, &row.body);
        MessageView {
            id: row.id,
            room: row.room_id,
            seq: row.seq,
            sender_id: row.sender_id,
            sender_name: row.sender_name.unwrap_or_default(),
            kind,
            body,
            created_at: row.created_at,
            client_id: row.client_id,
            event,
        }
    }
}

/// A text row's body is its UTF-8 text; a system row's is a `SystemEvent`
/// as JSON, shown through its description.
fn decode_body(kind: &str, body: &[u8]) -> (MessageKind, Option<SystemEvent>, String) {
    if kind != "system" {
        return (
            MessageKind::Text,
            None,
            String::from_utf8_lossy(body).into_owned(),
        );
    }
    match serde_json::from_slice::<SystemEvent>(body) {
        Ok(event) => (MessageKind::System, Some(event.clone()), event.describe()),
        Err(_) => (
            MessageKind::System,
            None,
            String::from_utf8_lossy(body).into_owned(),
        ),
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

/// A system line ("Ada cleared the history"). It takes the room's next seq
/// like any message, so it goes through the same writer: one room's writes
/// never race each other for a seq.
#[derive(Debug, Clone)]
pub struct SystemLine {
    pub room: i64,
    pub actor_id: i64,
    pub actor_name: String,
    pub event: SystemEvent,
    pub now: i64,
}

impl SystemLine {
    /// A clear deletes every older message of the room and marks the line
    /// read for every member, in the transaction that stores the line.
    fn clears(&self) -> bool {
        matches!(self.event, SystemEvent::Cleared { .. })
    }
}

/// One write the message writer performs.
#[derive(Debug, Clone)]
pub enum Write {
    Text(NewMessage),
    System(SystemLine),
}

impl Write {
    pub fn room(&self) -> i64 {
        match self {
            Write::Text(m) => m.room,
            Write::System(l) => l.room,
        }
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
        batch: impl ExactSizeIterator<Item = Write>,
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
            for write in $batch {
                let msg = match write {
                    Write::Text(msg) => msg,
                    Write::System(line) => {
                        out.push(insert_system_line!(tx, line));
                        continue;
                    }
                };
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
                    event: None,
                }));
            }
            tx.commit().await?;
            out
    }};
}
use insert_batch_body;

macro_rules! insert_system_line {
    ($tx:ident, $line:ident) => {{
        if $line.clears() {
            sqlx::query("DELETE FROM messages WHERE room_id = $1")
                .bind($line.room)
                .execute(&mut *$tx)
                .await?;
        }
        let body = serde_json::to_vec(&$line.event).unwrap_or_default();
        let inserted: Option<(i64, i64)> = sqlx::query_as(
            "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, created_at)
             SELECT $1, r.last_seq + 1, $2, NULL, 'system', $3, $4 FROM rooms r WHERE r.id = $1
             RETURNING id, seq",
        )
        .bind($line.room)
        .bind($line.actor_id)
        .bind(&body)
        .bind($line.now)
        .fetch_optional(&mut *$tx)
        .await?;
        match inserted {
            None => Stored::NotMember,
            Some((id, seq)) => {
                if $line.clears() {
                    sqlx::query("UPDATE room_members SET last_read_seq = $2 WHERE room_id = $1")
                        .bind($line.room)
                        .bind(seq)
                        .execute(&mut *$tx)
                        .await?;
                }
                Stored::New(MessageView {
                    id,
                    room: $line.room,
                    seq,
                    sender_id: Some($line.actor_id),
                    sender_name: $line.actor_name,
                    kind: MessageKind::System,
                    body: $line.event.describe(),
                    created_at: $line.now,
                    client_id: None,
                    event: Some($line.event),
                })
            }
        }
    }};
}
use insert_system_line;

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
