-- Canned replies (issue 26): a department's ready answers, which its staff
-- (the department's agents and every admin) write and pick from with `/` in
-- a support conversation's composer. `{name}` and `{agent}` in the body are
-- filled in when one is picked. Team text, not a message: not sealed.
-- (The same table in migrations/postgres/.)
CREATE TABLE canned_replies (
    id            INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    updated_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (department_id, title)
);
