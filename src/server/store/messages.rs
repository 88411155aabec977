use super::{id_list, on_pool, Store, StoreError};
use crate::realtime::protocol::{MessageKind, MessageView, Quote, SystemEvent};
use crate::server::crypto::Keyring;

#[derive(Debug, Clone, Default, sqlx::FromRow)]
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
    /// A reply: the seq it answers, and that message as it is now (the
    /// `r_` columns; all `None` when it is gone).
    pub reply_to: Option<i64>,
    pub r_sender_name: Option<String>,
    pub r_kind: Option<String>,
    pub r_body: Option<Vec<u8>>,
    pub r_key_id: Option<i64>,
    pub r_nonce: Option<Vec<u8>>,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

/// What the writer finds for a reply, in its transaction: whether the
/// sender is a member, and the message answered.
pub(super) enum Original {
    NotMember,
    Missing,
    Found(OriginalRow),
}

/// sender name, kind, body, key id, nonce: one row per membership, the
/// message's columns empty when there is no message at that seq.
pub(super) type OriginalColumns = (
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<Vec<u8>>,
);

impl Original {
    pub(super) fn from_columns(row: Option<OriginalColumns>) -> Original {
        match row {
            None => Original::NotMember,
            Some((sender_name, Some(kind), Some(body), key_id, nonce)) => {
                Original::Found(OriginalRow {
                    sender_name,
                    kind,
                    body,
                    key_id,
                    nonce,
                })
            }
            Some(_) => Original::Missing,
        }
    }
}

/// The columns of a replied-to message.
#[derive(Debug, Clone, Default)]
pub(super) struct OriginalRow {
    pub sender_name: Option<String>,
    pub kind: String,
    pub body: Vec<u8>,
    pub key_id: Option<i64>,
    pub nonce: Option<Vec<u8>>,
}

impl OriginalRow {
    pub(super) fn quote(self, keys: &Keyring, room: i64, seq: i64) -> Quote {
        let original = MessageRow {
            room_id: room,
            seq,
            sender_name: self.sender_name,
            kind: self.kind,
            body: self.body,
            key_id: self.key_id,
            nonce: self.nonce,
            ..MessageRow::default()
        }
        .into_view(keys);
        Quote::of(&original)
    }
}

/// What a reader is shown for a row that does not decrypt.
pub const UNAVAILABLE: &str = "message unavailable";

impl MessageRow {
    /// Opens the stored body. A row that does not open is shown as
    /// "message unavailable" and logged; the rest of the room is unaffected.
    pub(super) fn into_view(self, keys: &Keyring) -> MessageView {
        let reply = self.reply_to.map(|seq| match (self.r_kind, self.r_body) {
            (Some(kind), Some(body)) => OriginalRow {
                sender_name: self.r_sender_name,
                kind,
                body,
                key_id: self.r_key_id,
                nonce: self.r_nonce,
            }
            .quote(keys, self.room_id, seq),
            _ => Quote::gone(seq),
        });
        let deleted = self.deleted_at.is_some();
        let plain = if deleted {
            Ok(Vec::new()) // a tombstone has no body left to open
        } else {
            keys.open(
                self.room_id,
                self.seq,
                self.key_id,
                self.nonce.as_deref(),
                &self.body,
            )
        };
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
            reply,
            edited_at: self.edited_at,
            deleted,
            ..MessageView::default()
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

pub(super) const SELECT_MESSAGES: &str =
    "SELECT m.id, m.room_id, m.seq, m.sender_id, u.shown_name AS sender_name,
        m.kind, m.body, m.key_id, m.nonce, m.created_at, m.client_id, m.reply_to,
        ru.shown_name AS r_sender_name, r.kind AS r_kind, r.body AS r_body,
        r.key_id AS r_key_id, r.nonce AS r_nonce, m.edited_at, m.deleted_at
     FROM messages m LEFT JOIN users u ON u.id = m.sender_id
     LEFT JOIN messages r ON r.room_id = m.room_id AND r.seq = m.reply_to AND r.deleted_at IS NULL
     LEFT JOIN users ru ON ru.id = r.sender_id";

/// A message to store, as the writer receives it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: i64,
    pub sender_id: i64,
    /// Carried into the stored view so it needs no second read.
    pub sender_name: String,
    pub client_id: String,
    pub body: String,
    /// The seq this message answers (checked in the writer's transaction).
    pub reply_to: Option<i64>,
    /// The people the sender picked to call (distinct, not the sender);
    /// the writer keeps the members the body names.
    pub mentions: Vec<i64>,
    /// Finished uploads of the sender into this room, sent with it
    /// (checked and attached in the writer's transaction).
    pub files: Vec<i64>,
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
    pub(super) fn clears(&self) -> bool {
        matches!(self.event, SystemEvent::Cleared { .. })
    }
}

impl Store {
    /// Messages with `after < seq <= up_to`, oldest first, at most `limit`.
    pub(super) async fn messages_between(
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
            let sql = format!(
                "SELECT id, last_seq FROM rooms WHERE id IN ({})",
                id_list(chunk.iter().copied())
            );
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
        let mut views: Vec<MessageView> = rows
            .into_iter()
            .rev()
            .map(|r| r.into_view(&self.keys))
            .collect();
        self.attach_details(&mut views).await?;
        Ok(views)
    }
}
