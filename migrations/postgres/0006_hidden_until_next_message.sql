-- A hidden chat stays hidden until its next message. That was a `hidden`
-- flag which the message trigger (0002) cleared, and to find the flags its
-- UPDATE visited every member of the room for every message stored: a
-- hundred rows per message in a hundred-member room. Now hiding records the
-- room's last seq at that moment, and the room is hidden while no newer
-- message exists (rooms.rs reads it so): a message writes nothing for it,
-- and the trigger touches only the room's row and, by key, the sender's.
-- (Same change in migrations/sqlite/.)
ALTER TABLE room_members ADD COLUMN hidden_through_seq BIGINT;
UPDATE room_members m SET hidden_through_seq = r.last_seq
    FROM rooms r WHERE r.id = m.room_id AND m.hidden;

CREATE OR REPLACE FUNCTION messages_advance_room() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rooms SET last_seq = NEW.seq, last_activity = NEW.created_at
        WHERE id = NEW.room_id AND last_seq < NEW.seq;
    UPDATE room_members SET last_read_seq = NEW.seq
        WHERE room_id = NEW.room_id AND user_id = NEW.sender_id;
    RETURN NULL;
END;
$$;
ALTER TABLE room_members DROP COLUMN hidden;
