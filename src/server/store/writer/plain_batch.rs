//! Postgres: a batch of nothing but plain texts, to rooms whose heads the
//! writer remembers from its earlier batches, goes as ONE statement with
//! no transaction around it (`ONE_STATEMENT`). The statement locks the
//! rooms, and stores the whole batch only if every head is still as
//! remembered and every text would be stored; otherwise it stores nothing,
//! and the batch goes the long way (`batch::store_batch` in a transaction:
//! `BEGIN`, heads, statements, `COMMIT`), which also refreshes the heads.
//!
//! Why: where Postgres shares the cores with the node, each round trip
//! waits about a quarter of a millisecond for a core, and the long way
//! takes four for a batch of plain texts. This takes one, and is the batch
//! a busy room's writer sends nearly every time. What it cannot decide
//! alone (a reply, files, an `@`, a direct or support room, a room it has
//! not seen, a stale head) it leaves to the long way, where the rules are.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use super::batch::{
    plain_text, text_view, ADVANCE_ROOMS, INSERT_RUN, POST_RUN, RUN_RETURNING, RUN_ROWS, STORABLE,
};
use super::indexing::Vocabulary;
use super::tx::{PlannedText, RoomHead};
use crate::server::crypto::Keyring;
use crate::server::search_terms::index_terms;
use crate::server::store::writes::{Stored, Write};
use crate::server::store::StoreError;

/// Rooms a writer remembers; past this many it starts over (each costs a
/// few dozen bytes, and a forgotten room only costs one long batch).
const REMEMBERED_ROOMS: usize = 100_000;

/// The run's arrays ($1-$12, as `INSERT_TEXTS` takes them), then: the
/// rooms ($13) with the heads remembered for them ($14-$16: last seq, who
/// reopens it, texts); whether the batch relies on the vocabulary ($17)
/// and of which generation ($18); the words to offer it ($19) and their
/// prefixes ($20, $21: prefix, word).
///
/// `locked` takes the rooms' row locks in id order (so two nodes never
/// deadlock) and sees each row as last committed; `unmoved` says whether
/// each is as remembered; `ready` whether every text is `STORABLE`.
/// `stored` inserts every row or none (a run that would leave one out is
/// the long way's to answer); everything after it hangs on `stored`, so a
/// statement that stores nothing writes nothing. A word is offered only
/// if the writer has not seen it, and its prefixes only if the vocabulary
/// did not have it (as `Indexer::posted` does).
///
/// `ready` counts in a `WHERE`, as `INSERT_TEXTS` filters: there the
/// lookups plan as index probes. The same tests as a column of each row
/// planned, on a new database, as hashes of whole-table scans, and the
/// plan stays with the writer's connection (6.5 ms a statement after a
/// few seconds of `persist`).
pub(super) static ONE_STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH locked AS (
           SELECT id, last_seq, CASE WHEN support_status = 'resolved' THEN support_user_id END AS reopened_by,
                  text_count, kind
           FROM rooms WHERE id = ANY($13) ORDER BY id FOR UPDATE
         ), unmoved AS (
           SELECT count(*) = cardinality($13::BIGINT[]) AS ok
           FROM locked l
           JOIN unnest($13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[])
                AS h(id, last_seq, reopened_by, text_count)
             ON l.id = h.id AND l.last_seq = h.last_seq AND l.text_count = h.text_count
            AND l.reopened_by IS NOT DISTINCT FROM h.reopened_by
            AND l.kind NOT IN ('direct', 'support')
         ), ready AS (
           SELECT count(*) = cardinality($1::BIGINT[]) AS ok FROM {RUN_ROWS} WHERE {STORABLE}
         ), stored AS (
           {INSERT_RUN} {RUN_ROWS}
           WHERE (SELECT ok FROM unmoved) AND (SELECT ok FROM ready)
             AND (NOT $17 OR (SELECT generation FROM search_state WHERE id = 1) IS NOT DISTINCT FROM $18)
           {RUN_RETURNING}
         ), {ADVANCE_ROOMS}, {POST_RUN}, words AS (
           INSERT INTO search_words (word)
           SELECT w.word FROM unnest($19::INT[]) AS w(word) WHERE EXISTS (SELECT 1 FROM stored)
           ON CONFLICT DO NOTHING
           RETURNING word
         ), prefixes AS (
           INSERT INTO search_prefixes (prefix, word)
           SELECT p.prefix, p.word FROM unnest($20::INT[], $21::INT[]) AS p(prefix, word)
           JOIN words w ON w.word = p.word
           ON CONFLICT DO NOTHING
         )
         SELECT id, room_id, seq FROM stored"
    )
});

/// How long a room whose one statement missed goes the long way: nodes
/// taking turns in a busy room would otherwise pay a wasted round trip
/// on nearly every batch.
const MISSED_ROOM_WAITS: Duration = Duration::from_secs(1);

/// The heads a writer's batches left, by room, and the rooms whose one
/// statement lately stored nothing.
#[derive(Default)]
pub(super) struct RememberedHeads {
    heads: HashMap<i64, RoomHead>,
    missed: HashMap<i64, Instant>,
}

impl RememberedHeads {
    /// After a batch that did not commit: nothing remembered may be trusted.
    pub fn forget(&mut self) {
        self.heads.clear();
    }

    /// After a batch committed: the heads it left.
    pub fn learn(&mut self, heads: Vec<(i64, RoomHead)>) {
        if self.heads.len() + heads.len() > REMEMBERED_ROOMS {
            self.heads.clear();
        }
        self.heads.extend(heads);
    }

    /// After a one statement that stored nothing (another node moved a
    /// room, or a text was a resend): its rooms go the long way for a
    /// while (`MISSED_ROOM_WAITS`).
    pub fn missed(&mut self, plan: &OneStatement) {
        let now = Instant::now();
        if self.missed.len() > REMEMBERED_ROOMS {
            self.missed
                .retain(|_, at| now.duration_since(*at) < MISSED_ROOM_WAITS);
        }
        self.missed
            .extend(plan.before.iter().map(|&(room, _)| (room, now)));
    }

    /// Whether `batch` can go as one statement: only plain texts, each to
    /// a remembered room whose messages notify nobody by kind, that did
    /// not just miss, and not from the member whose message would reopen
    /// it.
    pub fn covers(&self, batch: &[Write]) -> bool {
        batch.iter().all(|write| match write {
            Write::Text(msg) => {
                plain_text(msg)
                    && self.heads.get(&msg.room).is_some_and(|head| {
                        !head.notifies && head.reopened_by != Some(msg.sender_id)
                    })
                    && self
                        .missed
                        .get(&msg.room)
                        .is_none_or(|at| at.elapsed() >= MISSED_ROOM_WAITS)
            }
            _ => false,
        })
    }
}

/// A batch planned for `ONE_STATEMENT` against the remembered heads.
pub(super) struct OneStatement {
    /// The texts in order, each with its seq, sealed body and terms.
    pub texts: Vec<PlannedText>,
    /// The batch's rooms as remembered, and as the batch leaves them.
    pub before: Vec<(i64, RoomHead)>,
    pub after: Vec<(i64, RoomHead)>,
    /// Whether the statement relies on the vocabulary, and of which
    /// generation (`Vocabulary::trusted_generation`).
    pub relies_on_vocabulary: bool,
    pub generation: Option<i64>,
    /// Words the writer has not seen, each once, with their prefixes.
    pub new_words: Vec<(i32, Vec<i32>)>,
}

impl OneStatement {
    /// Plans `batch`, which `RememberedHeads::covers`: seqs after the
    /// remembered heads, bodies sealed for them, search terms. The batch
    /// back when the vocabulary must be checked first (the long way does).
    pub fn plan(
        keys: &Keyring,
        vocabulary: &Vocabulary,
        remembered: &RememberedHeads,
        batch: Vec<Write>,
    ) -> Result<Result<OneStatement, Vec<Write>>, StoreError> {
        let Some(generation) = vocabulary.trusted_generation() else {
            return Ok(Err(batch));
        };
        let search = keys.search();
        let mut heads: HashMap<i64, RoomHead> = HashMap::new();
        let mut before = Vec::new();
        let (mut texts, mut new_words, mut offered) = (Vec::new(), Vec::new(), HashSet::new());
        for write in batch {
            // `covers` let only texts to remembered rooms through.
            let uncovered = || StoreError::Batch("a write one statement cannot store".into());
            let Write::Text(msg) = write else {
                return Err(uncovered());
            };
            let head = match heads.entry(msg.room) {
                Entry::Occupied(head) => head.into_mut(),
                Entry::Vacant(slot) => {
                    let head = *remembered.heads.get(&msg.room).ok_or_else(uncovered)?;
                    before.push((msg.room, head));
                    slot.insert(head)
                }
            };
            head.last_seq += 1;
            head.texts += 1;
            let (seq, text_rank) = (head.last_seq, head.texts);
            let sealed = keys.seal(msg.room, seq, msg.body.as_bytes())?;
            let terms = search.as_ref().map(|key| index_terms(key, &msg.body));
            for (word, prefixes) in terms.iter().flat_map(|t| &t.words) {
                if !vocabulary.knows(*word) && offered.insert(*word) {
                    new_words.push((*word, prefixes.clone()));
                }
            }
            texts.push(PlannedText {
                msg,
                seq,
                sealed,
                text_rank,
                terms,
            });
        }
        let relies_on_vocabulary = texts.iter().any(|t| {
            t.terms
                .as_ref()
                .is_some_and(|terms| !terms.words.is_empty())
        });
        let after = before
            .iter()
            .map(|&(room, _)| (room, heads[&room]))
            .collect();
        Ok(Ok(OneStatement {
            texts,
            before,
            after,
            relies_on_vocabulary,
            generation,
            new_words,
        }))
    }

    /// What the batch stored, once `ONE_STATEMENT` stored every text as
    /// `ids` (in order); the words it offered are now known to the writer.
    pub fn stored(
        self,
        ids: Vec<i64>,
        vocabulary: &mut Vocabulary,
        remembered: &mut RememberedHeads,
    ) -> Vec<Stored> {
        for (word, _) in &self.new_words {
            vocabulary.first_sight(*word);
        }
        remembered.learn(self.after);
        self.texts
            .into_iter()
            .zip(ids)
            .map(|(t, id)| Stored::New(text_view(t.msg, id, t.seq)))
            .collect()
    }

    /// The batch as it came, for the long way.
    pub fn into_writes(self) -> Vec<Write> {
        self.texts.into_iter().map(|t| Write::Text(t.msg)).collect()
    }
}
