-- The message writer stores a run of plain texts in one INSERT (issue 31).
-- The row trigger moved the room's head and the sender's read mark once per
-- row: ten messages of one room were ten updates of its row, a third of the
-- INSERT's cost. This trigger does it once per statement, from the rows the
-- statement added: each room moves to its highest new seq, each sender's
-- mark to the highest seq they wrote. One row gives the same result as the
-- row trigger did. (SQLite keeps its row trigger: its writer calls are in
-- process and a row at a time.)
CREATE FUNCTION messages_advance_rooms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rooms r SET last_seq = n.seq, last_message_seq = n.seq,
                       text_count = n.text_rank, last_activity = n.created_at
        FROM (SELECT DISTINCT ON (room_id) room_id, seq, text_rank, created_at
              FROM new_messages ORDER BY room_id, seq DESC) n
        WHERE r.id = n.room_id AND r.last_seq < n.seq;
    UPDATE room_members m SET last_read_seq = n.seq
        FROM (SELECT room_id, sender_id, MAX(seq) AS seq
              FROM new_messages GROUP BY room_id, sender_id) n
        WHERE m.room_id = n.room_id AND m.user_id = n.sender_id;
    RETURN NULL;
END;
$$;

DROP TRIGGER messages_advance_room ON messages;
DROP FUNCTION messages_advance_room();
CREATE TRIGGER messages_advance_rooms AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_advance_rooms();
