-- The website widget (issue 26). A site is a web site allowed to embed the
-- chat: its exact origins, the departments its visitors may reach (the
-- first is the default), whether anonymous visitors are let in, and the
-- secret its backend signs identity tokens with (sealed with the data
-- keys like a message body; shown to the admin once).
-- A visitor is an account that exists only for one site: `users.site_id`
-- marks it (it never signs in with a password and sees nothing but its
-- own conversations); `visitors` holds what the team sees about it. A
-- verified visitor is one per (site, the host's user id): the unique index
-- makes two tabs at once one account. (The same tables in
-- migrations/postgres/.)
CREATE TABLE sites (
    id            INTEGER PRIMARY KEY,
    public_key    TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    origins       TEXT    NOT NULL,
    departments   TEXT    NOT NULL,
    anonymous     BOOLEAN NOT NULL DEFAULT TRUE,
    secret        BLOB    NOT NULL,
    secret_key_id BIGINT  NOT NULL,
    secret_nonce  BLOB    NOT NULL,
    created_at    BIGINT  NOT NULL
);

ALTER TABLE users ADD COLUMN site_id INTEGER REFERENCES sites (id);

CREATE TABLE visitors (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    site_id     INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    external_id TEXT,
    email       TEXT    NOT NULL,
    page        TEXT,
    time_zone   TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX visitors_identity ON visitors (site_id, external_id)
    WHERE external_id IS NOT NULL;
