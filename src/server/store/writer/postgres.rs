//! The Postgres message writer: a few tasks, each with a connection of its
//! own kept between batches, running `store_batch` through sqlx.

use std::collections::HashMap;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::Postgres;
use tokio::sync::mpsc;

use super::batch::{
    store_batch, Aged, Arg, BatchTx, Body, Head, PlannedText, RoomHead, DELETE_ROOM_MESSAGES,
    EXISTING, HEADS_LOCKED, INSERT_TEXTS, MARK_ALL_READ, ORIGINAL, PG_INSERT_SYSTEM,
    PG_INSERT_TEXT, REOPEN,
};
use super::indexing::Vocabulary;
use super::jobs::{answer, fill_batch, observe, Committed, Job};
use super::plain_batch::{OneStatement, RememberedHeads, ONE_STATEMENT};
use crate::server::crypto::Sealed;
use crate::server::store::changes::{Target, TargetColumns, MESSAGE_AT, REACTION_ROOM, TARGET};
use crate::server::store::details::{ReactionRow, REACTIONS_OF};
use crate::server::store::files::{FileColumns, FILES_OF_MESSAGE};
use crate::server::store::mentions::{MentionRow, MENTIONS_OF};
use crate::server::store::messages::{
    MessageRow, NewMessage, Original, OriginalColumns, SystemLine,
};
use crate::server::store::retention::OLDEST;
use crate::server::store::search::{
    BODIES, DELETE_POSTING, DELETE_ROOM_POSTINGS, INDEX_GENERATION, INSERT_POSTINGS,
};
use crate::server::store::writes::{Stored, Write};
use crate::server::store::{Db, Store, StoreError};

/// Binds each `Arg` to its `$n`, in order (a macro: sqlx's query kinds
/// share `bind` but no trait for it).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match *arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}

pub(super) async fn run(store: Store, mut jobs: mpsc::Receiver<Job>, committed: Committed) {
    let mut conn: Option<PoolConnection<Postgres>> = None;
    let mut memory = Memory::default();
    while let Some(first) = jobs.recv().await {
        let (batch, replies) = fill_batch(first, &mut jobs);
        let (size, started) = (batch.len(), std::time::Instant::now());
        let result = match conn.as_mut() {
            Some(c) => insert_batch(&store, c, &mut memory, batch).await,
            None => match connection(&store).await {
                Ok(c) => insert_batch(&store, conn.insert(c), &mut memory, batch).await,
                Err(err) => Err(err),
            },
        };
        observe(size, started.elapsed(), &result);
        if result.is_err() {
            conn = None; // start the next batch on a fresh connection
            memory.vocabulary.forget();
            memory.heads.forget();
        }
        answer(result, replies, &committed);
    }
}

/// What a writer task keeps between batches, each valid only as of its
/// last commit.
#[derive(Default)]
struct Memory {
    vocabulary: Vocabulary,
    heads: RememberedHeads,
}

/// Stores a batch of messages (group commit). A batch of plain texts to
/// rooms whose heads the writer remembers goes as one statement first
/// (`plain_batch`); otherwise, or when that finds a head moved, in ONE
/// transaction (the rules are in `batch::store_batch`). Nothing is
/// acknowledged before the commit. It runs on the writer's own
/// connection, kept between batches. In the transaction, plain texts go
/// in runs of one statement each; if a run would have refused one of its
/// messages, the transaction is rolled back and the batch stored again a
/// message at a time (a copy is kept for that: it costs far less than the
/// round trips the runs save).
async fn insert_batch(
    store: &Store,
    conn: &mut PoolConnection<Postgres>,
    memory: &mut Memory,
    batch: Vec<Write>,
) -> Result<Vec<Stored>, StoreError> {
    let batch = if memory.heads.covers(&batch) {
        match OneStatement::plan(&store.keys, &memory.vocabulary, &memory.heads, batch)? {
            Ok(plan) => match store_one_statement(conn, &plan).await? {
                Some(ids) => {
                    crate::server::metrics::get().writer_one_statement(true);
                    return Ok(plan.stored(ids, &mut memory.vocabulary, &mut memory.heads));
                }
                None => {
                    // The long way reads these rooms' heads again.
                    crate::server::metrics::get().writer_one_statement(false);
                    memory.heads.missed(&plan);
                    plan.into_writes()
                }
            },
            Err(batch) => batch,
        }
    } else {
        batch
    };
    let again = batch.clone();
    let vocabulary = &mut memory.vocabulary;
    let (stored, heads) = match store_in_transaction(store, conn, vocabulary, batch, true).await {
        Err(StoreError::RunRefused) => {
            // What the failed attempt added to the vocabulary was rolled back.
            vocabulary.forget();
            store_in_transaction(store, conn, vocabulary, again, false).await?
        }
        stored => stored?,
    };
    memory.heads.learn(heads);
    Ok(stored)
}

/// `ONE_STATEMENT` for `plan`, on its own (Postgres commits it as it
/// ends): the new ids in order, or `None` when it stored nothing because
/// a head had moved, a text would be refused, or a resend raced past its
/// check into the unique key.
async fn store_one_statement(
    conn: &mut PoolConnection<Postgres>,
    plan: &OneStatement,
) -> Result<Option<Vec<i64>>, StoreError> {
    let rooms: Vec<i64> = plan.before.iter().map(|(room, _)| *room).collect();
    let head = |f: fn(&RoomHead) -> i64| plan.before.iter().map(|(_, h)| f(h)).collect::<Vec<_>>();
    let reopened_by: Vec<Option<i64>> = plan.before.iter().map(|(_, h)| h.reopened_by).collect();
    let words: Vec<i32> = plan.new_words.iter().map(|(word, _)| *word).collect();
    let (mut prefixes, mut prefixed): (Vec<i32>, Vec<i32>) = (Vec::new(), Vec::new());
    for (word, of_word) in &plan.new_words {
        prefixes.extend(of_word);
        prefixed.extend(std::iter::repeat_n(*word, of_word.len()));
    }
    let stored: Result<Vec<(i64, i64, i64)>, _> =
        bind_run(sqlx::query_as(ONE_STATEMENT.as_str()), &plan.texts)
            .bind(rooms)
            .bind(head(|h| h.last_seq))
            .bind(reopened_by)
            .bind(head(|h| h.texts))
            .bind(plan.relies_on_vocabulary)
            .bind(plan.generation)
            .bind(words)
            .bind(prefixes)
            .bind(prefixed)
            .fetch_all(&mut **conn)
            .await;
    let stored = match stored {
        Ok(rows) if rows.is_empty() => return Ok(None),
        Ok(rows) => rows,
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    // The statement stores all or nothing; anything else is a bug, and
    // the senders are told to try again (their resends are answered as
    // the rows stored).
    run_ids(&plan.texts, stored)
        .map(Some)
        .ok_or_else(|| StoreError::Batch("one statement stored part of a batch".into()))
}

/// Binds a run's rows and its postings ($1-$12, as `RUN_ROWS` and
/// `POST_RUN` take them).
fn bind_run<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    run: &'q [PlannedText],
) -> QueryAs<'q, Postgres, O, PgArguments> {
    let column = |f: fn(&PlannedText) -> i64| run.iter().map(f).collect::<Vec<i64>>();
    let client_ids: Vec<&str> = run.iter().map(|t| t.msg.client_id.as_str()).collect();
    let bodies: Vec<&[u8]> = run.iter().map(|t| t.sealed.body.as_slice()).collect();
    let nonces: Vec<&[u8]> = run.iter().map(|t| t.sealed.nonce.as_slice()).collect();
    // The run's own postings go by (room, seq): their ids are not known yet.
    let (mut posting_rooms, mut posting_seqs, mut posting_terms) = (vec![], vec![], vec![]);
    for t in run {
        for &term in t.terms.iter().flat_map(|terms| &terms.terms) {
            posting_rooms.push(t.msg.room);
            posting_seqs.push(t.seq);
            posting_terms.push(term);
        }
    }
    query
        .bind(column(|t| t.msg.room))
        .bind(column(|t| t.seq))
        .bind(column(|t| t.msg.sender_id))
        .bind(client_ids)
        .bind(bodies)
        .bind(column(|t| t.sealed.key_id))
        .bind(nonces)
        .bind(column(|t| t.msg.now))
        .bind(column(|t| t.text_rank))
        .bind(posting_rooms)
        .bind(posting_seqs)
        .bind(posting_terms)
}

/// The ids of `run`'s texts in order, from the (id, room, seq) rows a
/// statement returned (RETURNING's order is not promised); `None` unless
/// every text has one.
fn run_ids(run: &[PlannedText], stored: Vec<(i64, i64, i64)>) -> Option<Vec<i64>> {
    let ids: HashMap<(i64, i64), i64> = stored
        .into_iter()
        .map(|(id, room, seq)| ((room, seq), id))
        .collect();
    run.iter()
        .map(|t| ids.get(&(t.msg.room, t.seq)).copied())
        .collect()
}

/// The batch in one transaction: what it stored, and the heads it left.
async fn store_in_transaction(
    store: &Store,
    conn: &mut PoolConnection<Postgres>,
    vocabulary: &mut Vocabulary,
    batch: Vec<Write>,
    runs: bool,
) -> Result<(Vec<Stored>, Vec<(i64, RoomHead)>), StoreError> {
    let tx = sqlx::Connection::begin(&mut **conn).await?;
    let mut statements = PgBatch {
        tx,
        runs,
        postings: Postings::default(),
        generation: None,
        left: Vec::new(),
    };
    // On an error the transaction is dropped, and with it rolled back.
    let out = store_batch(&mut statements, &store.keys, vocabulary, batch).await?;
    statements.flush_postings().await?;
    statements.tx.commit().await?;
    Ok((out, statements.left))
}

async fn connection(store: &Store) -> Result<PoolConnection<Postgres>, StoreError> {
    match store.db() {
        Db::Postgres(pool) => Ok(pool.acquire().await?),
        Db::Sqlite(_) => Err(StoreError::Batch("not a Postgres database".into())),
    }
}

/// Postgres: the statements through sqlx, on the writer task.
struct PgBatch<'c> {
    tx: sqlx::Transaction<'c, sqlx::Postgres>,
    /// Whether plain texts go in runs (`insert_texts`).
    runs: bool,
    /// Index entries not sent yet: the next run's statement takes them,
    /// or one statement of their own before anything takes entries out,
    /// and before the commit.
    postings: Postings,
    /// The search index's generation, read with the heads.
    generation: Option<Option<i64>>,
    /// The heads the batch left (`BatchTx::left_heads`).
    left: Vec<(i64, RoomHead)>,
}

/// Search index entries as the three columns `INSERT_POSTINGS` unnests.
#[derive(Default)]
struct Postings {
    rooms: Vec<i64>,
    terms: Vec<i32>,
    messages: Vec<i64>,
}

/// A `Head` and the search index's generation (`HEADS_LOCKED`).
type HeadWithGeneration = (i64, i64, Option<i64>, i64, i64, Option<i64>);

impl PgBatch<'_> {
    /// Sends the postings `add_doc` held back, in one statement.
    async fn flush_postings(&mut self) -> Result<(), StoreError> {
        if self.postings.rooms.is_empty() {
            return Ok(());
        }
        let Postings {
            rooms,
            terms,
            messages,
        } = std::mem::take(&mut self.postings);
        sqlx::query(INSERT_POSTINGS)
            .bind(rooms)
            .bind(terms)
            .bind(messages)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl BatchTx for PgBatch<'_> {
    fn stores_runs(&self) -> bool {
        self.runs
    }

    async fn insert_texts(&mut self, run: &[PlannedText]) -> Result<Vec<i64>, StoreError> {
        let held = std::mem::take(&mut self.postings);
        let stored: Vec<(i64, i64, i64)> = bind_run(sqlx::query_as(INSERT_TEXTS.as_str()), run)
            .bind(held.rooms)
            .bind(held.terms)
            .bind(held.messages)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::RunRefused,
                _ => StoreError::from(err),
            })?;
        if stored.len() != run.len() {
            return Err(StoreError::RunRefused);
        }
        run_ids(run, stored).ok_or(StoreError::RunRefused)
    }

    fn left_heads(&mut self, heads: &HashMap<i64, RoomHead>) {
        self.left = heads.iter().map(|(&room, &head)| (room, head)).collect();
    }

    fn posts_in_runs(&self) -> bool {
        true
    }

    async fn heads(&mut self, rooms: &[i64]) -> Result<Vec<Head>, StoreError> {
        let rows: Vec<HeadWithGeneration> = sqlx::query_as(HEADS_LOCKED.as_str())
            .bind(rooms)
            .fetch_all(&mut *self.tx)
            .await?;
        if let Some(row) = rows.first() {
            self.generation = Some(row.5);
        }
        Ok(rows
            .into_iter()
            .map(|(room, last, reopened_by, texts, notifies, _)| {
                (room, last, reopened_by, texts, notifies)
            })
            .collect())
    }

    async fn index_generation(&mut self) -> Result<Option<i64>, StoreError> {
        match self.generation {
            Some(generation) => Ok(generation),
            None => self.number(INDEX_GENERATION, &[]).await,
        }
    }

    async fn insert_text(
        &mut self,
        msg: &NewMessage,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(PG_INSERT_TEXT.as_str())
            .bind(msg.room)
            .bind(seq)
            .bind(msg.sender_id)
            .bind(&msg.client_id)
            .bind(&sealed.body)
            .bind(sealed.key_id)
            .bind(&sealed.nonce)
            .bind(msg.now)
            .bind(msg.reply_to)
            .bind(text_rank)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn original(&mut self, room: i64, seq: i64, sender: i64) -> Result<Original, StoreError> {
        let row: Option<OriginalColumns> = sqlx::query_as(ORIGINAL)
            .bind(room)
            .bind(seq)
            .bind(sender)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(Original::from_columns(row))
    }

    async fn existing(
        &mut self,
        sender_id: i64,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        Ok(sqlx::query_as(EXISTING.as_str())
            .bind(sender_id)
            .bind(client_id)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn reopen(&mut self, room: i64) -> Result<(), StoreError> {
        sqlx::query(REOPEN)
            .bind(room)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_room_messages(&mut self, room: i64) -> Result<(), StoreError> {
        sqlx::query(DELETE_ROOM_MESSAGES)
            .bind(room)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_system(
        &mut self,
        line: &SystemLine,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(PG_INSERT_SYSTEM.as_str())
            .bind(line.room)
            .bind(seq)
            .bind(line.actor_id)
            .bind(&sealed.body)
            .bind(sealed.key_id)
            .bind(&sealed.nonce)
            .bind(line.now)
            .bind(text_rank)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn mark_all_read(&mut self, room: i64, seq: i64) -> Result<(), StoreError> {
        sqlx::query(MARK_ALL_READ)
            .bind(room)
            .bind(seq)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let query = bind_args!(sqlx::query(sql), args);
        Ok(query.execute(&mut *self.tx).await?.rows_affected())
    }

    async fn target(
        &mut self,
        room: i64,
        seq: i64,
        actor: i64,
    ) -> Result<Option<Target>, StoreError> {
        let row: Option<TargetColumns> = sqlx::query_as(TARGET)
            .bind(room)
            .bind(seq)
            .bind(actor)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Target::from_columns))
    }

    async fn reaction_room(
        &mut self,
        room: i64,
        seq: i64,
        emoji: &str,
    ) -> Result<(i64, bool), StoreError> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(REACTION_ROOM)
            .bind(room)
            .bind(seq)
            .bind(emoji)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map_or((0, false), |(count, this)| (count, this.unwrap_or(0) > 0)))
    }

    async fn message(&mut self, room: i64, seq: i64) -> Result<Option<MessageRow>, StoreError> {
        Ok(sqlx::query_as(MESSAGE_AT.as_str())
            .bind(room)
            .bind(seq)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn reactions(&mut self, room: i64, seq: i64) -> Result<Vec<ReactionRow>, StoreError> {
        Ok(sqlx::query_as(REACTIONS_OF)
            .bind(room)
            .bind(seq)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn mentions(&mut self, room: i64, seq: i64) -> Result<Vec<MentionRow>, StoreError> {
        Ok(sqlx::query_as(MENTIONS_OF)
            .bind(room)
            .bind(seq)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn files(&mut self, id: i64) -> Result<Vec<FileColumns>, StoreError> {
        Ok(sqlx::query_as(FILES_OF_MESSAGE)
            .bind(id)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn text(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<String>, StoreError> {
        let query = bind_args!(sqlx::query_scalar(sql), args);
        Ok(query.fetch_optional(&mut *self.tx).await?)
    }

    async fn number(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<i64>, StoreError> {
        let query = bind_args!(sqlx::query_scalar(sql), args);
        Ok(query.fetch_optional(&mut *self.tx).await?)
    }

    fn indexes_later(&self) -> bool {
        false
    }

    fn hand_new(&mut self, _: i64, _: i64, _: &str) {
        // never asked: the postings are written in the batch
    }

    async fn queue_index(&mut self, _: i64, _: i64, _: Option<&str>) -> Result<(), StoreError> {
        Ok(()) // never asked: the postings are written in the batch
    }

    async fn add_doc(&mut self, room: i64, id: i64, terms: &[i32]) -> Result<(), StoreError> {
        for &term in terms {
            self.postings.rooms.push(room);
            self.postings.terms.push(term);
            self.postings.messages.push(id);
        }
        Ok(())
    }

    async fn drop_doc(&mut self, room: i64, id: i64, terms: &[i32]) -> Result<(), StoreError> {
        self.flush_postings().await?; // an entry added in this batch goes too
        for term in terms {
            sqlx::query(DELETE_POSTING)
                .bind(room)
                .bind(*term)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn drop_room_docs(&mut self, room: i64) -> Result<(), StoreError> {
        self.flush_postings().await?;
        self.execute(DELETE_ROOM_POSTINGS, &[Arg::Int(room)])
            .await
            .map(drop)
    }

    async fn bodies(&mut self, room: i64, after: i64, up_to: i64) -> Result<Vec<Body>, StoreError> {
        Ok(sqlx::query_as(BODIES)
            .bind(room)
            .bind(after)
            .bind(up_to)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn oldest(&mut self, room: i64, limit: i64) -> Result<Vec<Aged>, StoreError> {
        Ok(sqlx::query_as(OLDEST)
            .bind(room)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?)
    }
}
