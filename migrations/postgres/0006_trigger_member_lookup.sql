-- The message trigger (0002) touched the sender's row and every hidden row
-- with one UPDATE whose WHERE could only use the room's prefix of the key,
-- so it visited every member of the room for every message: a hundred rows
-- per message in a hundred-member room. Split in two, the sender's row is
-- one key lookup and the hidden rows come from a partial index that holds
-- only them (usually none). (Same change in migrations/sqlite/.)
CREATE INDEX room_members_hidden ON room_members (room_id) WHERE hidden;

CREATE OR REPLACE FUNCTION messages_advance_room() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rooms SET last_seq = NEW.seq, last_activity = NEW.created_at
        WHERE id = NEW.room_id AND last_seq < NEW.seq;
    UPDATE room_members SET hidden = FALSE, last_read_seq = NEW.seq
        WHERE room_id = NEW.room_id AND user_id = NEW.sender_id;
    UPDATE room_members SET hidden = FALSE
        WHERE room_id = NEW.room_id AND hidden;
    RETURN NULL;
END;
$$;
