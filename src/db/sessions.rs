//! Sessions as the server records them (the cookie names one by its key), and the browsers each
//! user has signed in from.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{known_devices, sessions, users};
use crate::auth::secret;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub stamp: String,
    pub impersonator_id: Option<i64>,
    pub user_agent: String,
    pub ip: String,
    pub started_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub provider_id: Option<i64>,
}

/// A session about to begin: whose, under which stamp, who is behind it, and from where.
pub struct NewSession<'a> {
    pub user_id: i64,
    pub stamp: &'a str,
    pub impersonator_id: Option<i64>,
    /// The OpenID provider the session came through.
    pub provider_id: Option<i64>,
    pub user_agent: &'a str,
    pub ip: &'a str,
    pub at: NaiveDateTime,
}

/// Records a session; returns the key its cookie will hold (only its digest is kept).
pub fn start(conn: &mut DbConnection, new: &NewSession<'_>) -> Result<(i64, String), AppError> {
    let key = secret::new_token();
    let id = diesel::insert_into(sessions::table)
        .values((
            sessions::user_id.eq(new.user_id),
            sessions::key_digest.eq(secret::digest(&key)),
            sessions::stamp.eq(new.stamp),
            sessions::impersonator_id.eq(new.impersonator_id),
            sessions::provider_id.eq(new.provider_id),
            sessions::user_agent.eq(new.user_agent),
            sessions::ip.eq(new.ip),
            sessions::started_at.eq(new.at),
            sessions::last_seen_at.eq(new.at),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    Ok((id, key))
}

/// The session a cookie's key names, if it was not ended.
pub fn find(conn: &mut DbConnection, key: &str) -> Result<Option<Session>, AppError> {
    Ok(sessions::table
        .filter(sessions::key_digest.eq(secret::digest(key)))
        .select(Session::as_select())
        .first(conn)
        .optional()?)
}

/// The session was used now, from `ip`.
pub fn seen(conn: &mut DbConnection, id: i64, ip: &str, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(sessions::table.find(id)).set((sessions::last_seen_at.eq(at), sessions::ip.eq(ip))).execute(conn)?;
    Ok(())
}

/// The session goes on under the user's new stamp (they changed their own password in it).
pub fn restamp(conn: &mut DbConnection, id: i64, stamp: &str) -> Result<(), AppError> {
    diesel::update(sessions::table.find(id)).set(sessions::stamp.eq(stamp)).execute(conn)?;
    Ok(())
}

/// The user's sessions that still stand under their stamp, the latest used first.
pub fn of_user(conn: &mut DbConnection, user_id: i64) -> Result<Vec<Session>, AppError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::stamp.eq(users::security_stamp))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(Session::as_select())
        .load(conn)?)
}

/// Ends one session of the user's; whether it was there.
pub fn end(conn: &mut DbConnection, user_id: i64, id: i64) -> Result<bool, AppError> {
    let n = diesel::delete(sessions::table.find(id).filter(sessions::user_id.eq(user_id))).execute(conn)?;
    Ok(n == 1)
}

/// Ends the session a cookie's key names (its user signed out).
pub fn end_by_key(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.filter(sessions::key_digest.eq(secret::digest(key)))).execute(conn)?;
    Ok(())
}

/// Ends every session of the user's but `keep`; how many.
pub fn end_others(conn: &mut DbConnection, user_id: i64, keep: i64) -> Result<usize, AppError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)).filter(sessions::id.ne(keep)))
        .execute(conn)?)
}

/// Ends every session of the user's, and every session in which they act as someone else.
pub fn end_all(conn: &mut DbConnection, user_id: i64) -> Result<usize, AppError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id).or(sessions::impersonator_id.eq(user_id))))
        .execute(conn)?)
}

/// How long a session stands, from the Organization settings: idle for at most
/// `session_idle_minutes`, and at most `session_absolute_hours` since it began; a session in
/// which an administrator is signed in as the user, at most `impersonation_minutes`. The one
/// rule the request check, the session list and housekeeping all use.
pub struct Lifetime {
    idle: chrono::Duration,
    absolute: chrono::Duration,
    impersonation: chrono::Duration,
}

impl Lifetime {
    pub fn of(settings: &crate::db::settings::Settings) -> Lifetime {
        Lifetime {
            idle: chrono::Duration::minutes(settings.session_idle_minutes),
            absolute: chrono::Duration::hours(settings.session_absolute_hours),
            impersonation: chrono::Duration::minutes(settings.impersonation_minutes),
        }
    }

    /// Whether a session begun at `started` and last seen at `seen` stands at `now`.
    pub fn stands(&self, started: NaiveDateTime, seen: NaiveDateTime, impersonated: bool, now: NaiveDateTime) -> bool {
        let lasts = if impersonated { self.impersonation } else { self.absolute };
        now - seen <= self.idle && now - started <= lasts
    }

    /// Before when a session was last seen, or began, for it to be dead at `now` whatever it is.
    pub fn dead_before(&self, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        (now - self.idle, now - self.absolute)
    }
}

/// Deletes sessions that can no longer be used: idle since `idle_before`, begun before
/// `started_before`, or under a stamp their user no longer has.
pub fn delete_dead(
    conn: &mut DbConnection,
    idle_before: NaiveDateTime,
    started_before: NaiveDateTime,
) -> Result<usize, AppError> {
    let stale = diesel::delete(
        sessions::table.filter(sessions::last_seen_at.lt(idle_before).or(sessions::started_at.lt(started_before))),
    )
    .execute(conn)?;
    let current = users::table.filter(users::id.eq(sessions::user_id)).select(users::security_stamp);
    let restamped =
        diesel::delete(sessions::table.filter(diesel::dsl::not(sessions::stamp.eq_any(current)))).execute(conn)?;
    Ok(stale + restamped)
}

/// Records that the user signed in from this `device` (a browser's kind and system, in words);
/// whether it is one not seen before, and whether they had signed in from any before. The caller holds the user's row
/// (`users::lock`), so two sign-ins at once do not both add it.
pub fn new_device(
    conn: &mut DbConnection,
    user_id: i64,
    device: &str,
    at: NaiveDateTime,
) -> Result<(bool, bool), AppError> {
    let digest = secret::digest(device);
    let known = known_devices::table
        .filter(known_devices::user_id.eq(user_id))
        .select(known_devices::agent_digest)
        .load::<String>(conn)?;
    if known.contains(&digest) {
        return Ok((false, true));
    }
    diesel::insert_into(known_devices::table)
        .values((
            known_devices::user_id.eq(user_id),
            known_devices::agent_digest.eq(&digest),
            known_devices::first_seen_at.eq(at),
        ))
        .execute(conn)?;
    Ok((true, !known.is_empty()))
}
