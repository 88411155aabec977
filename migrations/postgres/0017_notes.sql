-- Internal notes (issue 26): staff write lines in a support conversation
-- that its member never receives. They live in a room of their own, kind
-- 'notes', one per support conversation (`notes_of`), whose members are
-- that conversation's staff only; so the member's room keeps its seqs
-- gap-free and nothing of a note can reach the member by any path that
-- is checked by membership (live, catch-up, history, search, unread).
-- (migrations/sqlite/ rebuilds its table for the same change.)
ALTER TABLE rooms DROP CONSTRAINT rooms_kind_check;
ALTER TABLE rooms ADD CONSTRAINT rooms_kind_check
    CHECK (kind IN ('direct', 'group', 'support', 'notes'));
ALTER TABLE rooms ADD COLUMN notes_of BIGINT REFERENCES rooms (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX rooms_notes_of ON rooms (notes_of) WHERE notes_of IS NOT NULL;
