//! Settings an administrator changes at run time, kept as key/value rows and read into one
//! typed value with defaults for whatever was never set.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::settings;
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct Settings {
    pub org_name: String,
    pub self_signup: bool,
    /// Lower-case domains; empty means any.
    pub signup_domains: Vec<String>,
    pub invite_ttl_hours: i64,
    pub password_reset_ttl_minutes: i64,
    pub email_change_ttl_hours: i64,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub mail_from: String,
    /// Where dates are shown for those who chose no zone of their own.
    pub time_zone: chrono_tz::Tz,
    /// Audit events older than this many days are deleted (at least 90); 0 keeps them for ever.
    pub audit_retention_days: i64,
    /// How long signing in as someone lasts at most (1 to 30 minutes).
    pub impersonation_minutes: i64,
    /// Whether a user is mailed when someone signs in as them.
    pub impersonation_mail: bool,
    /// How many days before a grant or an account ends its user is warned.
    pub access_end_warning_days: i64,
    /// After how many days without a sign-in an account counts as dormant.
    pub dormant_days: i64,
    /// Whether dormant accounts (not the owner's, not administrators') are disabled by themselves.
    pub dormant_disable: bool,
    /// Whether a passkey signs its user in by itself, without the password.
    pub passkey_sign_in: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            org_name: "Concierge".into(),
            self_signup: false,
            signup_domains: Vec::new(),
            invite_ttl_hours: 7 * 24,
            password_reset_ttl_minutes: 60,
            email_change_ttl_hours: 24,
            session_idle_minutes: 8 * 60,
            session_absolute_hours: 7 * 24,
            mail_from: "Concierge <concierge@localhost>".into(),
            time_zone: chrono_tz::UTC,
            audit_retention_days: 0,
            impersonation_minutes: 30,
            impersonation_mail: true,
            access_end_warning_days: 7,
            dormant_days: 90,
            dormant_disable: false,
            passkey_sign_in: false,
        }
    }
}

pub mod keys {
    pub const ORG_NAME: &str = "org_name";
    pub const SELF_SIGNUP: &str = "self_signup";
    pub const SIGNUP_DOMAINS: &str = "signup_domains";
    pub const INVITE_TTL_HOURS: &str = "invite_ttl_hours";
    pub const PASSWORD_RESET_TTL_MINUTES: &str = "password_reset_ttl_minutes";
    pub const EMAIL_CHANGE_TTL_HOURS: &str = "email_change_ttl_hours";
    pub const SESSION_IDLE_MINUTES: &str = "session_idle_minutes";
    pub const SESSION_ABSOLUTE_HOURS: &str = "session_absolute_hours";
    pub const MAIL_FROM: &str = "mail_from";
    /// The organization's time zone, an IANA name ("UTC" unless set).
    pub const TIME_ZONE: &str = "time_zone";
    /// Days audit events are kept ("0": for ever).
    pub const AUDIT_RETENTION_DAYS: &str = "audit_retention_days";
    /// Minutes signing in as someone lasts at most.
    pub const IMPERSONATION_MINUTES: &str = "impersonation_minutes";
    /// "false" when users are not mailed about someone signing in as them.
    pub const IMPERSONATION_MAIL: &str = "impersonation_mail";
    /// Days before an end that its warning is mailed.
    pub const ACCESS_END_WARNING_DAYS: &str = "access_end_warning_days";
    /// Days without a sign-in after which an account is dormant.
    pub const DORMANT_DAYS: &str = "dormant_days";
    /// "true" when dormant accounts are disabled by themselves.
    pub const DORMANT_DISABLE: &str = "dormant_disable";
    /// "true" when a passkey signs in without the password.
    pub const PASSKEY_SIGN_IN: &str = "passkey_sign_in";
    /// Not an administrator's setting: when the owner last got the report of dormant administrators.
    pub const DORMANT_REPORTED_AT: &str = "dormant_reported_at";
    /// "dismissed" once the Get started card is put away.
    pub const GET_STARTED: &str = "get_started";
    /// Not an administrator's setting: the key that signs session cookies.
    pub const SESSION_KEY: &str = "session_key";
}

impl Settings {
    pub fn load(conn: &mut DbConnection) -> Result<Settings, AppError> {
        let rows: Vec<(String, String)> = settings::table.load(conn)?;
        let mut s = Settings::default();
        for (key, value) in rows {
            let int = |fallback: i64| value.parse::<i64>().ok().filter(|n| *n > 0).unwrap_or(fallback);
            match key.as_str() {
                keys::ORG_NAME => s.org_name = value,
                keys::SELF_SIGNUP => s.self_signup = value == "true",
                keys::SIGNUP_DOMAINS => {
                    s.signup_domains =
                        value.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect()
                }
                keys::INVITE_TTL_HOURS => s.invite_ttl_hours = int(s.invite_ttl_hours),
                keys::PASSWORD_RESET_TTL_MINUTES => s.password_reset_ttl_minutes = int(s.password_reset_ttl_minutes),
                keys::EMAIL_CHANGE_TTL_HOURS => s.email_change_ttl_hours = int(s.email_change_ttl_hours),
                keys::SESSION_IDLE_MINUTES => s.session_idle_minutes = int(s.session_idle_minutes),
                keys::SESSION_ABSOLUTE_HOURS => s.session_absolute_hours = int(s.session_absolute_hours),
                keys::MAIL_FROM => s.mail_from = value,
                keys::TIME_ZONE => s.time_zone = value.parse().unwrap_or(s.time_zone),
                keys::AUDIT_RETENTION_DAYS => s.audit_retention_days = int(0),
                keys::IMPERSONATION_MINUTES => s.impersonation_minutes = int(30).min(30),
                keys::IMPERSONATION_MAIL => s.impersonation_mail = value != "false",
                keys::ACCESS_END_WARNING_DAYS => s.access_end_warning_days = int(7),
                keys::DORMANT_DAYS => s.dormant_days = int(90),
                keys::DORMANT_DISABLE => s.dormant_disable = value == "true",
                keys::PASSKEY_SIGN_IN => s.passkey_sign_in = value == "true",
                _ => {}
            }
        }
        Ok(s)
    }
}

pub fn get(conn: &mut DbConnection, key: &str) -> Result<Option<String>, AppError> {
    Ok(settings::table.find(key).select(settings::value).first(conn).optional()?)
}

/// Writes one setting (update, or insert when it was never set).
pub fn set(conn: &mut DbConnection, key: &str, value: &str) -> Result<(), AppError> {
    let updated = diesel::update(settings::table.find(key)).set(settings::value.eq(value)).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

/// The key that signs session cookies: the one kept in the database, or a new one kept there
/// now, so that a restart (or a second process) signs no one out.
pub fn session_key(conn: &mut DbConnection) -> Result<Vec<u8>, AppError> {
    use crate::auth::secret;
    if let Some(key) = get(conn, keys::SESSION_KEY)?.and_then(|hex| secret::from_hex(&hex)).filter(|k| k.len() == 64) {
        return Ok(key);
    }
    let key = secret::random_bytes::<64>().to_vec();
    // Another process may have written one meanwhile: insert only if absent, then read back.
    let _ = diesel::insert_into(settings::table)
        .values((settings::key.eq(keys::SESSION_KEY), settings::value.eq(secret::to_hex(&key))))
        .execute(conn);
    get(conn, keys::SESSION_KEY)?
        .and_then(|hex| secret::from_hex(&hex))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the session key could not be stored")))
}
