-- Retention (issue 28): messages older than a number of days are deleted
-- by a background job. The instance-wide number is the `retention.days`
-- setting (0 or missing: kept for ever); a department's number applies to
-- its support conversations (and their notes), a room's own number to
-- that room, the room's first. NULL inherits; 0 keeps for ever.
ALTER TABLE rooms ADD COLUMN retention_days BIGINT;
ALTER TABLE departments ADD COLUMN retention_days BIGINT;

-- Every message at or below this seq was deleted by retention: a client
-- holding older ones drops them (the room's summary carries it, in the
-- welcome after a reconnect too).
ALTER TABLE rooms ADD COLUMN trimmed_through BIGINT NOT NULL DEFAULT 0;

-- Retention deletes a message's changes with it: found by the message's
-- seq, not the change's.
CREATE INDEX message_changes_target ON message_changes (room_id, message_seq);
