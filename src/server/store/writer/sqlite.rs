//! The SQLite message writer: one thread with its own connection, which
//! runs a whole batch (begin, every statement, commit) in one go.
//!
//! Through sqlx every statement is a round trip between the async task and
//! sqlx's connection thread, two thread switches each: with one statement
//! per message that was most of the cost of a message on one core. Here a
//! batch costs one hand-over in and one out, whatever its size. SQLite has
//! one writer at a time anyway, so one thread loses nothing.
//!
//! The hand-over out goes to a task on the runtime, which publishes the
//! batch and answers its senders: waking a hundred socket tasks from inside
//! the runtime is a push on the worker's own run queue, from this thread it
//! was a lock and often a thread wake-up each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::types::FromSql;
use rusqlite::{ToSql, TransactionBehavior};
use tokio::sync::mpsc;

use super::batch::{
    store_batch, Aged, Arg, BatchTx, Body, Head, DELETE_ROOM_MESSAGES, EXISTING, HEAD_OF_ROOM,
    INSERT_SYSTEM, INSERT_TEXT, MARK_ALL_READ, ORIGINAL, REOPEN,
};
use super::indexing::Vocabulary;
use super::jobs::{answer_all, fill_batch, observe, Committed, Job, Replies};
use super::sqlite_index::{self, Handed, Handoff, PendingDocs};
use crate::server::crypto::{Keyring, Sealed};
use crate::server::store::changes::{Target, MESSAGE_AT, REACTION_ROOM, TARGET};
use crate::server::store::details::{ReactionRow, REACTIONS_OF};
use crate::server::store::files::{FileColumns, FILES_OF_MESSAGE};
use crate::server::store::mentions::{MentionRow, MENTIONS_OF};
use crate::server::store::messages::{MessageRow, NewMessage, Original, SystemLine};
use crate::server::store::retention::OLDEST;
use crate::server::store::search::{BODIES, DELETE_ROOM_DOCS, QUEUE_FOR_INDEX};
use crate::server::store::writes::{Stored, Write};
use crate::server::store::StoreError;

/// Committed batches waiting for the publishing task; past this many the
/// writer thread waits (the runtime is behind anyway).
const DONE_QUEUE: usize = 64;

type Done = (Result<Vec<Stored>, StoreError>, Replies);

/// Starts the writer thread on the database file at `path` (already
/// created and migrated by the pool), and the task on the current runtime
/// that publishes each batch and answers its senders, in commit order.
pub(super) fn spawn(
    path: PathBuf,
    keys: Keyring,
    jobs: mpsc::Receiver<Job>,
    committed: Committed,
) -> Result<(), StoreError> {
    let (done, mut finished) = mpsc::channel::<Done>(DONE_QUEUE);
    tokio::spawn(async move {
        // Every batch committed while the last one was being published
        // goes out together (`answer_all`).
        let mut ready = Vec::new();
        while finished.recv_many(&mut ready, DONE_QUEUE).await > 0 {
            answer_all(std::mem::take(&mut ready), &committed);
        }
    });
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || run(&path, &keys, jobs, &done, &runtime))
        .map(|_| ())
        .map_err(|e| StoreError::Batch(format!("cannot start the SQLite writer thread: {e}")))
}

fn run(
    path: &Path,
    keys: &Keyring,
    mut jobs: mpsc::Receiver<Job>,
    done: &mpsc::Sender<Done>,
    runtime: &tokio::runtime::Handle,
) {
    let mut conn: Option<rusqlite::Connection> = None;
    let mut vocabulary = Vocabulary::default();
    let mut pending = PendingDocs::default();
    // What a crash left queued is indexed first.
    let mut index_due = true;
    let mut last_index = Instant::now();
    loop {
        if index_due && last_index.elapsed() >= sqlite_index::EVERY {
            index_due = index(path, &mut conn, keys, &mut vocabulary, &mut pending);
            last_index = Instant::now();
        }
        let next = if index_due {
            // Idle until the index step is due, unless work comes first.
            let wait = sqlite_index::PAUSE.saturating_sub(last_index.elapsed());
            // (The timer is made inside: it needs the runtime's context.)
            match runtime.block_on(async { tokio::time::timeout(wait, jobs.recv()).await }) {
                Ok(Some(job)) => Some(job),
                Ok(None) => return,
                Err(_) => None,
            }
        } else {
            match jobs.blocking_recv() {
                Some(job) => Some(job),
                None => return,
            }
        };
        let Some(first) = next else {
            index_due = index(path, &mut conn, keys, &mut vocabulary, &mut pending);
            last_index = Instant::now();
            continue;
        };
        let (batch, replies) = fill_batch(first, &mut jobs);
        let (size, started) = (batch.len(), Instant::now());
        let result = match conn.as_mut() {
            Some(c) => write_batch(c, keys, &mut vocabulary, &mut pending, batch),
            None => match open(path) {
                Ok(c) => write_batch(conn.insert(c), keys, &mut vocabulary, &mut pending, batch),
                Err(err) => Err(err),
            },
        };
        observe(size, started.elapsed(), &result);
        if result.is_err() {
            conn = None; // start the next batch on a fresh connection
            vocabulary.forget();
        }
        index_due = true;
        if done.blocking_send((result, replies)).is_err() {
            return; // the runtime is shutting down
        }
    }
}

/// One index step; whether more is queued. A failed step is logged and
/// tried again later (its queue rows stay).
fn index(
    path: &Path,
    conn: &mut Option<rusqlite::Connection>,
    keys: &Keyring,
    vocabulary: &mut Vocabulary,
    pending: &mut PendingDocs,
) -> bool {
    let result = match conn.as_mut() {
        Some(c) => sqlite_index::index_step(c, keys, vocabulary, pending),
        None => match open(path) {
            Ok(c) => sqlite_index::index_step(conn.insert(c), keys, vocabulary, pending),
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(more) => more,
        Err(err) => {
            tracing::error!(error = %err, "search index step failed; tried again shortly");
            *conn = None;
            vocabulary.forget();
            true
        }
    }
}

fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // The same settings as the pool's connections (store::open).
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "normal")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

fn write_batch(
    conn: &mut rusqlite::Connection,
    keys: &Keyring,
    vocabulary: &mut Vocabulary,
    pending: &mut PendingDocs,
    batch: Vec<Write>,
) -> Result<Vec<Stored>, StoreError> {
    // IMMEDIATE: take the write lock up front instead of failing to
    // upgrade later.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut statements = SqliteBatch {
        conn: &tx,
        handoff: Vec::new(),
    };
    // Every call completes at once: `block_on` only runs the shared logic.
    let out = futures::executor::block_on(store_batch(&mut statements, keys, vocabulary, batch))?;
    let handoff = statements.handoff;
    tx.commit()?;
    // Only what committed is handed to the index step.
    pending.take(handoff);
    Ok(out)
}

/// Binds `values` to `$1`, `$2`, … by name. SQLite numbers parameters in
/// the order they first appear in the text, so binding by position would
/// go wrong for SQL like `SET a = $2 WHERE b = $1` (sqlx binds by name).
fn bind<'s>(
    conn: &'s rusqlite::Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> Result<rusqlite::CachedStatement<'s>, StoreError> {
    // The names our statements use, so binding allocates nothing.
    const NAMES: [&str; 10] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10"];
    let mut statement = conn.prepare_cached(sql)?;
    for (i, value) in values.iter().enumerate() {
        let index = match NAMES.get(i) {
            Some(name) => statement.parameter_index(name)?,
            None => statement.parameter_index(&format!("${}", i + 1))?,
        };
        if let Some(index) = index {
            statement.raw_bind_parameter(index, value)?;
        }
    }
    Ok(statement)
}

/// Runs a bound statement; its first row's first column, if any.
fn first<T: FromSql>(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> Result<Option<T>, StoreError> {
    let mut statement = bind(conn, sql, values)?;
    let mut rows = statement.raw_query();
    Ok(match rows.next()? {
        Some(row) => Some(row.get(0)?),
        None => None,
    })
}

fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> Result<(), StoreError> {
    bind(conn, sql, values)?.raw_execute()?;
    Ok(())
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::Bytes(v) => v.to_sql(),
        }
    }
}

/// A row of `SELECT_MESSAGES`.
fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get("id")?,
        room_id: r.get("room_id")?,
        seq: r.get("seq")?,
        sender_id: r.get("sender_id")?,
        sender_name: r.get("sender_name")?,
        kind: r.get("kind")?,
        body: r.get("body")?,
        key_id: r.get("key_id")?,
        nonce: r.get("nonce")?,
        created_at: r.get("created_at")?,
        client_id: r.get("client_id")?,
        reply_to: r.get("reply_to")?,
        r_sender_name: r.get("r_sender_name")?,
        r_kind: r.get("r_kind")?,
        r_body: r.get("r_body")?,
        r_key_id: r.get("r_key_id")?,
        r_nonce: r.get("r_nonce")?,
        edited_at: r.get("edited_at")?,
        deleted_at: r.get("deleted_at")?,
    })
}

struct SqliteBatch<'c> {
    conn: &'c rusqlite::Connection,
    /// What the batch queued for the index step, with the text it stored.
    handoff: Handoff,
}

impl BatchTx for SqliteBatch<'_> {
    async fn heads(&mut self, rooms: &[i64]) -> Result<Vec<Head>, StoreError> {
        // In-process, one cached statement per room costs less than a
        // query text that changes with the batch.
        let mut heads = Vec::with_capacity(rooms.len());
        for room in rooms {
            let mut statement = bind(self.conn, &HEAD_OF_ROOM, &[room])?;
            let mut rows = statement.raw_query();
            if let Some(row) = rows.next()? {
                heads.push((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ));
            }
        }
        Ok(heads)
    }

    async fn insert_text(
        &mut self,
        msg: &NewMessage,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<Option<i64>, StoreError> {
        first(
            self.conn,
            INSERT_TEXT,
            &[
                &msg.room,
                &seq,
                &msg.sender_id,
                &msg.client_id,
                &sealed.body,
                &sealed.key_id,
                &sealed.nonce,
                &msg.now,
                &msg.reply_to,
                &text_rank,
            ],
        )
    }

    async fn existing(
        &mut self,
        sender_id: i64,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let mut statement = bind(self.conn, &EXISTING, &[&sender_id, &client_id])?;
        let mut rows = statement.raw_query();
        Ok(match rows.next()? {
            Some(r) => Some(message_row(r)?),
            None => None,
        })
    }

    async fn original(&mut self, room: i64, seq: i64, sender: i64) -> Result<Original, StoreError> {
        let mut statement = bind(self.conn, ORIGINAL, &[&room, &seq, &sender])?;
        let mut rows = statement.raw_query();
        let row = match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            None => None,
        };
        Ok(Original::from_columns(row))
    }

    async fn reopen(&mut self, room: i64) -> Result<(), StoreError> {
        execute(self.conn, REOPEN, &[&room])
    }

    async fn delete_room_messages(&mut self, room: i64) -> Result<(), StoreError> {
        execute(self.conn, DELETE_ROOM_MESSAGES, &[&room])
    }

    async fn insert_system(
        &mut self,
        line: &SystemLine,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<i64, StoreError> {
        first(
            self.conn,
            INSERT_SYSTEM,
            &[
                &line.room,
                &seq,
                &line.actor_id,
                &sealed.body,
                &sealed.key_id,
                &sealed.nonce,
                &line.now,
                &text_rank,
            ],
        )?
        .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    async fn mark_all_read(&mut self, room: i64, seq: i64) -> Result<(), StoreError> {
        execute(self.conn, MARK_ALL_READ, &[&room, &seq])
    }

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let values: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
        Ok(bind(self.conn, sql, &values)?.raw_execute()? as u64)
    }

    async fn target(
        &mut self,
        room: i64,
        seq: i64,
        actor: i64,
    ) -> Result<Option<Target>, StoreError> {
        let mut statement = bind(self.conn, TARGET, &[&room, &seq, &actor])?;
        let mut rows = statement.raw_query();
        Ok(match rows.next()? {
            Some(r) => Some(Target::from_columns((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))),
            None => None,
        })
    }

    async fn reaction_room(
        &mut self,
        room: i64,
        seq: i64,
        emoji: &str,
    ) -> Result<(i64, bool), StoreError> {
        let mut statement = bind(self.conn, REACTION_ROOM, &[&room, &seq, &emoji])?;
        let mut rows = statement.raw_query();
        Ok(match rows.next()? {
            Some(r) => (r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0) > 0),
            None => (0, false),
        })
    }

    async fn message(&mut self, room: i64, seq: i64) -> Result<Option<MessageRow>, StoreError> {
        let mut statement = bind(self.conn, &MESSAGE_AT, &[&room, &seq])?;
        let mut rows = statement.raw_query();
        Ok(match rows.next()? {
            Some(r) => Some(message_row(r)?),
            None => None,
        })
    }

    async fn reactions(&mut self, room: i64, seq: i64) -> Result<Vec<ReactionRow>, StoreError> {
        let mut statement = bind(self.conn, REACTIONS_OF, &[&room, &seq])?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
        }
        Ok(out)
    }

    async fn mentions(&mut self, room: i64, seq: i64) -> Result<Vec<MentionRow>, StoreError> {
        let mut statement = bind(self.conn, MENTIONS_OF, &[&room, &seq])?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
        }
        Ok(out)
    }

    async fn files(&mut self, id: i64) -> Result<Vec<FileColumns>, StoreError> {
        let mut statement = bind(self.conn, FILES_OF_MESSAGE, &[&id])?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ));
        }
        Ok(out)
    }

    async fn text(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<String>, StoreError> {
        let values: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
        first(self.conn, sql, &values)
    }

    async fn number(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<i64>, StoreError> {
        let values: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
        first(self.conn, sql, &values)
    }

    fn indexes_later(&self) -> bool {
        true
    }

    fn hand_new(&mut self, room: i64, id: i64, text: &str) {
        self.handoff.push(Handed::New {
            id,
            room,
            text: text.to_string(),
        });
    }

    async fn queue_index(
        &mut self,
        room: i64,
        id: i64,
        text: Option<&str>,
    ) -> Result<(), StoreError> {
        execute(self.conn, QUEUE_FOR_INDEX, &[&id])?;
        self.handoff.push(Handed::Message {
            id,
            room,
            text: text.map(str::to_string),
        });
        Ok(())
    }

    async fn add_doc(&mut self, _: i64, _: i64, _: &[i32]) -> Result<(), StoreError> {
        Ok(()) // never asked: see `queue_index`
    }

    async fn drop_doc(&mut self, _: i64, _: i64, _: &[i32]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn drop_room_docs(&mut self, room: i64) -> Result<(), StoreError> {
        execute(self.conn, DELETE_ROOM_DOCS, &[&room])?;
        self.handoff.push(Handed::Cleared { room });
        Ok(())
    }

    async fn bodies(&mut self, room: i64, after: i64, up_to: i64) -> Result<Vec<Body>, StoreError> {
        let mut statement = bind(self.conn, BODIES, &[&room, &after, &up_to])?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
        }
        Ok(out)
    }

    async fn oldest(&mut self, room: i64, limit: i64) -> Result<Vec<Aged>, StoreError> {
        let mut statement = bind(self.conn, OLDEST, &[&room, &limit])?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_bind_by_number_whatever_their_order_in_the_text() {
        let conn = rusqlite::Connection::open_in_memory().expect("in-memory database");
        conn.execute_batch("CREATE TABLE t (a INTEGER, b INTEGER); INSERT INTO t VALUES (1, 0);")
            .expect("schema");
        execute(&conn, "UPDATE t SET b = $2 WHERE a = $1", &[&1_i64, &7_i64]).expect("update");
        let b: Option<i64> = first(&conn, "SELECT b FROM t WHERE a = $1", &[&1_i64]).expect("read");
        assert_eq!(b, Some(7));
        let none: Option<i64> =
            first(&conn, "SELECT b FROM t WHERE a = $1", &[&2_i64]).expect("read");
        assert_eq!(none, None);
    }
}
