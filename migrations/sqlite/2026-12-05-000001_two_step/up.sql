-- Two-step sign-in: the user's TOTP secret is on users (totp_secret, totp_last_step, the last
-- time step accepted, so a code is never accepted twice); these are the ten recovery codes
-- shown once when it is turned on, kept as SHA-256 digests, each good once.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id, code_hash);

-- A group may require its members to use two-step sign-in: since when, and how many days a
-- member has from then to set it up before signing in leads nowhere else.
ALTER TABLE groups ADD COLUMN two_step_required_at TIMESTAMP;
ALTER TABLE groups ADD COLUMN two_step_grace_days INTEGER NOT NULL DEFAULT 14;
