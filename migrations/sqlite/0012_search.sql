-- Search (issue 23) with no plaintext word on disk. The index holds
-- keyed hashes (BLAKE3, with a key derived from the master key and apart
-- from the message keys: server/crypto.rs) of normalised words, pairs of
-- Chinese or Japanese characters and a "has a link" mark, never a word;
-- every candidate is confirmed by decrypting its message. It is written by
-- the message writer in the message's own transaction, so every node sees
-- the same index and a crash loses no entry. (The same tables in
-- migrations/postgres/, but for the postings: see below.)
--
-- SQLite keeps the postings in FTS5, its own log-structured full-text
-- index, as a contentless table: one document per message (rowid = the
-- message's id) whose "text" is its terms' hashes in hex and its room as
-- `r<id>`; FTS5 stores the tokens and rowids, never a document. New
-- entries land in a segment merged later, not all over a B-tree. (Postgres
-- keeps a postings table: see migrations/postgres/.)
--
-- FTS5 writes a segment per transaction, so it is fed in large ones: the
-- writer indexes new messages (above `search_state.indexed_to`) and
-- edited or deleted ones (queued in `search_queue` by their own
-- transaction) in one transaction of its own when it is idle, or every
-- 200 ms when it is not (writer/sqlite_index.rs). The mark and the queue
-- commit with what they describe, so a crash loses no entry.
CREATE VIRTUAL TABLE search_docs USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    detail = 'none'
);
-- A message to index again as it is then: edited, deleted, or reached by
-- the background pass.
CREATE TABLE search_queue (
    id         INTEGER PRIMARY KEY,
    message_id BIGINT  NOT NULL
);
-- Every indexed word once, and its prefixes of 3 to 8 characters: typing
-- "depl" looks up the words that start so, then their postings. Written
-- only the first time a word is seen.
CREATE TABLE search_words (
    word INTEGER PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE search_prefixes (
    prefix INTEGER NOT NULL,
    word   INTEGER NOT NULL,
    PRIMARY KEY (prefix, word)
) WITHOUT ROWID;
-- Messages stored before the index existed (or before a reindex) are
-- indexed by a background pass through the writer, newest first, room by
-- room: a room's messages at or below search_unindexed_to are not indexed
-- yet. backfill_total is what the pass started with, for its progress;
-- key_check tells whether the index was built with the current search key.
ALTER TABLE rooms ADD COLUMN search_unindexed_to BIGINT NOT NULL DEFAULT 0;
UPDATE rooms SET search_unindexed_to = last_seq;
CREATE INDEX rooms_unindexed ON rooms (search_unindexed_to) WHERE search_unindexed_to > 0;
CREATE TABLE search_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    key_check      BLOB,
    backfill_total BIGINT NOT NULL,
    -- Moves on each rebuild: writers forget the words they knew.
    generation     BIGINT NOT NULL DEFAULT 0,
    -- SQLite: messages up to this id are indexed or the background
    -- pass's; the writer indexes newer ones after their commit.
    indexed_to     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO search_state (id, key_check, backfill_total, indexed_to)
    VALUES (1, NULL, (SELECT COALESCE(SUM(last_seq), 0) FROM rooms),
            (SELECT COALESCE(MAX(id), 0) FROM messages));
