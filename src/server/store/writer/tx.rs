//! The statements a write batch runs (`BatchTx`), as each database
//! supplies them: Postgres through sqlx, SQLite through rusqlite on the
//! writer's own thread. The rules that use them are in `batch.rs` and
//! `indexing.rs`.

use std::collections::HashMap;

use crate::server::crypto::Sealed;
use crate::server::search_terms::IndexTerms;
use crate::server::store::changes::Target;
use crate::server::store::details::ReactionRow;
use crate::server::store::files::FileColumns;
use crate::server::store::mentions::MentionRow;
use crate::server::store::messages::{MessageRow, NewMessage, Original, SystemLine};
use crate::server::store::search::INDEX_GENERATION;
use crate::server::store::StoreError;

/// A room's head: (room, last seq, who reopens it, text messages so far,
/// 1 when its messages notify people by kind: a direct or support room).
pub(super) type Head = (i64, i64, Option<i64>, i64, i64);

/// A room's head as a batch moves it (`batch::store_batch`), and as a
/// writer remembers it between batches (Postgres: `plain_batch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RoomHead {
    pub last_seq: i64,
    /// The member whose message reopens it (a resolved support room).
    pub reopened_by: Option<i64>,
    /// Its text messages so far.
    pub texts: i64,
    /// Whether its messages notify people by kind (direct, support).
    pub notifies: bool,
}

impl RoomHead {
    /// After a write took `last_seq`, with the room's texts now `texts`.
    pub fn moved(self, last_seq: i64, texts: i64) -> RoomHead {
        RoomHead {
            last_seq,
            texts,
            ..self
        }
    }

    /// After a status line (staff set the status) or a reopening: no
    /// member's message reopens it now.
    pub fn without_reopener(self) -> RoomHead {
        RoomHead {
            reopened_by: None,
            ..self
        }
    }
}

/// A stored body: (id, seq, body, key id, nonce).
pub(super) type Body = (i64, i64, Vec<u8>, Option<i64>, Option<Vec<u8>>);

/// One of a room's oldest messages (`OLDEST`): (id, seq, created at, 1
/// for a text message still there, body, key id, nonce).
pub(super) type Aged = (i64, i64, i64, i64, Vec<u8>, Option<i64>, Option<Vec<u8>>);

/// A value bound to a statement's `$n`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A plain text waiting in a run (`batch::store_run`): its seq, sealed
/// body and rank among the room's texts are decided as it joins, and its
/// search terms when the run's statement stores them (`posts_in_runs`).
pub(super) struct PlannedText {
    pub msg: NewMessage,
    pub seq: i64,
    pub sealed: Sealed,
    pub text_rank: i64,
    pub terms: Option<IndexTerms>,
}

/// The statements a batch runs, inside one open transaction.
pub(super) trait BatchTx {
    /// Whether plain texts wait in runs stored by one `insert_texts` each
    /// (where every statement is a round trip: Postgres).
    fn stores_runs(&self) -> bool {
        false
    }
    /// Stores `run` in one statement: the new ids, in order. When any of
    /// them would not be stored, `StoreError::RunRefused`: the transaction
    /// must then be rolled back and the batch stored one message at a time.
    /// Where runs carry their search terms (`posts_in_runs`), the same
    /// statement adds their postings, and any `add_doc` still holds.
    async fn insert_texts(&mut self, run: &[PlannedText]) -> Result<Vec<i64>, StoreError> {
        let _ = run;
        Err(StoreError::RunRefused)
    }
    /// Whether a run's postings go in its own statement (`insert_texts`),
    /// saving the round trip of another.
    fn posts_in_runs(&self) -> bool {
        false
    }
    /// The search index's generation, as this transaction sees it.
    async fn index_generation(&mut self) -> Result<Option<i64>, StoreError> {
        self.number(INDEX_GENERATION, &[]).await
    }

    /// After the batch's statements, before the commit: each room's head
    /// as the batch leaves it, for a writer that remembers them.
    fn left_heads(&mut self, heads: &HashMap<i64, RoomHead>) {
        let _ = heads;
    }

    /// The heads of `rooms` (sorted, distinct); unknown rooms are left out.
    /// On Postgres the rows are locked, in id order.
    async fn heads(&mut self, rooms: &[i64]) -> Result<Vec<Head>, StoreError>;
    async fn insert_text(
        &mut self,
        msg: &NewMessage,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<Option<i64>, StoreError>;
    async fn existing(
        &mut self,
        sender_id: i64,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError>;
    /// The message at `seq` in `room`, if there is one.
    async fn original(&mut self, room: i64, seq: i64, sender: i64) -> Result<Original, StoreError>;
    async fn reopen(&mut self, room: i64) -> Result<(), StoreError>;
    async fn delete_room_messages(&mut self, room: i64) -> Result<(), StoreError>;
    async fn insert_system(
        &mut self,
        line: &SystemLine,
        seq: i64,
        sealed: &Sealed,
        text_rank: i64,
    ) -> Result<i64, StoreError>;
    async fn mark_all_read(&mut self, room: i64, seq: i64) -> Result<(), StoreError>;
    /// Runs one statement; the number of rows it changed.
    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError>;
    /// The actor's membership and the message at `seq` (`TARGET`).
    async fn target(
        &mut self,
        room: i64,
        seq: i64,
        actor: i64,
    ) -> Result<Option<Target>, StoreError>;
    /// How many different emoji message `seq` has, and whether `emoji` is one.
    async fn reaction_room(
        &mut self,
        room: i64,
        seq: i64,
        emoji: &str,
    ) -> Result<(i64, bool), StoreError>;
    async fn message(&mut self, room: i64, seq: i64) -> Result<Option<MessageRow>, StoreError>;
    async fn reactions(&mut self, room: i64, seq: i64) -> Result<Vec<ReactionRow>, StoreError>;
    async fn mentions(&mut self, room: i64, seq: i64) -> Result<Vec<MentionRow>, StoreError>;
    /// The files of message `id` (`FILES_OF_MESSAGE`).
    async fn files(&mut self, id: i64) -> Result<Vec<FileColumns>, StoreError>;
    /// Whether the search index is written after the batch, from a queue
    /// (`add_doc` and `drop_doc` then only queue the message, and need no
    /// terms).
    fn indexes_later(&self) -> bool;
    /// When `indexes_later`: hands new message `id` of `room` to the index
    /// step (it is above the index's mark: nothing is queued).
    fn hand_new(&mut self, room: i64, id: i64, text: &str);
    /// When `indexes_later`: queues message `id` of `room` to be indexed as
    /// `text` (`None`: its entry goes).
    async fn queue_index(
        &mut self,
        room: i64,
        id: i64,
        text: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Indexes message `id` of `room` under `terms` (the search index: each
    /// database keeps it its own way).
    async fn add_doc(&mut self, room: i64, id: i64, terms: &[i32]) -> Result<(), StoreError>;
    /// Takes message `id` of `room`, indexed under `terms`, out of the index.
    async fn drop_doc(&mut self, room: i64, id: i64, terms: &[i32]) -> Result<(), StoreError>;
    /// Takes every message of `room` out of the index (before they go).
    async fn drop_room_docs(&mut self, room: i64) -> Result<(), StoreError>;
    /// The first column of the first row of `sql`, as a number.
    async fn number(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<i64>, StoreError>;
    /// Text messages of `room` with a seq in (after, up_to], for the
    /// search index: (id, seq, body, key id, nonce).
    async fn bodies(&mut self, room: i64, after: i64, up_to: i64) -> Result<Vec<Body>, StoreError>;
    /// The `limit` oldest messages of `room`, in seq order (`OLDEST`).
    async fn oldest(&mut self, room: i64, limit: i64) -> Result<Vec<Aged>, StoreError>;
    /// The first column of the first row of `sql`, as text.
    async fn text(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<String>, StoreError>;
}
