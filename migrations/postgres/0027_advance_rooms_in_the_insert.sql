-- The writer's own statements move a room's head and its sender's read
-- mark (issue 31). Every statement this build uses to add a message (the
-- writer's INSERT_TEXTS, PG_INSERT_TEXT and PG_INSERT_SYSTEM, in
-- src/server/store/writer/batch.rs) does in two data-modifying CTEs what
-- this statement trigger did. Under the `persist` load (one node, 2
-- cores) the trigger was a sixth of Postgres's time: a plpgsql call and
-- two statements started through SPI, per INSERT. In the INSERT's own
-- plan the two UPDATEs cost their rows and little else.
--
-- The trigger stays for every other session: a node of an older build
-- still running during a rolling restart (its INSERTs rely on it), and
-- SQL run by hand. This build's connections say
-- `glasschat.writes_advance=on` as they connect (store/mod.rs), and the
-- trigger's WHEN skips their statements. A later release can drop the
-- trigger once no older node can be running.
DROP TRIGGER messages_advance_rooms ON messages;
CREATE TRIGGER messages_advance_rooms AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT
    WHEN (current_setting('glasschat.writes_advance', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION messages_advance_rooms();
