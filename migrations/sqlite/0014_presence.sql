-- Presence and read receipts (issue 25). Presence itself lives in memory
-- (which tabs are open and in use); only "last seen" is stored, written at
-- most once a minute per user. `invisible`: shown offline to others.
-- `read_receipts`: off hides this user's reads from others and theirs
-- from them. (The same columns in migrations/postgres/.)
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;
ALTER TABLE users ADD COLUMN invisible BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN read_receipts BOOLEAN NOT NULL DEFAULT TRUE;
