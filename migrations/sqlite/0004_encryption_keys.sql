-- Data keys for messages encrypted at rest, each sealed by the master key
-- (which is never stored here). The highest id is the current key.
CREATE TABLE encryption_keys (
    id          INTEGER PRIMARY KEY,
    sealed      BLOB    NOT NULL,
    nonce       BLOB    NOT NULL,
    created_at  BIGINT  NOT NULL
);
-- `keys status` counts rows per key; re-encryption finds the old ones.
CREATE INDEX messages_key ON messages (key_id);
