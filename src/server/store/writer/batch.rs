//! What one write batch does, written once for both databases. The rules
//! (next seq per room, membership, resent client ids, a member reopening a
//! resolved support conversation, a clear) live in `store_batch`; each
//! database supplies the statements through `BatchTx`: Postgres through
//! sqlx on the writer task, SQLite through rusqlite on the writer's own
//! thread (`sqlite.rs`), where every call completes at once.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::indexing::{self, Indexer, Vocabulary};
use super::trim;
pub(super) use super::tx::{Aged, Arg, BatchTx, Body, Head, PlannedText, RoomHead};
use crate::realtime::protocol::{
    calls_by_name, Change, MessageKind, MessageView, Person, RoomKind, SystemEvent, MAX_REACTIONS,
    ROOM_MENTION,
};
use crate::server::crypto::Keyring;
use crate::server::store::changes::{
    Action, ChangeRequest, Refusal, ADD_REACTION, ADVANCE_ROOM, DELETE_ROOM_CHANGES,
    DELETE_ROOM_REACTIONS, DROP_REACTIONS, EDIT, INSERT_CHANGE, REMOVE_REACTION, TOMBSTONE,
};
use crate::server::store::details::group_reactions;
use crate::server::store::files::{file_view, ATTACH_FILE, DROP_MESSAGE_FILES, FILE_READY};
use crate::server::store::mentions::{
    apply_mentions, DELETE_ROOM_MENTIONS, INSERT_MENTION, INSERT_MENTION_UNCOUNTED,
    INSERT_ROOM_MENTION, MARK_DELETED, MEMBER_NAME, ROOM_KIND,
};
use crate::server::store::messages::{NewMessage, Original, SystemLine, SELECT_MESSAGES};
use crate::server::store::notifications::NOTIFY;
use crate::server::store::writes::{Stored, Write};
use crate::server::store::StoreError;

/// Stores a new text message at `seq` if its sender is a member of the room
/// and has not used the client id before; the `id` of the new row, or no
/// row. On SQLite the `messages_advance_room` trigger moves the room's last
/// seq and the sender's read mark (which also shows the room again to
/// whoever hid it: see `SELECT_SUMMARY`); Postgres does it in the same
/// statement (`PG_INSERT_TEXT`, `ADVANCE_ROOMS`).
pub(super) const INSERT_TEXT: &str =
    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, reply_to, text_rank)
     SELECT $1, $2, $3, $4, 'text', $5, $6, $7, $8, $9, $10
     WHERE EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $3)
     ON CONFLICT (sender_id, client_id) DO NOTHING
     RETURNING id";
/// Postgres: what SQLite's row trigger does, as two data-modifying CTEs
/// over `stored` (the new rows: id, room_id, seq, sender_id, text_rank,
/// created_at), once per statement: each room moves to its highest new
/// seq, each sender's read mark to the highest seq they wrote. Written
/// into every statement that adds messages: the statement trigger that
/// did it (its plpgsql call and two statements of their own cost a sixth
/// of Postgres's time under the `persist` load) now skips this build's
/// connections, and serves only older nodes and SQL run by hand
/// (migration 0027).
pub(super) const ADVANCE_ROOMS: &str = "advanced AS (
       UPDATE rooms r SET last_seq = n.seq, last_message_seq = n.seq,
                          text_count = n.text_rank, last_activity = n.created_at
       FROM (SELECT DISTINCT ON (room_id) room_id, seq, text_rank, created_at
             FROM stored ORDER BY room_id, seq DESC) n
       WHERE r.id = n.room_id AND r.last_seq < n.seq
     ), read AS (
       UPDATE room_members m SET last_read_seq = n.seq
       FROM (SELECT room_id, sender_id, MAX(seq) AS seq FROM stored GROUP BY room_id, sender_id) n
       WHERE m.room_id = n.room_id AND m.user_id = n.sender_id
     )";
/// Postgres: `INSERT_TEXT`, moving the room and the read mark with it.
pub(super) static PG_INSERT_TEXT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH stored AS (
           INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, reply_to, text_rank)
           SELECT $1, $2, $3, $4, 'text', $5, $6, $7, $8, $9, $10
           WHERE EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $3)
           ON CONFLICT (sender_id, client_id) DO NOTHING
           RETURNING id, room_id, seq, sender_id, text_rank, created_at
         ), {ADVANCE_ROOMS}
         SELECT id FROM stored"
    )
});
/// Postgres: a run's rows, unnested from its nine arrays ($1-$9) as `t`,
/// with their order in `place`.
pub(super) const RUN_ROWS: &str =
    "unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::BYTEA[], $6::BIGINT[], $7::BYTEA[],
            $8::BIGINT[], $9::BIGINT[])
       WITH ORDINALITY AS t(room_id, seq, sender_id, client_id, body, key_id, nonce, created_at, text_rank, place)";
/// Postgres: whether a run's row `t` may be stored: its sender is a
/// member, and has not used the client id.
///
/// A used client id is looked up, not left to `ON CONFLICT`: its checks
/// cost more than the insert they guard (about a tenth of Postgres's time
/// under load). Two resends racing past the lookup (two nodes, or twice in
/// one run) meet the unique key instead, and the run is refused as when
/// one is left out: the batch is stored again a message at a time.
pub(super) const STORABLE: &str =
    "EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = t.room_id AND rm.user_id = t.sender_id)
     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = t.sender_id AND m.client_id = t.client_id)";
/// Postgres: the insert of a run's rows `t`, the source and its filter
/// written between this and `RUN_RETURNING`.
pub(super) const INSERT_RUN: &str =
    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, text_rank)
     SELECT t.room_id, t.seq, t.sender_id, t.client_id, 'text', t.body, t.key_id, t.nonce, t.created_at, t.text_rank
     FROM";
/// Postgres: the end of `INSERT_RUN`, in the run's order, giving `stored`
/// what `ADVANCE_ROOMS` reads.
pub(super) const RUN_RETURNING: &str =
    "ORDER BY t.place RETURNING id, room_id, seq, sender_id, text_rank, created_at";
/// Postgres: the run's own search postings, given by (room, seq) as
/// $10-$12 and joined to the ids just stored (new ids, distinct terms, so
/// nothing to conflict with).
pub(super) const POST_RUN: &str = "posted AS (
       INSERT INTO search_postings (room_id, term, message_id)
       SELECT p.room_id, p.term, s.id
       FROM unnest($10::BIGINT[], $11::BIGINT[], $12::INT[]) AS p(room_id, seq, term)
       JOIN stored s ON s.room_id = p.room_id AND s.seq = p.seq
     )";
/// Postgres: a run of plain texts (`store_run`) in one statement, in
/// order, each only if it is `STORABLE`; the result says which were
/// stored. Its `ADVANCE_ROOMS` moves each room and read mark once for the
/// statement.
///
/// The same statement writes the search postings: the run's own
/// (`POST_RUN`), and those the batch held back for messages stored before
/// the run ($13-$15). Each statement is a round trip; this saves the
/// batch one.
pub(super) static INSERT_TEXTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH stored AS (
           {INSERT_RUN} {RUN_ROWS}
           WHERE {STORABLE}
           {RUN_RETURNING}
         ), {ADVANCE_ROOMS}, {POST_RUN}, held AS (
           INSERT INTO search_postings (room_id, term, message_id)
           SELECT * FROM unnest($13::BIGINT[], $14::INT[], $15::BIGINT[])
           ON CONFLICT DO NOTHING
         )
         SELECT id, room_id, seq FROM stored"
    )
});
pub(super) const INSERT_SYSTEM: &str =
    "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, text_rank)
     VALUES ($1, $2, $3, NULL, 'system', $4, $5, $6, $7, $8)
     RETURNING id";
/// Postgres: `INSERT_SYSTEM`, moving the room (and the actor's read mark)
/// with it.
pub(super) static PG_INSERT_SYSTEM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH stored AS (
           INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, key_id, nonce, created_at, text_rank)
           VALUES ($1, $2, $3, NULL, 'system', $4, $5, $6, $7, $8)
           RETURNING id, room_id, seq, sender_id, text_rank, created_at
         ), {ADVANCE_ROOMS}
         SELECT id FROM stored"
    )
});
/// The message a reply answers, as it is in this transaction: a row only
/// when the sender ($3) is a member, its message columns empty when there
/// is no message at that seq (so a non-member learns nothing of the room).
pub(super) const ORIGINAL: &str = "SELECT u.shown_name, m.kind, m.body, m.key_id, m.nonce
     FROM room_members rm
     LEFT JOIN messages m ON m.room_id = rm.room_id AND m.seq = $2 AND m.deleted_at IS NULL
     LEFT JOIN users u ON u.id = m.sender_id
     WHERE rm.room_id = $1 AND rm.user_id = $3";
/// A support conversation's status line, in plain columns for reports:
/// the department and assignee as they are after it.
const RECORD_SUPPORT_EVENT: &str =
    "INSERT INTO support_events (room_id, seq, kind, at, department_id, agent_id, actor_id)
     SELECT id, $2, $3, $4, department_id, assignee_id, $5 FROM rooms WHERE id = $1 AND kind = 'support'";
pub(super) const REOPEN: &str = "UPDATE rooms SET support_status = 'open' WHERE id = $1";
pub(super) const DELETE_ROOM_MESSAGES: &str = "DELETE FROM messages WHERE room_id = $1";
pub(super) const MARK_ALL_READ: &str =
    "UPDATE room_members SET last_read_seq = $2 WHERE room_id = $1";
/// A room's last seq, the member whose message reopens it when it is a
/// resolved support conversation, its count of text messages, and whether
/// its messages notify by kind (`NOTIFY`).
const HEAD_COLUMNS: &str =
    "SELECT id, last_seq, CASE WHEN support_status = 'resolved' THEN support_user_id END, text_count,
        CAST(CASE WHEN kind IN ('direct', 'support') THEN 1 ELSE 0 END AS BIGINT)";

/// The stored message a resent client id refers to. Built once, not per batch.
pub(super) static EXISTING: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT_MESSAGES} WHERE m.sender_id = $1 AND m.client_id = $2"));
/// Postgres: the batch's heads, locked in id order, so two nodes never
/// deadlock, each with the search index's generation (`INDEX_GENERATION`,
/// read here to save the batch a round trip).
pub(super) static HEADS_LOCKED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{HEAD_COLUMNS}, (SELECT generation FROM search_state WHERE id = 1)
         FROM rooms WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    )
});
/// SQLite: one room's head.
pub(super) static HEAD_OF_ROOM: LazyLock<String> =
    LazyLock::new(|| format!("{HEAD_COLUMNS} FROM rooms WHERE id = $1"));

/// Stores `batch` in the open transaction `tx`, in order; the caller
/// commits. Each message is sealed for (room, seq) under the current key.
/// A message that stores nothing (a resend, or not a member) leaves its
/// seq free for the next one.
///
/// Where the database takes runs (`BatchTx::stores_runs`: Postgres),
/// consecutive plain texts (`joins_run`) wait and go in one statement
/// (`store_run`) before the next write of another kind, so the batch's
/// order holds. If that statement would refuse any of them (a resend, a
/// sender who is no longer a member), it fails with `RunRefused` and the
/// caller stores the batch again, one message at a time.
pub(super) async fn store_batch(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    vocabulary: &mut Vocabulary,
    batch: Vec<Write>,
) -> Result<Vec<Stored>, StoreError> {
    let mut out = Vec::with_capacity(batch.len());
    let mut indexer = Indexer::new(keys, vocabulary);
    let mut rooms: Vec<i64> = batch.iter().map(Write::room).collect();
    rooms.sort_unstable();
    rooms.dedup();
    // Read once per batch, then kept here as the batch moves them.
    let mut heads: HashMap<i64, RoomHead> = tx
        .heads(&rooms)
        .await?
        .into_iter()
        .map(|(room, last_seq, reopened_by, texts, notifies)| {
            let head = RoomHead {
                last_seq,
                reopened_by,
                texts,
                notifies: notifies == 1,
            };
            (room, head)
        })
        .collect();
    let runs = tx.stores_runs();
    let mut run: Vec<PlannedText> = Vec::new();
    for write in batch {
        let room = write.room();
        let joins = runs && joins_run(&write, &heads);
        if !joins {
            store_run(tx, &mut indexer, &heads, &mut run, &mut out).await?;
        }
        let Some(head) = heads.get(&room).copied() else {
            out.push(match write {
                Write::Change(_) => Stored::Refused(Refusal::NotMember),
                Write::Index(_) => Stored::Indexed { remaining: 0 },
                Write::Trim(_) => Stored::Trimmed {
                    through: 0,
                    messages: 0,
                },
                _ => Stored::NotMember, // no such room
            });
            continue;
        };
        let RoomHead {
            last_seq,
            reopened_by,
            texts,
            notifies,
        } = head;
        let seq = last_seq + 1;
        let msg = match write {
            Write::Text(msg) => msg,
            Write::System(line) => {
                // A status change by staff sets the status itself.
                out.push(Stored::New(system_line(tx, keys, line, seq, texts).await?));
                heads.insert(room, head.moved(seq, texts).without_reopener());
                continue;
            }
            Write::Index(_) => {
                let remaining = indexer.backfill(tx, keys, room).await?;
                out.push(Stored::Indexed { remaining });
                continue;
            }
            Write::Trim(step) => {
                out.push(trim::trim(tx, keys, &mut indexer, step).await?);
                continue;
            }
            Write::Change(request) => {
                let stored = change(tx, keys, &mut indexer, request, seq).await?;
                if matches!(stored, Stored::Changed(_)) {
                    heads.insert(room, head.moved(seq, texts));
                }
                out.push(stored);
                continue;
            }
        };
        if joins {
            let sealed = keys.seal(room, seq, msg.body.as_bytes())?;
            heads.insert(room, head.moved(seq, texts + 1));
            let terms = indexer.run_terms(tx, &msg.body);
            run.push(PlannedText {
                msg,
                seq,
                sealed,
                text_rank: texts + 1,
                terms,
            });
            continue;
        }
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
        if !msg.files.is_empty() {
            if let Some(refused) = files_refused(tx, keys, &msg).await? {
                out.push(refused);
                continue;
            }
        }
        let sealed = keys.seal(msg.room, seq, msg.body.as_bytes())?;
        let Some(id) = tx.insert_text(&msg, seq, &sealed, texts + 1).await? else {
            out.push(match tx.existing(msg.sender_id, &msg.client_id).await? {
                Some(row) => Stored::Duplicate(row.into_view(keys)),
                None => Stored::NotMember,
            });
            continue;
        };
        heads.insert(room, head.moved(seq, texts + 1));
        for (place, &file) in msg.files.iter().enumerate() {
            let args = [Arg::Int(id), Arg::Int(file), Arg::Int(place as i64)];
            tx.execute(ATTACH_FILE, &args).await?;
        }
        let files = if msg.files.is_empty() {
            Vec::new()
        } else {
            tx.files(id).await?.into_iter().map(file_view).collect()
        };
        indexer.index_new(tx, room, id, &msg.body).await?;
        let reopens = reopened_by == Some(msg.sender_id);
        let (mentions, mentions_room) = mention(tx, &msg, seq).await?;
        if notifies || !mentions.is_empty() || mentions_room {
            notify_due(tx, &msg, seq).await?;
        }
        let (sender_id, now) = (msg.sender_id, msg.now);
        let sender_name = reopens.then(|| msg.sender_name.clone());
        let mut message = text_view(msg, id, seq);
        message.reply = reply;
        message.mentions = mentions;
        message.mentions_room = mentions_room;
        message.files = files;
        let Some(sender_name) = sender_name else {
            out.push(Stored::New(message));
            continue;
        };
        // The member wrote in their resolved conversation: it reopens,
        // with a line saying so, in this same transaction.
        tx.reopen(room).await?;
        let line = SystemLine {
            room,
            actor_id: sender_id,
            actor_name: sender_name.clone(),
            event: SystemEvent::Reopened { by: sender_name },
            now,
        };
        let line = system_line(tx, keys, line, seq + 1, texts + 1).await?;
        heads.insert(room, head.moved(seq + 1, texts + 1).without_reopener());
        out.push(Stored::Reopened { message, line });
    }
    store_run(tx, &mut indexer, &heads, &mut run, &mut out).await?;
    tx.left_heads(&heads);
    Ok(out)
}

/// Whether `msg` is a plain text: no reply, no files and no `@` (each of
/// those reads rows first).
pub(super) fn plain_text(msg: &NewMessage) -> bool {
    msg.reply_to.is_none() && msg.files.is_empty() && !msg.body.contains('@')
}

/// Whether `write` can wait in a run (`store_run`): a plain text to a room
/// of the batch that does not reopen a resolved conversation.
fn joins_run(write: &Write, heads: &HashMap<i64, RoomHead>) -> bool {
    let Write::Text(msg) = write else {
        return false;
    };
    plain_text(msg)
        && heads
            .get(&msg.room)
            .is_some_and(|head| head.reopened_by != Some(msg.sender_id))
}

/// Stores the run of plain texts waiting, in one statement (with their
/// postings, where it takes them), then indexes them and queues who is to
/// be told, in the batch's order. Empties `run`.
async fn store_run(
    tx: &mut impl BatchTx,
    indexer: &mut Indexer<'_>,
    heads: &HashMap<i64, RoomHead>,
    run: &mut Vec<PlannedText>,
    out: &mut Vec<Stored>,
) -> Result<(), StoreError> {
    if run.is_empty() {
        return Ok(());
    }
    let ids = tx.insert_texts(run).await?;
    for (planned, id) in run.drain(..).zip(ids) {
        let PlannedText {
            msg, seq, terms, ..
        } = planned;
        match terms {
            Some(terms) => indexer.posted(tx, terms.words).await?,
            None => indexer.index_new(tx, msg.room, id, &msg.body).await?,
        }
        if heads.get(&msg.room).is_some_and(|head| head.notifies) {
            notify_due(tx, &msg, seq).await?;
        }
        out.push(Stored::New(text_view(msg, id, seq)));
    }
    Ok(())
}

/// Queues who is to be told of `msg` at `seq` if they do not read it soon
/// (the outbox the notifiers read), in this same transaction.
async fn notify_due(tx: &mut impl BatchTx, msg: &NewMessage, seq: i64) -> Result<(), StoreError> {
    let due = [
        Arg::Int(msg.room),
        Arg::Int(seq),
        Arg::Int(msg.now),
        Arg::Int(msg.sender_id),
    ];
    tx.execute(NOTIFY, &due).await.map(drop)
}

/// The view of new text `msg`, stored as `id` at `seq` (no reply,
/// mentions or files: the caller adds those it has).
pub(super) fn text_view(msg: NewMessage, id: i64, seq: i64) -> MessageView {
    MessageView {
        id,
        room: msg.room,
        seq,
        sender_id: Some(msg.sender_id),
        sender_name: msg.sender_name,
        kind: MessageKind::Text,
        body: msg.body,
        created_at: msg.now,
        client_id: Some(msg.client_id),
        ..MessageView::default()
    }
}

/// Why a message with files cannot be stored, if it cannot: a resend is
/// answered as the first send was (its files went with it), and otherwise
/// every file must be a finished upload of the sender into this room that
/// no message carries yet.
async fn files_refused(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    msg: &NewMessage,
) -> Result<Option<Stored>, StoreError> {
    use Arg::Int;
    if let Some(row) = tx.existing(msg.sender_id, &msg.client_id).await? {
        return Ok(Some(Stored::Duplicate(row.into_view(keys))));
    }
    for &file in &msg.files {
        let args = [Int(file), Int(msg.sender_id), Int(msg.room)];
        if tx.number(FILE_READY, &args).await?.is_none() {
            return Ok(Some(Stored::NoFile));
        }
    }
    Ok(None)
}

/// Records who the new message at `seq` calls: each person the sender
/// picked who is a member and whose `@Name` the body holds (a pick the text
/// does not show calls no one, so nobody is pinged unseen), and `@room` in
/// a group. Runs only when the body has an `@`.
async fn mention(
    tx: &mut impl BatchTx,
    msg: &NewMessage,
    seq: i64,
) -> Result<(Vec<Person>, bool), StoreError> {
    use Arg::Int;
    if !msg.body.contains('@') {
        return Ok((Vec::new(), false));
    }
    let room = msg.room;
    let everyone = calls_by_name(&msg.body, &ROOM_MENTION[1..])
        && tx
            .text(ROOM_KIND, &[Int(room)])
            .await?
            .is_some_and(|kind| RoomKind::parse(&kind) == RoomKind::Group);
    if everyone {
        tx.execute(INSERT_ROOM_MENTION, &[Int(room), Int(seq)])
            .await?;
    }
    // With `@room` the room's row counts for everyone: a name beside it is
    // listed (and marked) but not counted twice.
    let insert = if everyone {
        INSERT_MENTION_UNCOUNTED
    } else {
        INSERT_MENTION
    };
    let mut people = Vec::new();
    for &id in &msg.mentions {
        let Some(name) = tx.text(MEMBER_NAME, &[Int(room), Int(id)]).await? else {
            continue; // not a member: calls no one
        };
        if calls_by_name(&msg.body, &name) {
            tx.execute(insert, &[Int(room), Int(seq), Int(id)]).await?;
            people.push(Person { id, name });
        }
    }
    people.sort_by_key(|p| p.id);
    Ok((people, everyone))
}

/// Stores a system line at `seq` (`texts`: the room's text messages so
/// far). A clear first deletes the room's messages, their changes and
/// reactions, then marks the line read for every member.
async fn system_line(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    line: SystemLine,
    seq: i64,
    texts: i64,
) -> Result<MessageView, StoreError> {
    if line.clears() {
        indexing::clear(tx, line.room).await?;
        tx.delete_room_messages(line.room).await?;
        tx.execute(DELETE_ROOM_CHANGES, &[Arg::Int(line.room)])
            .await?;
        tx.execute(DELETE_ROOM_REACTIONS, &[Arg::Int(line.room)])
            .await?;
        tx.execute(DELETE_ROOM_MENTIONS, &[Arg::Int(line.room)])
            .await?;
    }
    let plain = serde_json::to_vec(&line.event).unwrap_or_default();
    let sealed = keys.seal(line.room, seq, &plain)?;
    let id = tx.insert_system(&line, seq, &sealed, texts).await?;
    if let Some(kind) = line.event.support_kind() {
        let args = [
            Arg::Int(line.room),
            Arg::Int(seq),
            Arg::Text(kind),
            Arg::Int(line.now),
            Arg::Int(line.actor_id),
        ];
        tx.execute(RECORD_SUPPORT_EVENT, &args).await?;
    }
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
        ..MessageView::default()
    })
}

/// Makes one change at `seq` if its actor may (decided here, from the rows
/// as this transaction sees them): updates the message, records the
/// change, moves the room's last seq, and returns the message as it is now.
async fn change(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    indexer: &mut Indexer<'_>,
    request: ChangeRequest,
    seq: i64,
) -> Result<Stored, StoreError> {
    use Arg::{Bytes, Int, Text};
    let ChangeRequest {
        room,
        seq: target_seq,
        actor_id,
        action,
        now,
    } = request;
    let Some(target) = tx.target(room, target_seq, actor_id).await? else {
        return Ok(Stored::Refused(Refusal::NotMember));
    };
    if let Err(refusal) = target.allows(actor_id, &action) {
        return Ok(Stored::Refused(refusal));
    }
    let key = [Int(room), Int(target_seq)];
    // What the message said, for the search index to forget.
    let said = match &action {
        Action::Edit(_) | Action::Delete => keys
            .open(
                room,
                target_seq,
                target.key_id,
                target.nonce.as_deref(),
                target.body.as_deref().unwrap_or_default(),
            )
            .ok()
            .map(|text| String::from_utf8_lossy(&text).into_owned()),
        Action::React { .. } => None,
    };
    match &action {
        Action::Edit(body) => {
            if said.as_deref() == Some(body.as_str()) {
                return Ok(Stored::Unchanged); // a resend of the same edit
            }
            // New ciphertext under a new nonce: the old text is gone.
            let sealed = keys.seal(room, target_seq, body.as_bytes())?;
            let args = [
                key[0],
                key[1],
                Bytes(&sealed.body),
                Int(sealed.key_id),
                Bytes(&sealed.nonce),
                Int(now),
            ];
            tx.execute(EDIT, &args).await?;
        }
        Action::Delete => {
            tx.execute(TOMBSTONE, &[key[0], key[1], Bytes(&[]), Int(now)])
                .await?;
            tx.execute(DROP_REACTIONS, &key).await?;
            tx.execute(MARK_DELETED, &key).await?;
            tx.execute(DROP_MESSAGE_FILES, &key).await?;
        }
        Action::React { emoji, on: true } => {
            let (emoji_count, there) = tx.reaction_room(room, target_seq, emoji).await?;
            if !there && emoji_count >= MAX_REACTIONS as i64 {
                return Ok(Stored::Refused(Refusal::TooManyReactions));
            }
            let args = [
                key[0],
                key[1],
                Text(emoji),
                Int(actor_id),
                Int(seq),
                Int(now),
            ];
            if tx.execute(ADD_REACTION, &args).await? == 0 {
                return Ok(Stored::Unchanged);
            }
        }
        Action::React { emoji, on: false } => {
            let args = [key[0], key[1], Text(emoji), Int(actor_id)];
            if tx.execute(REMOVE_REACTION, &args).await? == 0 {
                return Ok(Stored::Unchanged);
            }
        }
    }
    let kind = action.kind();
    let args = [
        Int(room),
        Int(seq),
        Int(target_seq),
        Text(kind.as_str()),
        Int(actor_id),
        Int(now),
    ];
    tx.execute(INSERT_CHANGE, &args).await?;
    tx.execute(ADVANCE_ROOM, &[Int(room), Int(seq)]).await?;
    let Some(row) = tx.message(room, target_seq).await? else {
        return Err(StoreError::Batch(format!(
            "message {target_seq} of room {room} vanished inside its change"
        )));
    };
    if let Some(said) = &said {
        indexer.unindex(tx, room, row.id, said).await?;
    }
    if let Action::Edit(body) = &action {
        indexer.index(tx, room, row.id, body).await?;
    }
    let mut message = row.into_view(keys);
    message.files = tx
        .files(message.id)
        .await?
        .into_iter()
        .map(file_view)
        .collect();
    message.reactions = group_reactions(tx.reactions(room, target_seq).await?)
        .remove(&(room, target_seq))
        .unwrap_or_default();
    let mentions = tx.mentions(room, target_seq).await?;
    apply_mentions(mentions, std::slice::from_mut(&mut message));
    Ok(Stored::Changed(Change {
        room,
        seq,
        change: kind,
        message,
    }))
}
