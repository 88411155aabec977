//! SQLite: the writer's index step. A batch writes nothing of the index
//! itself: a new message is above the index's mark (`search_state.
//! indexed_to`), and an edited or deleted one is queued (`search_queue`,
//! in the message's own transaction). This step, on the writer's thread
//! and connection between batches, indexes the new messages and brings
//! each queued one's FTS5 document up to date (dropped, then written again
//! from the message as it is now), and moves the mark, in one transaction. FTS5 writes a segment per transaction, so a few
//! large ones cost far less than one per batch (see the migration).
//!
//! It runs when the writer is idle, at most `PAUSE` after the batch
//! before it, and every `EVERY` while the writer is busy: a message is
//! searchable within a fraction of a second. A crash loses nothing: the
//! queue rows committed with the messages, and go only with the documents.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use rusqlite::TransactionBehavior;

use super::indexing::Vocabulary;
use crate::server::crypto::{Keyring, SearchKey};
use crate::server::search_terms::index_terms;
use crate::server::store::search::{
    fts_doc, DELETE_DOC, DONE_QUEUED, INDEXED_TO, INDEX_GENERATION, INSERT_DOC, INSERT_PREFIX,
    INSERT_WORD, NEWEST_MESSAGE, NEW_SINCE, QUEUED, QUEUED_MESSAGE, SET_INDEXED_TO,
};
use crate::server::store::StoreError;

/// Queue rows (or new messages) one step takes.
const STEP: i64 = 4096;
/// When idle, how long after the last step the next one may run.
pub(super) const PAUSE: Duration = Duration::from_millis(20);
/// When busy, how often a step runs between batches.
pub(super) const EVERY: Duration = Duration::from_millis(200);

/// (id, room, seq, body, key id, nonce) of a text message still there.
type Stored = (i64, i64, i64, Vec<u8>, Option<i64>, Option<Vec<u8>>);

/// What one batch handed to the index step, in order.
pub(super) type Handoff = Vec<Handed>;

pub(super) enum Handed {
    /// A new message (not queued: it is above the index's mark).
    New { id: i64, room: i64, text: String },
    /// A queued message of `room` as it is now (`None`: its entry goes).
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

/// What this process's batches handed over and the step has not indexed:
/// new messages (by id, above `search_state.indexed_to`) and queued ones.
/// What was stored before a restart is not here: the step reads it back.
#[derive(Default)]
pub(super) struct PendingDocs {
    new: BTreeMap<i64, (i64, Option<String>)>,
    queued: HashMap<i64, PendingDoc>,
    /// The newest message id when this writer started: new messages up to
    /// it (stored before a crash, not indexed yet) are read back.
    started_at: Option<i64>,
}

impl PendingDocs {
    pub fn take(&mut self, handoff: Handoff) {
        for handed in handoff {
            match handed {
                Handed::New { id, room, text } => {
                    self.new.insert(id, (room, Some(text)));
                }
                Handed::Message { id, room, text } => {
                    if let Some(new) = self.new.get_mut(&id) {
                        new.1.clone_from(&text);
                    }
                    let doc = self.queued.entry(id).or_insert(PendingDoc {
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
                    for new in self.new.values_mut().filter(|n| n.0 == room) {
                        new.1 = None;
                    }
                    for doc in self.queued.values_mut().filter(|d| d.room == room) {
                        doc.text = None;
                    }
                }
            }
        }
    }
}

/// Adds the document of message `id` and any new words of it.
fn add(
    tx: &rusqlite::Transaction<'_>,
    key: &SearchKey,
    vocabulary: &mut Vocabulary,
    id: i64,
    room: i64,
    text: &str,
) -> Result<(), StoreError> {
    let terms = index_terms(key, text);
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
    Ok(())
}

/// Opens a stored message; `None` when it does not open (a key gone: the
/// message is not searchable, not fatal).
fn open(keys: &Keyring, (_, room, seq, body, key_id, nonce): &Stored) -> Option<String> {
    let text = keys
        .open(*room, *seq, *key_id, nonce.as_deref(), body)
        .ok()?;
    Some(String::from_utf8_lossy(&text).into_owned())
}

/// Indexes what is waiting (up to `STEP` new messages and `STEP` queue
/// rows) in one transaction. True when more is waiting.
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
    let started_at = match pending.started_at {
        Some(at) => at,
        None => {
            let at: i64 = tx
                .prepare_cached(NEWEST_MESSAGE)?
                .query_row([], |r| r.get(0))?;
            pending.started_at = Some(at);
            at
        }
    };
    let mark: i64 = tx.prepare_cached(INDEXED_TO)?.query_row([], |r| r.get(0))?;
    let queued: Vec<(i64, i64)> = {
        let mut statement = tx.prepare_cached(QUEUED)?;
        let rows = statement.query_map([STEP], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut more = queued.len() as i64 == STEP;
    let behind = mark < started_at;
    if queued.is_empty() && !behind && pending.new.is_empty() {
        return Ok(false);
    }
    let generation: Option<i64> = tx
        .prepare_cached(INDEX_GENERATION)?
        .query_row([], |r| r.get(0))
        .ok();
    vocabulary.sync(generation);

    // New messages: first any stored before this writer started and not
    // indexed (a crash), read back; then those handed over.
    let mut new_mark = mark;
    if behind {
        let rows: Vec<Stored> = {
            let mut statement = tx.prepare_cached(NEW_SINCE)?;
            let rows = statement.query_map([mark, started_at, STEP], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        new_mark = if (rows.len() as i64) < STEP {
            started_at
        } else {
            more = true;
            rows.last().map_or(started_at, |r| r.0)
        };
        for row in &rows {
            if let Some(text) = open(keys, row) {
                add(&tx, &key, vocabulary, row.0, row.1, &text)?;
            }
        }
    } else {
        let handed = std::mem::take(&mut pending.new);
        for (id, (room, text)) in handed {
            // At or below the mark: a rebuild set it there, and the
            // background pass indexes it.
            if id <= mark {
                continue;
            }
            new_mark = id;
            if let Some(text) = text {
                add(&tx, &key, vocabulary, id, room, &text)?;
            }
        }
    }
    if new_mark != mark {
        tx.prepare_cached(SET_INDEXED_TO)?.execute([new_mark])?;
    }

    // Queued: edits, deletes, the background pass.
    let mut seen = HashSet::with_capacity(queued.len());
    for &(_, id) in &queued {
        if !seen.insert(id) {
            continue;
        }
        let handed = pending.queued.remove(&id);
        // Only a message that may have an entry has one to drop. (Dropping
        // one that is not there changes nothing.)
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
                let row: Option<Stored> = {
                    let mut statement = tx.prepare_cached(QUEUED_MESSAGE)?;
                    let mut rows = statement.query([id])?;
                    match rows.next()? {
                        Some(r) => {
                            Some((id, r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        }
                        None => None,
                    }
                };
                let Some(text) = row.as_ref().and_then(|row| open(keys, row)) else {
                    continue; // deleted, cleared, or does not open: no document
                };
                (row.map_or(0, |r| r.1), text)
            }
        };
        add(&tx, &key, vocabulary, id, room, &text)?;
    }
    if let Some(&(last, _)) = queued.last() {
        tx.prepare_cached(DONE_QUEUED)?.execute([last])?;
    }
    tx.commit()?;
    Ok(more)
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
