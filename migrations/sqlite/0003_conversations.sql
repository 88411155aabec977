-- Conversations: per-member mute, and invitations to a direct chat for an
-- email that has no account yet (completed when that email signs up).
ALTER TABLE room_members ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE invitations (
    inviter_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (inviter_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
