-- Web Push (issue 27): the devices a person turned notifications on for,
-- and the outbox's push side.

-- A browser's push subscription (RFC 8030): where to send (the push
-- service's endpoint, a capability: whoever knows it can push to that
-- browser) and the keys to encrypt for it (RFC 8291). One endpoint
-- belongs to one account.
CREATE TABLE push_subscriptions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint     TEXT    NOT NULL UNIQUE,
    p256dh       TEXT    NOT NULL,
    auth         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_push_at BIGINT
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

-- Whether a push may show the message's text (off: sender and room only).
ALTER TABLE users ADD COLUMN push_previews BOOLEAN NOT NULL DEFAULT FALSE;

-- An outbox row's push: 0 nothing to push (no device when it was written,
-- or decided), 1 due, 2 taken by a node at push_taken_at (a node that
-- died with it: taken again once the lease is over). The index holds the
-- rows still to decide only, so rows of people without devices cost it
-- nothing.
ALTER TABLE notifications_due ADD COLUMN push_state SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE notifications_due ADD COLUMN push_taken_at BIGINT;
CREATE INDEX notifications_due_push ON notifications_due (id) WHERE push_state <> 0;

-- The notification a device shows per person and room (its newest seq),
-- so that reading the room anywhere takes it away with a closing push.
CREATE TABLE push_shown (
    user_id INTEGER NOT NULL,
    room_id INTEGER NOT NULL,
    seq     BIGINT  NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
