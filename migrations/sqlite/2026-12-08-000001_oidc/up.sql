-- The organization's OpenID Connect providers: the button's name, the issuer (discovery from its
-- .well-known), the client, its secret sealed with the session key (never kept in the clear),
-- the scopes asked for and the claim that holds the email. Just-in-time creation is off unless
-- turned on, and then only for the listed email domains, into the chosen group.
CREATE TABLE oidc_providers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    scopes TEXT NOT NULL,
    email_claim TEXT NOT NULL,
    create_users BOOLEAN NOT NULL DEFAULT FALSE,
    create_in_group_id BIGINT REFERENCES groups (id),
    create_domains TEXT NOT NULL DEFAULT '',
    ask_second_factor BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Which provider's subject is which user: found by a verified email once, by the subject after.
CREATE TABLE oidc_links (
    provider_id BIGINT NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    email TEXT NOT NULL,
    linked_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX oidc_links_user ON oidc_links (user_id);

-- A group whose members must sign in through a provider (their password and passkey alone are
-- refused; never the owner's), and the provider a session came through. Without foreign keys,
-- so that SQLite can drop them again: deleting a provider clears both (db::oidc::delete).
ALTER TABLE groups ADD COLUMN sign_in_provider_id BIGINT;
ALTER TABLE sessions ADD COLUMN provider_id BIGINT;
