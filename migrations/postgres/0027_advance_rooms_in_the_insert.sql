-- The writer's own statements move a room's head and its sender's read
-- mark (issue 31). Every statement that adds a message (the writer's
-- INSERT_TEXTS, PG_INSERT_TEXT and PG_INSERT_SYSTEM, in
-- src/server/store/writer/batch.rs) does in two data-modifying CTEs what
-- this statement trigger did. Under the `persist` load (one node, 2
-- cores) the trigger was a sixth of Postgres's time: a plpgsql call, a
-- transition table holding a copy of every new row (bodies included),
-- and two statements started through SPI, per INSERT. In the INSERT's
-- own plan the two UPDATEs cost their rows and little else.
--
-- Messages added by hand no longer move their room: as with the foreign
-- keys dropped in 0026, every path that adds a message is the writer's.
-- (SQLite keeps its row trigger: its calls are in process.)
DROP TRIGGER messages_advance_rooms ON messages;
DROP FUNCTION messages_advance_rooms();
