-- API tokens for other software (SCIM): each names its maker, its scopes (permission keys, and
-- "scim" for the SCIM door) and an expiry of at most a year. Only the SHA-256 of the secret is
-- kept. The table was never used before, so it is made anew.
DROP TABLE api_tokens;
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT NOT NULL REFERENCES users (id),
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    last_used_ip TEXT,
    revoked_at TIMESTAMP,
    revoked_by BIGINT REFERENCES users (id),
    expiry_warned BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX api_tokens_maker ON api_tokens (created_by);

-- What a provisioning client (SCIM) keeps for a user: its identifier (externalId) and the name
-- the user signs in with there (userName, as sent; none: the user's email), with that name
-- lower-cased by the application to find it and keep it one (SQLite's lower() folds ASCII
-- only). And its identifier of a group.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN user_name TEXT;
ALTER TABLE users ADD COLUMN user_name_key TEXT;
-- Partial: most users have neither, and an index full of NULLs is one SQLite's statistics call
-- useless, so `externalId eq` and `userName eq` scanned every user (177 lookups a second at 20,000).
CREATE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX users_user_name ON users (user_name_key) WHERE user_name_key IS NOT NULL;
ALTER TABLE groups ADD COLUMN external_id TEXT;
