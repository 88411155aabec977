//! What the writer's senders hand over and how each batch is answered:
//! shared by the SQLite thread and the Postgres tasks.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::server::store::writes::{Stored, Write};
use crate::server::store::StoreError;

/// The most writes one transaction takes.
const MAX_BATCH: usize = 512;

pub(super) struct Job {
    pub message: Write,
    pub reply: oneshot::Sender<Result<Stored, StoreError>>,
}

pub(super) type Replies = Vec<oneshot::Sender<Result<Stored, StoreError>>>;

/// Runs in the writer after each commit, with the batch's results in
/// commit order, before the senders are answered. It must not block.
pub type Committed = Arc<dyn Fn(&[Stored]) + Send + Sync>;

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
/// Reports one transaction to the metrics: its size, how long it took,
/// and how many rows it stored (a reopening stores its line too).
pub(super) fn observe(
    size: usize,
    took: std::time::Duration,
    result: &Result<Vec<Stored>, StoreError>,
) {
    let stored = match result {
        Ok(results) => results
            .iter()
            .map(|r| match r {
                Stored::New(_) => 1,
                Stored::Reopened { .. } => 2,
                _ => 0,
            })
            .sum(),
        Err(_) => 0,
    };
    crate::server::metrics::get().writer_batch(size, took.as_secs_f64(), stored);
}

/// Answers committed batches that waited together for the publisher,
/// publishing them as one: when the fan-out falls behind (a room of
/// thousands), the messages of every batch waiting go out in one round,
/// so each socket gets them in one write instead of a write per batch.
/// Commit order is kept; a failed batch is answered on its own.
pub(super) fn answer_all(
    done: Vec<(Result<Vec<Stored>, StoreError>, Replies)>,
    committed: &Committed,
) {
    if done.len() == 1 {
        for (result, replies) in done {
            answer(result, replies, committed);
        }
        return;
    }
    let mut published = Vec::new();
    let mut answers = Vec::with_capacity(done.len());
    for (result, replies) in done {
        match result {
            Ok(results) => {
                answers.push((Ok(results.len()), replies));
                published.extend(results);
            }
            Err(err) => answers.push((Err(err), replies)),
        }
    }
    committed(&published);
    let mut results = published.into_iter();
    for (count, replies) in answers {
        match count {
            Ok(count) => {
                // Exactly this batch's results, whatever the replies.
                let batch: Vec<Stored> = results.by_ref().take(count).collect();
                for (reply, result) in replies.into_iter().zip(batch) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => answer(Err(err), replies, committed),
        }
    }
}

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
