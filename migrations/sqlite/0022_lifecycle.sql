-- Account lifecycle and the audit log (issue 28).

-- When an admin deactivated the account: it cannot sign in, its sessions
-- are gone, its messages stay. NULL while active. The index holds the few
-- deactivated accounts only; every node looks at the recent ones each
-- second to close their sockets (a deactivation from the command line has
-- no other way to reach a running server).
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
CREATE INDEX users_deactivated ON users (deactivated_at) WHERE deactivated_at IS NOT NULL;

-- The name others see: marked while the account is deactivated. One
-- definition, read wherever a name is shown beside messages and members.
ALTER TABLE users ADD COLUMN shown_name TEXT GENERATED ALWAYS AS (
    CASE WHEN deactivated_at IS NULL THEN display_name
         ELSE display_name || ' (deactivated)' END) VIRTUAL;

-- What admins (and the command line) changed: who, when, from where.
-- actor_id is kept as a plain number (no foreign key), so an entry
-- outlives whatever it names.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       BIGINT  NOT NULL,
    actor_id BIGINT,
    actor    TEXT    NOT NULL,
    address  TEXT,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT ''
);
