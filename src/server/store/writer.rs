//! Group commit for messages. Senders hand their message to a writer task
//! and wait; the writer takes everything waiting (up to `MAX_BATCH`), stores
//! it in one transaction, and only after the commit answers each sender. One
//! commit then carries many messages, which is what lets a single SQLite
//! file (one writer at a time) keep up with many senders.
//!
//! After each commit, and before answering anyone, the batch's results go
//! to the `Committed` hook (the messages service publishes there): inline
//! on a Postgres writer task, on a runtime task for the SQLite thread. So a
//! room's messages reach the hub in seq order, and a whole batch at a time:
//! a member socket then finds all of its room's new messages queued
//! together and writes them in one go.
//!
//! Writers are sharded by room: SQLite gets one, a thread of its own (it
//! has one write lock anyway; see `sqlite_writer`); Postgres gets several
//! tasks, so rooms on different shards commit in parallel. A room always
//! maps to the same shard, so its messages are written in arrival order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use sqlx::pool::PoolConnection;
use sqlx::Postgres;

use super::messages::Write;
use super::{Db, Store, StoreError, Stored};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 4096;
const POSTGRES_SHARDS: usize = 4;

pub(super) struct Job {
    message: Write,
    reply: oneshot::Sender<Result<Stored, StoreError>>,
}

pub(super) type Replies = Vec<oneshot::Sender<Result<Stored, StoreError>>>;

/// Runs in the writer after each commit, with the batch's results in
/// commit order, before the senders are answered. It must not block.
pub type Committed = Arc<dyn Fn(&[Stored]) + Send + Sync>;

#[derive(Clone)]
pub struct MessageWriter {
    shards: Vec<mpsc::Sender<Job>>,
}

/// A write handed to the writer: resolves to what was stored once its
/// batch has committed.
pub struct Pending(oneshot::Receiver<Result<Stored, StoreError>>);

impl Future for Pending {
    type Output = Result<Stored, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(StoreError::WriterGone)))
    }
}

impl Pending {
    /// The answer if it has arrived, without waiting.
    pub fn try_take(&mut self) -> Option<Result<Stored, StoreError>> {
        match self.0.try_recv() {
            Ok(answer) => Some(answer),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(StoreError::WriterGone)),
        }
    }
}

impl MessageWriter {
    /// Starts the writers for `store`; `committed` sees every result.
    /// SQLite gets one thread of its own (`sqlite_writer`); Postgres gets
    /// `POSTGRES_SHARDS` tasks.
    pub fn spawn(store: &Store, committed: Committed) -> Result<MessageWriter, StoreError> {
        let shards = match store.db() {
            Db::Sqlite(_) => {
                let path = store.sqlite_file().ok_or(StoreError::InMemory)?;
                let (tx, rx) = mpsc::channel(QUEUE);
                super::sqlite_writer::spawn(path, store.keys.clone(), rx, committed)?;
                vec![tx]
            }
            Db::Postgres(_) => (0..POSTGRES_SHARDS)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(run_postgres(store.clone(), rx, committed.clone()));
                    tx
                })
                .collect(),
        };
        Ok(MessageWriter { shards })
    }

    /// Hands one message or system line to its room's writer. Waits only
    /// when the writer's queue is full; the returned `Pending` resolves
    /// once the batch has committed. A room's writes are stored in the
    /// order they were handed over.
    pub async fn submit(&self, message: impl Into<Write>) -> Result<Pending, StoreError> {
        let message = message.into();
        let shard = message.room().rem_euclid(self.shards.len() as i64) as usize;
        let (reply, answer) = oneshot::channel();
        self.shards[shard]
            .send(Job { message, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Pending(answer))
    }

    /// Stores one message or system line; returns once its batch has committed.
    pub async fn write(&self, message: impl Into<Write>) -> Result<Stored, StoreError> {
        self.submit(message).await?.await
    }
}

/// Adds to `first` whatever else is waiting, up to `MAX_BATCH`.
pub(super) fn fill_batch(first: Job, jobs: &mut mpsc::Receiver<Job>) -> (Vec<Write>, Replies) {
    let mut messages = Vec::with_capacity(MAX_BATCH.min(jobs.len() + 1));
    let mut replies = Vec::with_capacity(messages.capacity());
    let mut next = Some(first);
    while let Some(job) = next.take() {
        messages.push(job.message);
        replies.push(job.reply);
        if messages.len() < MAX_BATCH {
            next = jobs.try_recv().ok();
        }
    }
    (messages, replies)
}

/// After a batch: on success hands every result to `committed`, then
/// answers each sender; on failure tells every sender (they may retry).
pub(super) fn answer(
    result: Result<Vec<Stored>, StoreError>,
    replies: Replies,
    committed: &Committed,
) {
    match result {
        Ok(results) => {
            committed(&results);
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, size = replies.len(), "message batch failed; its senders may retry");
            let text = err.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Batch(text.clone())));
            }
        }
    }
}

async fn run_postgres(store: Store, mut jobs: mpsc::Receiver<Job>, committed: Committed) {
    let mut conn: Option<PoolConnection<Postgres>> = None;
    while let Some(first) = jobs.recv().await {
        let (batch, replies) = fill_batch(first, &mut jobs);
        let result = match conn.as_mut() {
            Some(c) => store.insert_batch_postgres(c, batch).await,
            None => match store.postgres_connection().await {
                Ok(c) => store.insert_batch_postgres(conn.insert(c), batch).await,
                Err(err) => Err(err),
            },
        };
        if result.is_err() {
            conn = None; // start the next batch on a fresh connection
        }
        answer(result, replies, &committed);
    }
}
