-- Sessions as the server records them: the cookie names one by a random key (kept here as its
-- SHA-256 digest). Deleting a row signs that session out on every process at once; a row whose
-- stamp is no longer its user's stamp is dead (a password change, a disable, ...) and goes
-- with the hourly housekeeping.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_digest TEXT NOT NULL UNIQUE,
    stamp TEXT NOT NULL,
    -- Set while an administrator is signed in as the user: who.
    impersonator_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The kinds of browser each user has signed in from (a digest of "Firefox on Linux", read from
-- the User-Agent, so that an update is no new device): a sign-in from one not seen before is
-- mailed to the user.
CREATE TABLE known_devices (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_digest TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, agent_digest)
);
