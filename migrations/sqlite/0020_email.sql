-- Email (issue 27): password reset links and missed-message digests.

-- How long a message that would notify may stay unread before it is
-- emailed in a digest: 0 (off), 15 or 60 minutes (the default).
ALTER TABLE users ADD COLUMN email_delay_mins BIGINT NOT NULL DEFAULT 60;

-- A password reset link: only the SHA-256 of its random token is kept.
-- Used once (used_at), valid until expires_at.
CREATE TABLE password_resets (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- The notification outbox: a row per person a new message would notify
-- (a direct message, a mention, a support conversation's call), written
-- in the message's own transaction, so nothing is lost or doubled by a
-- crash; the notifiers take rows out once they have decided about them.
-- Append-only in id order with no other index and no foreign key, on
-- purpose: it is written with every direct message, and a row keyed by
-- person would dirty a page per person in every write batch (measured:
-- a fifth of the writer's throughput). Its rows live minutes; readers
-- scan it and join rows to rooms and memberships, so a row of a deleted
-- room or account finds nothing.
CREATE TABLE notifications_due (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    room_id    INTEGER NOT NULL,
    seq        BIGINT  NOT NULL,
    mention    BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL
);
