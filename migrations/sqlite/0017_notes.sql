-- Internal notes (issue 26): staff write lines in a support conversation
-- that its member never receives. They live in a room of their own, kind
-- 'notes', one per support conversation (`notes_of`), whose members are
-- that conversation's staff only; so the member's room keeps its seqs
-- gap-free and nothing of a note can reach the member by any path that
-- is checked by membership (live, catch-up, history, search, unread).
--
-- SQLite cannot change a CHECK constraint in place: the rooms table is
-- rebuilt (the documented twelve steps). The store runs migrations on a
-- connection of its own with foreign keys off (so dropping the old table
-- cascades nothing) and legacy_alter_table on (so the rename leaves the
-- messages trigger's and the other tables' references to "rooms" as they
-- are), then checks the foreign keys.
CREATE TABLE rooms_rebuilt (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('direct', 'group', 'support', 'notes')),
    name          TEXT,
    -- The seq of the newest message; the next one gets last_seq + 1 in the
    -- same transaction that stores it. Never reset, not even by a clear.
    last_seq      BIGINT  NOT NULL DEFAULT 0,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    BIGINT  NOT NULL,
    last_activity BIGINT  NOT NULL,
    -- Direct rooms: "<lower user id>:<higher user id>", unique, so finding
    -- or creating the room for a pair is one upsert.
    direct_key    TEXT    UNIQUE,
    -- Support rooms: one per (member, department), enforced below.
    support_user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    department_id   INTEGER REFERENCES departments (id),
    support_status  TEXT CHECK (support_status IN ('open', 'resolved')),
    assignee_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    text_count BIGINT NOT NULL DEFAULT 0,
    last_message_seq BIGINT NOT NULL DEFAULT 0,
    search_unindexed_to BIGINT NOT NULL DEFAULT 0,
    -- Notes rooms: the support conversation they belong to (one each).
    notes_of      INTEGER REFERENCES rooms (id) ON DELETE CASCADE
);
INSERT INTO rooms_rebuilt (id, kind, name, last_seq, created_by, created_at, last_activity,
        direct_key, support_user_id, department_id, support_status, assignee_id,
        text_count, last_message_seq, search_unindexed_to)
    SELECT id, kind, name, last_seq, created_by, created_at, last_activity,
        direct_key, support_user_id, department_id, support_status, assignee_id,
        text_count, last_message_seq, search_unindexed_to
    FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_rebuilt RENAME TO rooms;
CREATE UNIQUE INDEX rooms_support_pair ON rooms (support_user_id, department_id)
    WHERE kind = 'support';
CREATE INDEX rooms_support_department ON rooms (department_id) WHERE kind = 'support';
CREATE INDEX rooms_unindexed ON rooms (search_unindexed_to) WHERE search_unindexed_to > 0;
CREATE UNIQUE INDEX rooms_notes_of ON rooms (notes_of) WHERE notes_of IS NOT NULL;
