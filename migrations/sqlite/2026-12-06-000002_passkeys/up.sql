-- Passkeys: with two-step sign-in on, a user may add passkeys (WebAuthn) to use at the second
-- step instead of a code. Each keeps the credential as the relying-party library stores it
-- (JSON, with its public key and counter); user_handle is the random id the authenticator holds
-- for the user, the same for all of one user's passkeys.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_handle TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A passkey registration or sign-in under way: the challenge's state, kept on the server (the
-- cookie names it by a random key) and taken once, so that no answer can be replayed. A sign-in
-- by passkey alone has no user until the passkey answers.
CREATE TABLE passkey_ceremonies (
    key_digest TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
