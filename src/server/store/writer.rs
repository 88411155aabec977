//! Group commit for messages. Senders hand their message to a writer task
//! and wait; the writer takes everything waiting (up to `MAX_BATCH`), stores
//! it in one transaction, and only after the commit answers each sender. One
//! commit then carries many messages, which is what lets a single SQLite
//! file (one writer at a time) keep up with many senders.
//!
//! Writers are sharded by room: SQLite gets one (it has one write lock
//! anyway); Postgres gets several, so rooms on different shards commit in
//! parallel. A room always maps to the same shard, so its messages are
//! written in arrival order.

use tokio::sync::{mpsc, oneshot};

use super::messages::Write;
use super::messages::WriterConn;
use super::{Db, Store, StoreError, Stored};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 4096;
const POSTGRES_SHARDS: usize = 4;

struct Job {
    message: Write,
    reply: oneshot::Sender<Result<Stored, StoreError>>,
}

#[derive(Clone)]
pub struct MessageWriter {
    shards: Vec<mpsc::Sender<Job>>,
}

impl MessageWriter {
    /// Starts the writer tasks for `store`.
    pub fn spawn(store: &Store) -> MessageWriter {
        let count = match store.db() {
            Db::Sqlite(_) => 1,
            Db::Postgres(_) => POSTGRES_SHARDS,
        };
        let shards = (0..count)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(store.clone(), rx));
                tx
            })
            .collect();
        MessageWriter { shards }
    }

    /// Stores one message or system line; returns once its batch has committed.
    pub async fn write(&self, message: impl Into<Write>) -> Result<Stored, StoreError> {
        let message = message.into();
        let shard = message.room().rem_euclid(self.shards.len() as i64) as usize;
        let (reply, answer) = oneshot::channel();
        self.shards[shard]
            .send(Job { message, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    let mut conn: Option<WriterConn> = None;
    while let Some(first) = jobs.recv().await {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            messages.push(job.message);
            replies.push(job.reply);
            if messages.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        let size = messages.len();
        let started = std::time::Instant::now();
        let result = match conn.as_mut() {
            Some(c) => store.insert_batch(c, messages.drain(..)).await,
            None => match store.writer_connection().await {
                Ok(c) => store.insert_batch(conn.insert(c), messages.drain(..)).await,
                Err(err) => Err(err),
            },
        };
        messages.clear();
        tracing::trace!(
            size,
            took_us = started.elapsed().as_micros() as u64,
            "message batch"
        );
        match result {
            Ok(results) => {
                for (reply, result) in replies.drain(..).zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => {
                // Start the next batch on a fresh connection, in case this one broke.
                conn = None;
                tracing::error!(error = %err, size, "message batch failed; its senders may retry");
                let text = err.to_string();
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(StoreError::Batch(text.clone())));
                }
            }
        }
    }
}
