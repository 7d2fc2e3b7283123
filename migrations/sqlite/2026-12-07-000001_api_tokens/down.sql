ALTER TABLE groups DROP COLUMN external_id;
DROP INDEX users_user_name;
DROP INDEX users_external_id;
ALTER TABLE users DROP COLUMN user_name_key;
ALTER TABLE users DROP COLUMN user_name;
ALTER TABLE users DROP COLUMN external_id;
DROP TABLE api_tokens;
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
