//! The search index, kept by the writer in each batch's transaction: a
//! new message adds its terms, an edit swaps them, a delete or a clear
//! removes them, and the background pass (`Write::Index`) indexes a slice
//! of older messages. Being in the same transaction as the message, an
//! entry is never lost on a crash, nor left behind by a delete.
//!
//! Where the postings go is the database's own (`BatchTx::add_doc`):
//! Postgres's postings table, in the batch; SQLite's FTS5, fed from a queue
//! the batch appends to (`sqlite_index.rs`). The vocabulary of prefixes is
//! the same table on both.

use std::collections::HashSet;

use super::tx::{Arg, BatchTx};
use crate::server::crypto::{Keyring, SearchKey};
use crate::server::search_terms::{index_terms, IndexTerms};
use crate::server::store::search::{INSERT_PREFIX, INSERT_WORD, SET_UNINDEXED_TO, UNINDEXED_TO};
use crate::server::store::StoreError;

/// How many seqs of a room one background step indexes: small enough that
/// the messages behind it in the writer wait a few milliseconds at most.
pub(super) const BACKFILL_STEP: i64 = 256;
/// Words a writer remembers being in the vocabulary, so a known word costs
/// no statement; past this many it starts over.
const KNOWN_WORDS: usize = 1 << 20;

/// The words a writer knows are in the vocabulary, as of the index's
/// generation (a rebuild empties the vocabulary and moves it on).
#[derive(Default)]
pub(super) struct Vocabulary {
    generation: Option<i64>,
    known: HashSet<i32>,
}

impl Vocabulary {
    /// After a batch that did not commit: what it added may not be there.
    pub fn forget(&mut self) {
        self.generation = None;
        self.known.clear();
    }

    /// With the index's generation as read in this transaction: forgets
    /// everything after a rebuild.
    pub fn sync(&mut self, generation: Option<i64>) {
        if generation != self.generation || self.known.len() > KNOWN_WORDS {
            self.known.clear();
            self.generation = generation;
        }
    }

    /// Whether `word` is new to this writer (then it must be offered to
    /// the vocabulary table, which may know it from another writer).
    pub fn first_sight(&mut self, word: i32) -> bool {
        self.known.insert(word)
    }

    /// Whether this writer knows `word` is in the vocabulary, without
    /// marking it seen.
    pub fn knows(&self, word: i32) -> bool {
        self.known.contains(&word)
    }

    /// The index generation the known words belong to, when they may be
    /// trusted without a `sync` first (not past `KNOWN_WORDS`).
    pub fn trusted_generation(&self) -> Option<Option<i64>> {
        (self.known.len() <= KNOWN_WORDS).then_some(self.generation)
    }
}

/// The index's state for one batch: its key, and whether the vocabulary
/// was checked yet.
pub(super) struct Indexer<'v> {
    key: Option<SearchKey>,
    vocabulary: &'v mut Vocabulary,
    checked: bool,
}

impl<'v> Indexer<'v> {
    pub fn new(keys: &Keyring, vocabulary: &'v mut Vocabulary) -> Indexer<'v> {
        Indexer {
            key: keys.search(),
            vocabulary,
            checked: false,
        }
    }

    /// Adds a new message (`id` of `room`, saying `text`).
    pub async fn index_new(
        &mut self,
        tx: &mut impl BatchTx,
        room: i64,
        id: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        if self.key.is_some() && tx.indexes_later() {
            tx.hand_new(room, id, text);
            return Ok(());
        }
        self.index(tx, room, id, text).await
    }

    /// The terms of `text`, a new message about to join a run, when the
    /// run's statement stores its postings (`BatchTx::posts_in_runs`);
    /// once stored, `posted` adds its words to the vocabulary.
    pub fn run_terms(&self, tx: &impl BatchTx, text: &str) -> Option<IndexTerms> {
        let key = self.key.as_ref()?;
        (tx.posts_in_runs() && !tx.indexes_later()).then(|| index_terms(key, text))
    }

    /// Adds the terms of `text` (message `id` of `room`).
    pub async fn index(
        &mut self,
        tx: &mut impl BatchTx,
        room: i64,
        id: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        if tx.indexes_later() {
            return tx.queue_index(room, id, Some(text)).await;
        }
        let terms = index_terms(key, text);
        tx.add_doc(room, id, &terms.terms).await?;
        self.posted(tx, terms.words).await
    }

    /// After a message's postings are written: offers its `words` (each
    /// with its prefixes) to the vocabulary, the ones new to this writer.
    pub async fn posted(
        &mut self,
        tx: &mut impl BatchTx,
        words: Vec<(i32, Vec<i32>)>,
    ) -> Result<(), StoreError> {
        use Arg::Int;
        if words.is_empty() {
            return Ok(());
        }
        if !self.checked {
            let generation = tx.index_generation().await?;
            self.vocabulary.sync(generation);
            self.checked = true;
        }
        for (word, prefixes) in words {
            if !self.vocabulary.first_sight(word) {
                continue;
            }
            if tx.execute(INSERT_WORD, &[Int(word.into())]).await? == 0 {
                continue; // known: its prefixes are there
            }
            for prefix in prefixes {
                tx.execute(INSERT_PREFIX, &[Int(prefix.into()), Int(word.into())])
                    .await?;
            }
        }
        Ok(())
    }

    /// Removes message `id` of `room`, which said `text`. Words stay in
    /// the vocabulary (they point at no message).
    pub async fn unindex(
        &mut self,
        tx: &mut impl BatchTx,
        room: i64,
        id: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        if tx.indexes_later() {
            return tx.queue_index(room, id, None).await;
        }
        tx.drop_doc(room, id, &index_terms(key, text).terms).await
    }

    /// One step of the background pass in `room`: indexes its newest
    /// `BACKFILL_STEP` seqs not indexed yet and moves the mark down.
    /// Returns the seqs still to index there.
    pub async fn backfill(
        &mut self,
        tx: &mut impl BatchTx,
        keys: &Keyring,
        room: i64,
    ) -> Result<i64, StoreError> {
        use Arg::Int;
        if self.key.is_none() {
            return Ok(0);
        }
        let up_to = tx.number(UNINDEXED_TO, &[Int(room)]).await?.unwrap_or(0);
        if up_to <= 0 {
            return Ok(0);
        }
        let after = (up_to - BACKFILL_STEP).max(0);
        for (id, seq, body, key_id, nonce) in tx.bodies(room, after, up_to).await? {
            // A body that does not open (a key gone) is skipped, not fatal.
            if let Ok(text) = keys.open(room, seq, key_id, nonce.as_deref(), &body) {
                let text = String::from_utf8_lossy(&text);
                // An edit may have indexed it already.
                self.unindex(tx, room, id, &text).await?;
                self.index(tx, room, id, &text).await?;
            }
        }
        tx.execute(SET_UNINDEXED_TO, &[Int(room), Int(after)])
            .await?;
        Ok(after)
    }
}

/// A clear, before the room's messages go: its entries go with them, and
/// nothing of it is left for the background pass.
pub(super) async fn clear(tx: &mut impl BatchTx, room: i64) -> Result<(), StoreError> {
    tx.drop_room_docs(room).await?;
    tx.execute(SET_UNINDEXED_TO, &[Arg::Int(room), Arg::Int(0)])
        .await?;
    Ok(())
}
