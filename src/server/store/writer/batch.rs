//! What one write batch does, written once for both databases. The rules
//! (next seq per room, membership, resent client ids, a member reopening a
//! resolved support conversation, a clear) live in `store_batch`; each
//! database supplies the statements through `BatchTx`: Postgres through
//! sqlx on the writer task, SQLite through rusqlite on the writer's own
//! thread (`sqlite.rs`), where every call completes at once.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::realtime::protocol::{MessageKind, MessageView, SystemEvent};
use crate::server::crypto::{Keyring, Sealed};
use crate::server::store::messages::{
    MessageRow, NewMessage, Original, Stored, SystemLine, Write, SELECT_MESSAGES,
};
use crate::server::store::StoreError;

/// Stores a new text message at `seq` if its sender is a member of the room
/// and has not used the client id before; the `id` of the new row, or no
/// row. The `messages_advance_room` trigger moves the room's last seq and
/// the sender's read mark (which also shows the room again to whoever hid
/// it: see `SELECT_SUMMARY`).
pub(super) const INSERT_TEXT: &str =
    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, reply_to)
     SELECT $1, $2, $3, $4, 'text', $5, $6, $7, $8, $9
     WHERE EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $3)
     ON CONFLICT (sender_id, client_id) DO NOTHING
     RETURNING id";
pub(super) const INSERT_SYSTEM: &str =
    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at)
     VALUES ($1, $2, $3, NULL, 'system', $4, $5, $6, $7)
     RETURNING id";
/// The message a reply answers, as it is in this transaction: a row only
/// when the sender ($3) is a member, its message columns empty when there
/// is no message at that seq (so a non-member learns nothing of the room).
pub(super) const ORIGINAL: &str = "SELECT u.display_name, m.kind, m.body, m.key_id, m.nonce
     FROM room_members rm
     LEFT JOIN messages m ON m.room_id = rm.room_id AND m.seq = $2
     LEFT JOIN users u ON u.id = m.sender_id
     WHERE rm.room_id = $1 AND rm.user_id = $3";
pub(super) const REOPEN: &str = "UPDATE rooms SET support_status = 'open' WHERE id = $1";
pub(super) const DELETE_ROOM_MESSAGES: &str = "DELETE FROM messages WHERE room_id = $1";
pub(super) const MARK_ALL_READ: &str =
    "UPDATE room_members SET last_read_seq = $2 WHERE room_id = $1";
/// A room's last seq, and the member whose message reopens it when it is a
/// resolved support conversation.
const HEAD_COLUMNS: &str =
    "SELECT id, last_seq, CASE WHEN support_status = 'resolved' THEN support_user_id END FROM rooms";

/// The stored message a resent client id refers to. Built once, not per batch.
pub(super) static EXISTING: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT_MESSAGES} WHERE m.sender_id = $1 AND m.client_id = $2"));
/// Postgres: the batch's heads, locked in id order, so two nodes never deadlock.
pub(super) static HEADS_LOCKED: LazyLock<String> =
    LazyLock::new(|| format!("{HEAD_COLUMNS} WHERE id = ANY($1) ORDER BY id FOR UPDATE"));
/// SQLite: one room's head.
pub(super) static HEAD_OF_ROOM: LazyLock<String> =
    LazyLock::new(|| format!("{HEAD_COLUMNS} WHERE id = $1"));

/// A room's head: (room, last seq, who reopens it).
pub(super) type Head = (i64, i64, Option<i64>);

/// The statements a batch runs, inside one open transaction.
pub(super) trait BatchTx {
    /// The heads of `rooms` (sorted, distinct); unknown rooms are left out.
    /// On Postgres the rows are locked, in id order.
    async fn heads(&mut self, rooms: &[i64]) -> Result<Vec<Head>, StoreError>;
    async fn insert_text(
        &mut self,
        msg: &NewMessage,
        seq: i64,
        sealed: &Sealed,
    ) -> Result<Option<i64>, StoreError>;
    async fn existing(
        &mut self,
        sender_id: i64,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError>;
    /// The message at `seq` in `room`, if there is one.
    async fn original(&mut self, room: i64, seq: i64, sender: i64) -> Result<Original, StoreError>;
    async fn reopen(&mut self, room: i64) -> Result<(), StoreError>;
    async fn delete_room_messages(&mut self, room: i64) -> Result<(), StoreError>;
    async fn insert_system(
        &mut self,
        line: &SystemLine,
        seq: i64,
        sealed: &Sealed,
    ) -> Result<i64, StoreError>;
    async fn mark_all_read(&mut self, room: i64, seq: i64) -> Result<(), StoreError>;
}

/// Stores `batch` in the open transaction `tx`, in order; the caller
/// commits. Each message is sealed for (room, seq) under the current key.
/// A message that stores nothing (a resend, or not a member) leaves its
/// seq free for the next one.
pub(super) async fn store_batch(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    batch: Vec<Write>,
) -> Result<Vec<Stored>, StoreError> {
    let mut out = Vec::with_capacity(batch.len());
    let mut rooms: Vec<i64> = batch.iter().map(Write::room).collect();
    rooms.sort_unstable();
    rooms.dedup();
    // Read once per batch, then kept here as the batch moves them.
    let mut heads: HashMap<i64, (i64, Option<i64>)> = tx
        .heads(&rooms)
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
        let seq = last_seq + 1;
        let msg = match write {
            Write::Text(msg) => msg,
            Write::System(line) => {
                // A status change by staff sets the status itself.
                out.push(Stored::New(system_line(tx, keys, line, seq).await?));
                heads.insert(room, (seq, None));
                continue;
            }
        };
        // A reply quotes its original as this transaction sees it, so the
        // live frame and every later read agree. A resend is answered as
        // the first send was, whatever became of the original since.
        let reply = match msg.reply_to {
            None => None,
            Some(original) => match tx.original(room, original, msg.sender_id).await? {
                Original::Found(row) => Some(row.quote(keys, room, original)),
                refused => {
                    out.push(match tx.existing(msg.sender_id, &msg.client_id).await? {
                        Some(row) => Stored::Duplicate(row.into_view(keys)),
                        None if matches!(refused, Original::Missing) => Stored::NoOriginal,
                        None => Stored::NotMember,
                    });
                    continue;
                }
            },
        };
        let sealed = keys.seal(msg.room, seq, msg.body.as_bytes())?;
        let Some(id) = tx.insert_text(&msg, seq, &sealed).await? else {
            out.push(match tx.existing(msg.sender_id, &msg.client_id).await? {
                Some(row) => Stored::Duplicate(row.into_view(keys)),
                None => Stored::NotMember,
            });
            continue;
        };
        heads.insert(room, (seq, reopened_by));
        let reopens = reopened_by == Some(msg.sender_id);
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
            reply,
        };
        if !reopens {
            out.push(Stored::New(message));
            continue;
        }
        // The member wrote in their resolved conversation: it reopens,
        // with a line saying so, in this same transaction.
        tx.reopen(room).await?;
        let line = SystemLine {
            room,
            actor_id: msg.sender_id,
            actor_name: msg.sender_name.clone(),
            event: SystemEvent::Reopened {
                by: msg.sender_name,
            },
            now: msg.now,
        };
        let line = system_line(tx, keys, line, seq + 1).await?;
        heads.insert(room, (seq + 1, None));
        out.push(Stored::Reopened { message, line });
    }
    Ok(out)
}

/// Stores a system line at `seq`. A clear first deletes the room's
/// messages, then marks the line read for every member.
async fn system_line(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    line: SystemLine,
    seq: i64,
) -> Result<MessageView, StoreError> {
    if line.clears() {
        tx.delete_room_messages(line.room).await?;
    }
    let plain = serde_json::to_vec(&line.event).unwrap_or_default();
    let sealed = keys.seal(line.room, seq, &plain)?;
    let id = tx.insert_system(&line, seq, &sealed).await?;
    if line.clears() {
        tx.mark_all_read(line.room, seq).await?;
    }
    Ok(MessageView {
        id,
        room: line.room,
        seq,
        sender_id: Some(line.actor_id),
        sender_name: line.actor_name,
        kind: MessageKind::System,
        body: line.event.describe(),
        created_at: line.now,
        client_id: None,
        event: Some(line.event),
        reply: None,
    })
}
