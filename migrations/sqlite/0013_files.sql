-- Files (issue 24), kept in the database so every node serves every file
-- and a backup holds them. A file is uploaded into a room before the
-- message that carries it is sent: `upload_id` (made by the uploader's
-- browser) makes the upload idempotent, `received` says how far it got (a
-- cut upload resumes there), and `message_id` is set by the writer in the
-- message's own transaction. A file with no message is its uploader's
-- alone. Deleting the message, clearing the room or deleting the room
-- takes its files and their chunks (cascades). (The same tables in
-- migrations/postgres/.)
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    uploader_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    upload_id   TEXT    NOT NULL,
    room_id     BIGINT  NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    received    BIGINT  NOT NULL DEFAULT 0,
    -- Sniffed from the content when the last byte arrives, never taken
    -- from the name or the browser.
    mime        TEXT,
    -- Images that decoded within the bounds: their size, and a thumbnail
    -- and a preview (variants 1 and 2 in file_chunks).
    width       BIGINT,
    height      BIGINT,
    message_id  BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    -- Its place among the message's files, as the sender attached them.
    position    BIGINT,
    created_at  BIGINT  NOT NULL,
    completed_at BIGINT,
    UNIQUE (uploader_id, upload_id)
);
CREATE INDEX files_by_message ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_by_room ON files (room_id);

-- A file's bytes in sealed chunks: variant 0 is the upload as it came,
-- 1 the thumbnail, 2 the preview. Each chunk is sealed on its own under
-- `key_id` with the file, variant, index and "last chunk" flag in the
-- associated data, so chunks cannot be moved, reordered or cut off.
CREATE TABLE file_chunks (
    file_id BIGINT  NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    variant BIGINT  NOT NULL,
    idx     BIGINT  NOT NULL,
    key_id  BIGINT  NOT NULL,
    nonce   BLOB    NOT NULL,
    data    BLOB    NOT NULL,
    PRIMARY KEY (file_id, variant, idx)
);
