-- The whole domain of Concierge: people, groups, buildings, access, tokens, mail, audit, settings.
-- Timestamps are UTC without zone (TIMESTAMP); ids are 64-bit; emails are stored lower-cased.

CREATE TABLE groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX groups_name_lower ON groups (lower(name));

CREATE TABLE group_permissions (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (group_id, permission)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    job_function TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    group_id BIGINT NOT NULL REFERENCES groups (id),
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled', 'deleted')),
    is_owner BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret TEXT,
    totp_last_step BIGINT,
    notification_preference TEXT NOT NULL DEFAULT 'all',
    security_stamp TEXT NOT NULL,
    last_sign_in_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_one_owner ON users (is_owner) WHERE is_owner;
CREATE INDEX users_group ON users (group_id);
CREATE INDEX users_status_name ON users (status, last_name, first_name, id);
CREATE INDEX users_name ON users (last_name, first_name, id);
CREATE INDEX users_last_sign_in ON users (last_sign_in_at, id);
CREATE INDEX users_company ON users (company, id);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_name_lower ON accounts (lower(name));

CREATE TABLE buildings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    street TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX buildings_account ON buildings (account_id, name);
CREATE INDEX buildings_name ON buildings (name, id);

-- Property access to one building.
CREATE TABLE building_access (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    building_id BIGINT NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    granted_by BIGINT REFERENCES users (id),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, building_id)
);
CREATE INDEX building_access_building ON building_access (building_id);

-- Property access to a whole account: every current and future building of it.
CREATE TABLE account_access (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    granted_by BIGINT REFERENCES users (id),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX account_access_account ON account_access (account_id);

-- Mail waiting for, or done with, delivery. Written in the transaction of the action.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    bcc_address TEXT,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    sent_at TIMESTAMP,
    failed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- One-time links. Only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'password_reset', 'email_change', 'email_verify', 'owner_setup')),
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    details TEXT NOT NULL DEFAULT '{}',
    mail_id BIGINT REFERENCES outbox (id),
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    superseded_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX tokens_user ON tokens (user_id, purpose, created_at);
CREATE INDEX tokens_purpose_created ON tokens (purpose, created_at);

-- Never edited, never deleted.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    impersonator_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BIGINT,
    target_label TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_action ON audit_events (action, at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Sign-in attempts per address, for the lockout that holds across processes.
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

INSERT INTO groups (name, description, builtin_key) VALUES
    ('Admin', 'Can perform any action, including those involving user access.', 'admin'),
    ('Regular', 'Can view users and edit the buildings they can reach.', 'regular'),
    ('Read-Only', 'Can view users and buildings, but cannot make any changes.', 'read_only'),
    ('Support', 'Can view users, resend invites and send password-reset links; nothing that deletes, creates or exports.', 'support'),
    ('Customer', 'Their own profile and the buildings they were granted. The default for self-signup.', 'customer');

INSERT INTO group_permissions (group_id, permission)
SELECT id, p.permission FROM groups, (
    SELECT 'users.view' AS permission UNION ALL SELECT 'users.manage' UNION ALL SELECT 'users.export'
    UNION ALL SELECT 'users.impersonate' UNION ALL SELECT 'users.reset_password' UNION ALL SELECT 'invites.send'
    UNION ALL SELECT 'buildings.view_all' UNION ALL SELECT 'buildings.manage' UNION ALL SELECT 'buildings.edit'
    UNION ALL SELECT 'groups.manage' UNION ALL SELECT 'audit.view' UNION ALL SELECT 'settings.manage'
    UNION ALL SELECT 'api.manage'
) AS p WHERE builtin_key = 'admin';
INSERT INTO group_permissions (group_id, permission) SELECT id, 'users.view' FROM groups WHERE builtin_key IN ('regular', 'read_only', 'support');
INSERT INTO group_permissions (group_id, permission) SELECT id, 'buildings.edit' FROM groups WHERE builtin_key = 'regular';
INSERT INTO group_permissions (group_id, permission) SELECT id, 'invites.send' FROM groups WHERE builtin_key = 'support';
INSERT INTO group_permissions (group_id, permission) SELECT id, 'users.reset_password' FROM groups WHERE builtin_key = 'support';
