//! SQLite: the writer's index step. A batch only queues the messages it
//! stored, edited or deleted (`search_queue`, in the message's own
//! transaction); this step, on the writer's thread and connection between
//! batches, takes what is queued and brings each message's FTS5 document
//! up to date (dropped, then written again from the message as it is now)
//! in one transaction. FTS5 writes a segment per transaction, so a few
//! large ones cost far less than one per batch (see the migration).
//!
//! It runs when the writer is idle, at most `PAUSE` after the batch
//! before it, and every `EVERY` while the writer is busy: a message is
//! searchable within a fraction of a second. A crash loses nothing: the
//! queue rows committed with the messages, and go only with the documents.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rusqlite::TransactionBehavior;

use super::indexing::Vocabulary;
use crate::server::crypto::Keyring;
use crate::server::search_terms::index_terms;
use crate::server::store::search::{
    fts_doc, DELETE_DOC, DONE_QUEUED, INDEX_GENERATION, INSERT_DOC, INSERT_PREFIX, INSERT_WORD,
    QUEUED, QUEUED_MESSAGE,
};
use crate::server::store::StoreError;

/// Queue rows one step takes.
const STEP: i64 = 4096;
/// When idle, how long after the last step the next one may run.
pub(super) const PAUSE: Duration = Duration::from_millis(20);
/// When busy, how often a step runs between batches.
pub(super) const EVERY: Duration = Duration::from_millis(200);

/// (room, seq, body, key id, nonce) of a text message still there.
type Queued = (i64, i64, Vec<u8>, Option<i64>, Option<Vec<u8>>);

/// What one batch queued, in order.
pub(super) type Handoff = Vec<Handed>;

pub(super) enum Handed {
    /// Message `id` of `room` as it is now (`None`: its entry goes).
    Message {
        id: i64,
        room: i64,
        text: Option<String>,
    },
    /// Every message of the room went (a clear).
    Cleared { room: i64 },
}

/// A queued message as the batches that committed left it, so the step
/// needs neither to read nor to decrypt it again.
struct PendingDoc {
    room: i64,
    text: Option<String>,
    /// It may have an entry already (an edit, a delete, the background pass).
    may_be_indexed: bool,
}

/// The texts of queued messages, from this process's batches. A message
/// queued before a restart is not here: the step reads it back.
#[derive(Default)]
pub(super) struct PendingDocs(HashMap<i64, PendingDoc>);

impl PendingDocs {
    pub fn take(&mut self, handoff: Handoff) {
        for handed in handoff {
            match handed {
                Handed::Message { id, room, text } => {
                    let doc = self.0.entry(id).or_insert(PendingDoc {
                        room,
                        text: None,
                        may_be_indexed: false,
                    });
                    if text.is_none() {
                        doc.may_be_indexed = true;
                    }
                    doc.text = text;
                }
                Handed::Cleared { room } => {
                    for doc in self.0.values_mut().filter(|d| d.room == room) {
                        doc.text = None;
                    }
                }
            }
        }
    }
}

/// Indexes what is queued (up to `STEP` rows) in one transaction. True when
/// more is queued.
pub(super) fn index_step(
    conn: &mut rusqlite::Connection,
    keys: &Keyring,
    vocabulary: &mut Vocabulary,
    pending: &mut PendingDocs,
) -> Result<bool, StoreError> {
    let Some(key) = keys.search() else {
        return Ok(false);
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let queued: Vec<(i64, i64)> = {
        let mut statement = tx.prepare_cached(QUEUED)?;
        let rows = statement.query_map([STEP], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let Some(&(last, _)) = queued.last() else {
        return Ok(false);
    };
    let generation: Option<i64> = tx
        .prepare_cached(INDEX_GENERATION)?
        .query_row([], |r| r.get(0))
        .ok();
    vocabulary.sync(generation);
    let mut seen = HashSet::with_capacity(queued.len());
    for &(_, id) in &queued {
        if !seen.insert(id) {
            continue;
        }
        let handed = pending.0.remove(&id);
        // A new message handed over has no entry yet: nothing to drop.
        // (Dropping one that is not there changes nothing.)
        if handed.as_ref().is_none_or(|doc| doc.may_be_indexed) {
            tx.prepare_cached(DELETE_DOC)?.execute([id])?;
        }
        let (room, text) = match handed {
            Some(PendingDoc {
                room,
                text: Some(text),
                ..
            }) => (room, text),
            Some(_) => continue, // deleted: no document
            None => {
                let message: Option<Queued> = {
                    let mut statement = tx.prepare_cached(QUEUED_MESSAGE)?;
                    let mut rows = statement.query([id])?;
                    match rows.next()? {
                        Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                        None => None,
                    }
                };
                let Some((room, seq, body, key_id, nonce)) = message else {
                    continue; // deleted or cleared: no document
                };
                let Ok(text) = keys.open(room, seq, key_id, nonce.as_deref(), &body) else {
                    continue; // does not open (a key gone): not searchable
                };
                (room, String::from_utf8_lossy(&text).into_owned())
            }
        };
        let terms = index_terms(&key, &text);
        tx.prepare_cached(INSERT_DOC)?
            .execute(rusqlite::params![id, fts_doc(room, &terms.terms)])?;
        for (word, prefixes) in terms.words {
            if !vocabulary.first_sight(word) {
                continue;
            }
            if tx.prepare_cached(INSERT_WORD)?.execute([word])? == 0 {
                continue;
            }
            let mut insert = tx.prepare_cached(INSERT_PREFIX)?;
            for prefix in prefixes {
                insert.execute([prefix, word])?;
            }
        }
    }
    tx.prepare_cached(DONE_QUEUED)?.execute([last])?;
    tx.commit()?;
    Ok(queued.len() as i64 == STEP)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dropping_a_document_that_is_not_there_changes_nothing() {
        let conn = rusqlite::Connection::open_in_memory().expect("database");
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x, content = '', contentless_delete = 1, tokenize = 'ascii', detail = 'none');
             INSERT INTO t (rowid, x) VALUES (1, 'a b'), (2, 'b c');
             DELETE FROM t WHERE rowid = 5;
             DELETE FROM t WHERE rowid = 1;
             DELETE FROM t WHERE rowid = 1;
             INSERT INTO t (rowid, x) VALUES (1, 'b d');
             DELETE FROM t WHERE rowid = 7;",
        )
        .expect("statements");
        let hits = |q: &str| -> Vec<i64> {
            let mut s = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
                .expect("query");
            s.query_map([q], |r| r.get(0))
                .expect("rows")
                .map(|r| r.expect("row"))
                .collect()
        };
        assert_eq!(hits("b"), [1, 2]);
        assert_eq!(hits("a"), Vec::<i64>::new());
        assert_eq!(hits("d"), [1]);
    }
}
