-- @mentions (issue 22). One row per person a message mentions, and one
-- with no user for `@room` (everyone in a group), written with the message
-- in its transaction; never one per member. Mentions are fixed when the
-- message is sent (an edit does not call anyone new, as in Slack and
-- Mattermost); a deleted message keeps its rows, marked `deleted` (whom it
-- called, not what it said), so every client can take it off its count.
--
-- A member's mention count, like the unread count, costs a few index
-- steps whatever the room's size: `mention_rank` is the running count of the rows
-- that count (`counts`) for that user (or for `@room`) in the room, so the
-- count above a read mark is the newest rank minus the rank at the mark,
-- for their rows and for the `@room` rows, minus deleted ones above the
-- mark (a partial index). A named row of a message that also says `@room`
-- does not count (the `@room` row does). (Same change in
-- migrations/postgres/.)
CREATE TABLE mentions (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_seq BIGINT  NOT NULL,
    -- NULL: `@room`.
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    mention_rank BIGINT NOT NULL,
    counts      BOOLEAN NOT NULL,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mentions_by_person ON mentions (room_id, user_id, message_seq);
CREATE INDEX mentions_by_message ON mentions (room_id, message_seq);
CREATE INDEX mentions_deleted ON mentions (room_id, message_seq) WHERE deleted;
