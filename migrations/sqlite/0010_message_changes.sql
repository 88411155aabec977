-- Edits, deletes and reactions (issue 22). Each change takes the room's
-- next seq like a message does, so it reaches every socket exactly once
-- and in order, live and in catch-up; the change's row says which message
-- changed, the message's row holds what it is now (the old text is not
-- kept anywhere). (Same change in migrations/postgres/.)
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
-- A deleted message keeps its seq as a tombstone; its body is emptied.
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
-- How many text messages the room had up to and including this row. With
-- rooms.text_count it makes a member's unread count two index lookups
-- (text_count minus the rank at their read mark, minus deleted ones above
-- it) instead of a count of everything unread, and no counter is written
-- per recipient.
ALTER TABLE messages ADD COLUMN text_rank BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN text_count BIGINT NOT NULL DEFAULT 0;
-- The seq of the newest message (last_seq also moves with changes): the
-- sidebar's preview and a hidden room's "until the next message".
ALTER TABLE rooms ADD COLUMN last_message_seq BIGINT NOT NULL DEFAULT 0;

UPDATE messages SET text_rank = ranked.text_rank
    FROM (SELECT id, SUM(CASE WHEN kind = 'text' THEN 1 ELSE 0 END)
                     OVER (PARTITION BY room_id ORDER BY seq) AS text_rank
          FROM messages) AS ranked
    WHERE ranked.id = messages.id;
UPDATE rooms SET
    text_count = COALESCE((SELECT MAX(text_rank) FROM messages WHERE room_id = rooms.id), 0),
    last_message_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = rooms.id), 0);

CREATE INDEX messages_deleted ON messages (room_id, seq) WHERE deleted_at IS NOT NULL;

CREATE TABLE message_changes (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         BIGINT  NOT NULL,
    -- The message that changed.
    message_seq BIGINT  NOT NULL,
    change      TEXT    NOT NULL CHECK (change IN ('edited', 'deleted', 'reacted')),
    actor_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (room_id, seq)
);

-- One row per (message, emoji, person): reacting twice is one reaction.
CREATE TABLE reactions (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_seq BIGINT  NOT NULL,
    emoji       TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The seq of the change that added it: reactions are listed in the
    -- order the room's sequence added them.
    seq         BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (room_id, message_seq, emoji, user_id)
);

DROP TRIGGER messages_advance_room;
CREATE TRIGGER messages_advance_room AFTER INSERT ON messages
BEGIN
    UPDATE rooms SET last_seq = NEW.seq, last_message_seq = NEW.seq,
                     text_count = NEW.text_rank, last_activity = NEW.created_at
        WHERE id = NEW.room_id AND last_seq < NEW.seq;
    UPDATE room_members SET last_read_seq = NEW.seq
        WHERE room_id = NEW.room_id AND user_id = NEW.sender_id;
END;
