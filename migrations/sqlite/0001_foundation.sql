-- Glasschat schema, SQLite flavour. migrations/postgres/ holds the same tables
-- in Postgres types; every query in src/server/store/ runs unchanged on both.
-- Times are Unix milliseconds (BIGINT) so both databases compare them alike.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('member', 'agent', 'admin')),
    -- TRUE for the very first account only; the partial unique index makes
    -- "first sign-up becomes admin" safe when two sign-ups race.
    is_founder    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_single_founder ON users (is_founder) WHERE is_founder;

CREATE TABLE sessions (
    -- SHA-256 of the cookie token; the token itself is never stored.
    token_hash  BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL
);
INSERT INTO departments (name, created_at) VALUES ('Billing', 0), ('Technical Support', 0);

CREATE TABLE agent_departments (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    department_id INTEGER NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, department_id)
);
CREATE INDEX agent_departments_department ON agent_departments (department_id);

CREATE TABLE rooms (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('direct', 'group', 'support')),
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
    assignee_id     INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX rooms_support_pair ON rooms (support_user_id, department_id)
    WHERE kind = 'support';

CREATE TABLE room_members (
    room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    last_read_seq BIGINT  NOT NULL DEFAULT 0,
    hidden        BOOLEAN NOT NULL DEFAULT FALSE,
    joined_at     BIGINT  NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (user_id);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         BIGINT  NOT NULL,
    -- NULL for system lines ("Ada cleared the history").
    sender_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- The sender's idempotency key: a resend with the same id stores nothing.
    client_id   TEXT,
    kind        TEXT    NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'system')),
    -- UTF-8 text while key_id is NULL; AEAD ciphertext under key key_id with
    -- this nonce once encryption at rest is on.
    body        BLOB    NOT NULL,
    key_id      INTEGER,
    nonce       BLOB,
    created_at  BIGINT  NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (sender_id, client_id)
);
