-- Satisfaction (issue 26): when a support conversation is resolved, its
-- member is asked "How did we do?" and may rate that resolution once (the
-- primary key: the conversation and the seq of its `resolved` line). The
-- score is kept here for reports, with the department and the agent who
-- handled it then; the optional comment is customer text and travels
-- sealed, in the `rated` line the rating adds to the conversation.
CREATE TABLE ratings (
    room_id       BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    resolved_seq  BIGINT  NOT NULL,
    user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    department_id BIGINT REFERENCES departments (id) ON DELETE SET NULL,
    agent_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    score         BIGINT  NOT NULL CHECK (score BETWEEN 1 AND 5),
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (room_id, resolved_seq)
);
CREATE INDEX ratings_time ON ratings (created_at);
