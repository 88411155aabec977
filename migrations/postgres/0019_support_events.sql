-- Reports (issue 26): a support conversation's status history in plain
-- columns (its lines are sealed), one row per status line, written by the
-- message writer in the transaction that stores the line, plus one
-- 'created' row (seq 0) when the conversation is made. Each row keeps the
-- department and the assignee as they are after it. With the customer's
-- and staff's messages (plain sender and time), this is all a report reads.
CREATE TABLE support_events (
    room_id       BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           BIGINT  NOT NULL,
    kind          TEXT    NOT NULL
        CHECK (kind IN ('created', 'claimed', 'assigned', 'transferred', 'resolved', 'reopened')),
    at            BIGINT  NOT NULL,
    department_id BIGINT REFERENCES departments (id) ON DELETE SET NULL,
    agent_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (room_id, seq)
);
CREATE INDEX support_events_time ON support_events (at);
-- Conversations from before reports: made in their department as it is
-- now, and (when resolved) resolved at their last activity.
INSERT INTO support_events (room_id, seq, kind, at, department_id, agent_id)
    SELECT id, 0, 'created', created_at, department_id, NULL FROM rooms WHERE kind = 'support';
INSERT INTO support_events (room_id, seq, kind, at, department_id, agent_id)
    SELECT id, last_seq, 'resolved', last_activity, department_id, assignee_id FROM rooms
    WHERE kind = 'support' AND support_status = 'resolved' AND last_seq > 0;
