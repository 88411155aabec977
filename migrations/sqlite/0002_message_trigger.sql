-- Storing a message moves its room forward inside the database: the room's
-- last_seq and activity, the sender's read mark, and un-hiding the room for
-- everyone. One INSERT then does all of a send's writes, so group commit
-- pays one statement per message. (Same trigger in migrations/postgres/.)
CREATE TRIGGER messages_advance_room AFTER INSERT ON messages
BEGIN
    UPDATE rooms SET last_seq = NEW.seq, last_activity = NEW.created_at
        WHERE id = NEW.room_id AND last_seq < NEW.seq;
    UPDATE room_members
        SET hidden = FALSE,
            last_read_seq = CASE WHEN user_id = NEW.sender_id THEN NEW.seq ELSE last_read_seq END
        WHERE room_id = NEW.room_id AND (hidden OR user_id = NEW.sender_id);
END;
