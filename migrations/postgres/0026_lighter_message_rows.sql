-- What each new message row costs Postgres (issue 31). Measured on the
-- persist load (one node, 2 cores, `loadtest persist`), each change added
-- about 7% of messages a second: together about 11,300 to 12,500.
--
-- 1. The index on messages.key_id held one value for nearly every row (the
--    current data key), and a b-tree on one value makes every insert
--    rewrite the same posting list at its right end. Its readers are
--    admin commands that scan anyway (`keys status` counts every row) or
--    ask whether any row still uses an old key (`keys drop`). A BRIN
--    index answers that second question by skipping page ranges whose
--    keys cannot match, and costs an insert nearly nothing: key ids only
--    grow, so old keys sit in old pages.
DROP INDEX messages_key;
CREATE INDEX messages_key ON messages USING brin (key_id);

-- 2. The foreign keys from messages to rooms and users checked every row
--    with a row lock on its room and on its sender: a locked users row
--    is a write (and, for a sender in several busy rooms, a multixact)
--    per message. Every path that adds a message already proves both
--    exist inside its own transaction: the writer locks the room's row
--    first (`HEADS_LOCKED`) and stores a text only while its sender is a
--    member of the room (`room_members` keeps its own foreign keys), and
--    a system line is written by a signed-in actor. What the foreign keys
--    also did on delete is kept by the triggers below, so deleting a room
--    still deletes its messages and deleting a user still leaves their
--    messages without a sender. (SQLite keeps its foreign keys: checking
--    them there is an in-process lookup.)
ALTER TABLE messages DROP CONSTRAINT messages_room_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;

CREATE FUNCTION rooms_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messages m USING gone g WHERE m.room_id = g.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rooms_delete_messages AFTER DELETE ON rooms
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION rooms_delete_messages();

CREATE FUNCTION users_orphan_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE messages m SET sender_id = NULL FROM gone g WHERE m.sender_id = g.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_orphan_messages AFTER DELETE ON users
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION users_orphan_messages();
