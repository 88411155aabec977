-- Registration modes (issue 19): how new accounts may join, set by an admin
-- on the admin page, and the invitation links admins hand out.

-- Server-wide settings an admin changes at run time. One row per name; read
-- on every use, so every node applies a change at once.
CREATE TABLE settings (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- An admin's invitation link: whoever opens it may create one account, once,
-- before it expires. Only the SHA-256 of its token is kept (the link is shown
-- once, like a password), so a leaked table opens no door.
CREATE TABLE invite_links (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    created_by  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    -- Set when an account is created through it (claimed just before).
    used_at     BIGINT,
    used_by     INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX invite_links_pending ON invite_links (expires_at) WHERE used_at IS NULL;
