-- Search (issue 23) with no plaintext word on disk. The index holds
-- keyed hashes (BLAKE3, with a key derived from the master key and apart
-- from the message keys: server/crypto.rs) of normalised words, pairs of
-- Chinese or Japanese characters and a "has a link" mark, never a word;
-- every candidate is confirmed by decrypting its message. It is written by
-- the message writer in the message's own transaction, so every node sees
-- the same index and a crash loses no entry. (Same change in
-- migrations/sqlite/.)
--
-- One row per (room, term, message): a room's rows sit together, so a
-- search walks only the asker's rooms and a clear drops a room's rows in
-- one range. (SQLite keeps these in an FTS5 table instead, written far
-- more cheaply by its one writer: see migrations/sqlite/.)
CREATE TABLE search_postings (
    room_id    BIGINT  NOT NULL,
    term       INTEGER NOT NULL,
    message_id BIGINT  NOT NULL,
    PRIMARY KEY (room_id, term, message_id)
);
-- Every indexed word once, and its prefixes of 3 to 8 characters: typing
-- "depl" looks up the words that start so, then their postings. Written
-- only the first time a word is seen.
CREATE TABLE search_words (
    word INTEGER PRIMARY KEY
);
CREATE TABLE search_prefixes (
    prefix INTEGER NOT NULL,
    word   INTEGER NOT NULL,
    PRIMARY KEY (prefix, word)
);
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
    key_check      BYTEA,
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
