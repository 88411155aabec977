-- @mentions (issue 22). One row per person a message mentions, and one
-- with no user for `@room` (everyone in a group), written with the message
-- in its transaction. A member's mention count is then an index range over
-- their own rows (and the room's `@room` rows) above their read mark: no
-- counter is written per recipient, and `@room` in a room of 10,000 is one
-- row. Mentions are fixed when the message is sent (an edit does not call
-- anyone new, as in Slack and Mattermost); a deleted message keeps its rows
-- (who it called, not what it said) so every client can take it off its
-- count, and the count skips deleted messages. (Same change in
-- migrations/postgres/.)
CREATE TABLE mentions (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_seq BIGINT  NOT NULL,
    -- NULL: `@room`.
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX mentions_by_person ON mentions (room_id, user_id, message_seq);
CREATE INDEX mentions_by_message ON mentions (room_id, message_seq);
