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
//! has one write lock anyway; see `sqlite`); Postgres gets several
//! tasks, so rooms on different shards commit in parallel. A room always
//! maps to the same shard, so its messages are written in arrival order.

mod batch;
mod indexing;
mod jobs;
mod plain_batch;
mod postgres;
mod sqlite;
mod sqlite_index;
mod trim;
mod tx;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::writes::{IndexStep, Write};
use super::{Db, Store, StoreError, Stored};
use jobs::Job;

pub use jobs::Committed;

const QUEUE: usize = 4096;

/// Postgres writer tasks: one per core this node may run on, at least two
/// (so a slow transaction does not hold every room up) and at most eight.
/// More shards commit more transactions in parallel but each with fewer
/// messages; where Postgres shares the cores, its CPU per message is the
/// limit, and fewer, fuller batches win (issue 31: on two cores, two
/// shards persisted 11,899 msgs/s where four did 9,210).
fn postgres_shards() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |cores| cores.get())
        .clamp(2, 8)
}

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
    /// SQLite gets one thread of its own (`sqlite.rs`); Postgres gets
    /// `postgres_shards()` tasks.
    pub fn spawn(store: &Store, committed: Committed) -> Result<MessageWriter, StoreError> {
        let shards = match store.db() {
            Db::Sqlite(_) => {
                let path = store.sqlite_file().ok_or(StoreError::InMemory)?;
                let (tx, rx) = mpsc::channel(QUEUE);
                sqlite::spawn(path, store.keys.clone(), rx, committed)?;
                vec![tx]
            }
            Db::Postgres(_) => (0..postgres_shards())
                .map(|_| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(postgres::run(store.clone(), rx, committed.clone()));
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

    /// Writes waiting in the writer's queues (for the metrics).
    pub fn queued(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.max_capacity() - shard.capacity())
            .sum()
    }

    /// Returns once every write handed over before it has committed: a
    /// stopping node's last step. Each shard gets a search-index step for a
    /// room that cannot exist (a negative id, chosen to land on that
    /// shard), which its batch answers without touching a row; a shard
    /// stores in order, so its answer comes after everything before it.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let shards = self.shards.len() as i64;
        let barriers = (0..shards).map(|shard| {
            self.write(IndexStep {
                room: shard - shards,
            })
        });
        for answer in futures::future::join_all(barriers).await {
            answer?;
        }
        Ok(())
    }

    /// Stores one message or system line; returns once its batch has committed.
    pub async fn write(&self, message: impl Into<Write>) -> Result<Stored, StoreError> {
        self.submit(message).await?.await
    }
}
