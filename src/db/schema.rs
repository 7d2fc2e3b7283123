//! The database schema for diesel, portable across SQLite and PostgreSQL (kept by hand).

diesel::table! {
    groups (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        builtin_key -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        two_step_required_at -> Nullable<Timestamp>,
        two_step_grace_days -> Integer,
        external_id -> Nullable<Text>,
        sign_in_provider_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    group_permissions (group_id, permission) {
        group_id -> BigInt,
        permission -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        phone -> Text,
        title -> Text,
        job_function -> Text,
        company -> Text,
        group_id -> BigInt,
        status -> Text,
        is_owner -> Bool,
        password_hash -> Nullable<Text>,
        must_change_password -> Bool,
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        notification_preference -> Text,
        security_stamp -> Text,
        last_sign_in_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        building_count -> BigInt,
        time_zone -> Text,
        ends_on -> Nullable<Date>,
        end_warned -> Bool,
        external_id -> Nullable<Text>,
        user_name -> Nullable<Text>,
        user_name_key -> Nullable<Text>,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    buildings (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        street -> Text,
        city -> Text,
        region -> Text,
        postal_code -> Text,
        country -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    building_access (user_id, building_id) {
        user_id -> BigInt,
        building_id -> BigInt,
        granted_by -> Nullable<BigInt>,
        granted_at -> Timestamp,
        ends_on -> Nullable<Date>,
        end_warned -> Bool,
    }
}

diesel::table! {
    account_access (user_id, account_id) {
        user_id -> BigInt,
        account_id -> BigInt,
        granted_by -> Nullable<BigInt>,
        granted_at -> Timestamp,
        ends_on -> Nullable<Date>,
        end_warned -> Bool,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        to_address -> Text,
        bcc_address -> Nullable<Text>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tokens (id) {
        id -> BigInt,
        purpose -> Text,
        user_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
        secret_hash -> Text,
        details -> Text,
        mail_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        superseded_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        impersonator_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        target_label -> Text,
        details -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        actor_label -> Text,
        impersonator_label -> Text,
        category -> Text,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        secret_hash -> Text,
        created_by -> BigInt,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<BigInt>,
        expiry_warned -> Bool,
    }
}

diesel::table! {
    sign_in_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(group_permissions -> groups (group_id));
diesel::joinable!(users -> groups (group_id));
diesel::joinable!(buildings -> accounts (account_id));
diesel::joinable!(building_access -> buildings (building_id));
diesel::joinable!(account_access -> accounts (account_id));

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_digest -> Text,
        stamp -> Text,
        impersonator_id -> Nullable<BigInt>,
        user_agent -> Text,
        ip -> Text,
        started_at -> Timestamp,
        last_seen_at -> Timestamp,
        provider_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_providers (id) {
        id -> BigInt,
        name -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret_sealed -> Text,
        scopes -> Text,
        email_claim -> Text,
        create_users -> Bool,
        create_in_group_id -> Nullable<BigInt>,
        create_domains -> Text,
        ask_second_factor -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oidc_links (provider_id, subject) {
        provider_id -> BigInt,
        subject -> Text,
        user_id -> BigInt,
        email -> Text,
        linked_at -> Timestamp,
        last_used_at -> Timestamp,
    }
}

diesel::table! {
    known_devices (user_id, agent_digest) {
        user_id -> BigInt,
        agent_digest -> Text,
        first_seen_at -> Timestamp,
    }
}

diesel::table! {
    passkeys (id) {
        id -> BigInt,
        user_id -> BigInt,
        user_handle -> Text,
        credential_id -> Text,
        credential -> Text,
        name -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkey_ceremonies (key_digest) {
        key_digest -> Text,
        user_id -> Nullable<BigInt>,
        purpose -> Text,
        state -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (created_by));
diesel::joinable!(oidc_links -> users (user_id));
diesel::joinable!(oidc_links -> oidc_providers (provider_id));

diesel::allow_tables_to_appear_in_same_query!(
    recovery_codes,
    sessions,
    known_devices,
    passkeys,
    passkey_ceremonies,
    groups,
    group_permissions,
    users,
    accounts,
    buildings,
    building_access,
    account_access,
    outbox,
    tokens,
    audit_events,
    settings,
    api_tokens,
    sign_in_throttle,
    oidc_providers,
    oidc_links,
);
