-- Single sign-on (issue 28): who an account is at the company's OpenID
-- Provider (its issuer and the subject it names the person by), and the
-- sign-ins under way. (The same tables in migrations/postgres/.)
CREATE TABLE user_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- A sign-in sent to the provider and not back yet: the SHA-256 of its
-- `state` and of the browser's binding cookie (so a callback works once,
-- and only in the browser that started it), the PKCE verifier and the
-- nonce the ID token must carry. Taken (deleted) by the callback; older
-- than ten minutes, dropped.
CREATE TABLE sso_logins (
    state_hash   BYTEA   PRIMARY KEY,
    browser_hash BYTEA   NOT NULL,
    verifier     TEXT    NOT NULL,
    nonce        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX sso_logins_by_age ON sso_logins (created_at);
