use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};

use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{MessageKind, MessageView, SystemEvent};
use crate::server::crypto::Keyring;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    pub kind: String,
    pub body: Vec<u8>,
    pub key_id: Option<i64>,
    pub nonce: Option<Vec<u8>>,
    pub created_at: i64,
    pub client_id: Option<String>,
}

/// What a reader is shown for a row that does not decrypt.
pub const UNAVAILABLE: &str = "message unavailable";

impl MessageRow {
    /// Opens the stored body. A row that does not open is shown as
    /// "message unavailable" and logged; the rest of the room is unaffected.
    pub(super) fn into_view(self, keys: &Keyring) -> MessageView {
        let plain = keys.open(
            self.room_id,
            self.seq,
            self.key_id,
            self.nonce.as_deref(),
            &self.body,
        );
        let (kind, event, body) = match plain {
            Ok(plain) => decode_body(&self.kind, &plain),
            Err(err) => {
                tracing::warn!(room = self.room_id, seq = self.seq, error = %err, "a message does not decrypt");
                let kind = if self.kind == "system" {
                    MessageKind::System
                } else {
                    MessageKind::Text
                };
                (kind, None, UNAVAILABLE.to_string())
            }
        };
        MessageView {
            id: self.id,
            room: self.room_id,
            seq: self.seq,
            sender_id: self.sender_id,
            sender_name: self.sender_name.unwrap_or_default(),
            kind,
            body,
            created_at: self.created_at,
            client_id: self.client_id,
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
        m.kind, m.body, m.key_id, m.nonce, m.created_at, m.client_id
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
    /// A new message by the member of a resolved support conversation,
    /// and the system line that reopened it, stored with it.
    Reopened {
        message: MessageView,
        line: MessageView,
    },
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
    /// Stores a batch of messages in ONE transaction (group commit). It
    /// reads the last seq of every room in the batch at once (on Postgres
    /// with row locks, so two nodes never race for a seq); for each message
    /// it seals the body for
    /// (room, seq) under the current key, and INSERTs it if the sender is a
    /// member and the client id is new; the `messages_advance_room` trigger
    /// then moves the room's last_seq, the sender's read mark and the hidden
    /// flags in the same transaction. Nothing is acknowledged before the
    /// commit. On SQLite the transaction starts IMMEDIATE: it takes the
    /// write lock up front instead of failing to upgrade later.
    ///
    /// It runs on the writer's own connection, which stays open between
    /// batches so its page cache stays warm.
    pub async fn insert_batch(
        &self,
        conn: &mut WriterConn,
        batch: impl ExactSizeIterator<Item = Write>,
    ) -> Result<Vec<Stored>, StoreError> {
        let keys = &self.keys;
        let existing_sql = format!("{SELECT_MESSAGES} WHERE m.sender_id = $1 AND m.client_id = $2");
        Ok(match conn {
            WriterConn::Sqlite(c) => insert_batch_body!(
                c,
                "BEGIN IMMEDIATE",
                "SELECT id, last_seq, CASE WHEN support_status = 'resolved' THEN support_user_id END FROM rooms WHERE id IN ({rooms})",
                keys,
                batch,
                existing_sql
            ),
            WriterConn::Postgres(c) => insert_batch_body!(
                c,
                "BEGIN",
                "SELECT id, last_seq, CASE WHEN support_status = 'resolved' THEN support_user_id END FROM rooms WHERE id IN ({rooms}) ORDER BY id FOR UPDATE",
                keys,
                batch,
                existing_sql
            ),
        })
    }
}

/// The batch body, expanded once per backend (like `on_pool!`).
macro_rules! insert_batch_body {
    ($conn:ident, $begin:expr, $heads_sql:expr, $keys:ident, $batch:ident, $existing_sql:ident) => {{
        let batch: Vec<Write> = $batch.collect();
        let mut out = Vec::with_capacity(batch.len());
        let mut rooms: Vec<i64> = batch.iter().map(Write::room).collect();
        rooms.sort_unstable();
        rooms.dedup();
        // Room ids are numbers from our own types, never text from a user.
        let list = rooms.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut tx = sqlx::Connection::begin_with(&mut **$conn, $begin).await?;
        // Each room's last seq as this transaction leaves it, and the member
        // whose message reopens it when it is a resolved support
        // conversation: read for the whole batch in one query (on Postgres
        // also locked, in id order so two nodes never deadlock), then kept
        // here. One query per batch, not one per room: with many rooms per
        // batch the round trips were most of the writer's time.
        let mut heads: std::collections::HashMap<i64, (i64, Option<i64>)> =
            sqlx::query_as::<_, (i64, i64, Option<i64>)>(&$heads_sql.replace("{rooms}", &list))
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(room, last_seq, reopened_by)| (room, (last_seq, reopened_by)))
                .collect();
        for write in batch {
            let room = write.room();
            let Some((last_seq, reopened_by)) = heads.get(&room).copied() else {
                out.push(Stored::NotMember); // no such room
                continue;
            };
            heads.insert(room, (last_seq, reopened_by));
            let seq = last_seq + 1;
            let msg = match write {
                Write::Text(msg) => msg,
                Write::System(line) => {
                    // A status change by staff sets the status itself.
                    out.push(Stored::New(insert_system_line!(tx, $keys, line, seq)));
                    heads.insert(room, (seq, None));
                    continue;
                }
            };
            let sealed = $keys.seal(msg.room, seq, msg.body.as_bytes())?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at)
                 SELECT $1, $2, $3, $4, 'text', $5, $6, $7, $8
                 WHERE EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $3)
                 ON CONFLICT (sender_id, client_id) DO NOTHING
                 RETURNING id",
            )
            .bind(msg.room)
            .bind(seq)
            .bind(msg.sender_id)
            .bind(&msg.client_id)
            .bind(&sealed.body)
            .bind(sealed.key_id)
            .bind(&sealed.nonce)
            .bind(msg.now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                // Nothing inserted (the seq stays free): a resend of a
                // stored message, or not a member.
                let existing: Option<MessageRow> = sqlx::query_as(&$existing_sql)
                    .bind(msg.sender_id)
                    .bind(&msg.client_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                out.push(match existing {
                    Some(row) => Stored::Duplicate(row.into_view($keys)),
                    None => Stored::NotMember,
                });
                continue;
            };
            heads.insert(room, (seq, reopened_by));
            let message = MessageView {
                id,
                room: msg.room,
                seq,
                sender_id: Some(msg.sender_id),
                sender_name: msg.sender_name.clone(),
                kind: MessageKind::Text,
                body: msg.body,
                created_at: msg.now,
                client_id: Some(msg.client_id),
                event: None,
            };
            if reopened_by != Some(msg.sender_id) {
                out.push(Stored::New(message));
                continue;
            }
            // The member wrote in their resolved conversation: it reopens,
            // with a line saying so, in this same transaction.
            sqlx::query("UPDATE rooms SET support_status = 'open' WHERE id = $1")
                .bind(room)
                .execute(&mut *tx)
                .await?;
            let line = SystemLine {
                room,
                actor_id: msg.sender_id,
                actor_name: msg.sender_name.clone(),
                event: SystemEvent::Reopened { by: msg.sender_name },
                now: msg.now,
            };
            let line_seq = seq + 1;
            let line = insert_system_line!(tx, $keys, line, line_seq);
            heads.insert(room, (line_seq, None));
            out.push(Stored::Reopened { message, line });
        }
        tx.commit().await?;
        out
    }};
}
use insert_batch_body;

/// Stores a system line at `seq` and evaluates to its view; a clear first deletes the room's messages and
/// then marks the line read for every member.
macro_rules! insert_system_line {
    ($tx:ident, $keys:ident, $line:ident, $seq:ident) => {{
        if $line.clears() {
            sqlx::query("DELETE FROM messages WHERE room_id = $1")
                .bind($line.room)
                .execute(&mut *$tx)
                .await?;
        }
        let plain = serde_json::to_vec(&$line.event).unwrap_or_default();
        let sealed = $keys.seal($line.room, $seq, &plain)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at)
             VALUES ($1, $2, $3, NULL, 'system', $4, $5, $6, $7)
             RETURNING id",
        )
        .bind($line.room)
        .bind($seq)
        .bind($line.actor_id)
        .bind(&sealed.body)
        .bind(sealed.key_id)
        .bind(&sealed.nonce)
        .bind($line.now)
        .fetch_one(&mut *$tx)
        .await?;
        if $line.clears() {
            sqlx::query("UPDATE room_members SET last_read_seq = $2 WHERE room_id = $1")
                .bind($line.room)
                .bind($seq)
                .execute(&mut *$tx)
                .await?;
        }
        MessageView {
            id,
            room: $line.room,
            seq: $seq,
            sender_id: Some($line.actor_id),
            sender_name: $line.actor_name,
            kind: MessageKind::System,
            body: $line.event.describe(),
            created_at: $line.now,
            client_id: None,
            event: Some($line.event),
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
        Ok(rows.into_iter().map(|r| r.into_view(&self.keys)).collect())
    }

    /// The last seq of each of `rooms` (unknown ones are left out).
    pub async fn last_seqs(
        &self,
        rooms: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let mut out = std::collections::HashMap::with_capacity(rooms.len());
        for chunk in rooms.chunks(500) {
            // Integers only, so listing them in the SQL is safe; one text for both databases.
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!("SELECT id, last_seq FROM rooms WHERE id IN ({list})");
            let rows: Vec<(i64, i64)> = on_pool!(self.db(), pool => {
                sqlx::query_as(&sql).fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
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
        Ok(rows
            .into_iter()
            .rev()
            .map(|r| r.into_view(&self.keys))
            .collect())
    }
}
