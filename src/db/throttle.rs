//! Limits on sign-in failures, reset requests and signups, counted in the database so they
//! hold across every server process. Each counter has a short key: the kind, a digest of the
//! email (never the address itself, whatever its length), and the client's network.
//!
//! Sign-in failures are counted per account *and* source, and per source: a stranger who
//! fails ten times for the owner's address locks that address out of the stranger's network
//! only, never out of the owner's usual place; unknown addresses are counted alike, so a
//! lockout tells nothing.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::sign_in_throttle;
use crate::error::AppError;

/// How many events a window allows, and how long the lock that follows lasts.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i32,
    pub window: Duration,
    pub lock: Duration,
}

/// Sign-in failures for one address from one network.
pub const SIGN_IN: Limit = Limit { max: 10, window: Duration::minutes(15), lock: Duration::minutes(15) };
/// Wrong codes at the second step of signing in as one user.
pub const TWO_STEP: Limit = Limit { max: 5, window: Duration::minutes(15), lock: Duration::minutes(15) };
/// Sign-in failures from one network, whatever the addresses.
pub const SIGN_IN_SOURCE: Limit = Limit { max: 50, window: Duration::minutes(15), lock: Duration::minutes(15) };
/// "Forgot password" requests from one network.
pub const RESET_SOURCE: Limit = Limit { max: 10, window: Duration::minutes(15), lock: Duration::minutes(15) };
/// Reset mails to one address: past it no new link is sent, and the last one sent keeps
/// working (a flood of requests never kills the link its owner is about to use).
pub const RESET_MAILS: Limit = Limit { max: 5, window: Duration::hours(1), lock: Duration::hours(1) };
/// Sign-ins by passkey alone begun from one network (each keeps a challenge for a while).
pub const PASSKEY_BEGIN_SOURCE: Limit = Limit { max: 60, window: Duration::minutes(15), lock: Duration::minutes(15) };
/// Signups from one network.
pub const SIGNUP_SOURCE: Limit = Limit { max: 10, window: Duration::hours(1), lock: Duration::hours(1) };

/// Failures allowed for one address from one network before it is locked there.
pub const MAX_FAILURES: i32 = SIGN_IN.max;

/// An email's part of a key: a digest, so a key stays short whatever was typed.
pub fn account(email: &str) -> String {
    crate::auth::secret::digest(&email.trim().to_lowercase())[..32].to_owned()
}

pub fn sign_in_key(account: &str, source: &str) -> String {
    format!("login:{account}:{source}")
}

pub fn two_step_key(user_id: i64) -> String {
    format!("two_step:{user_id}")
}

pub fn passkey_begin_key(source: &str) -> String {
    format!("passkey-begin:{source}")
}

pub fn sign_in_source_key(source: &str) -> String {
    format!("login-src:{source}")
}

/// Whether any of `keys` is locked at `at`.
pub fn locked(conn: &mut DbConnection, keys: &[&str], at: NaiveDateTime) -> Result<bool, AppError> {
    let found: i64 = sign_in_throttle::table
        .filter(sign_in_throttle::key.eq_any(keys))
        .filter(sign_in_throttle::locked_until.gt(at))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Counts one event under `key`; returns true when this one locked it. Call only while the key
/// is not locked, so that a lock ends when its time is up.
pub fn record(conn: &mut DbConnection, key: &str, limit: Limit, at: NaiveDateTime) -> Result<bool, AppError> {
    let row: Option<NaiveDateTime> =
        sign_in_throttle::table.find(key).select(sign_in_throttle::window_started_at).first(conn).optional()?;
    let count = match row {
        None => {
            let first = (
                sign_in_throttle::key.eq(key),
                sign_in_throttle::failures.eq(1),
                sign_in_throttle::window_started_at.eq(at),
            );
            // On PostgreSQL a refused insert would abort the whole transaction: it gets a
            // savepoint of its own. SQLite's writer holds the lock, so no one races it there.
            let inserted = match conn {
                DbConnection::Postgresql(pg) => {
                    use diesel::Connection;
                    pg.transaction(|pg| diesel::insert_into(sign_in_throttle::table).values(first).execute(pg))
                }
                DbConnection::Sqlite(sqlite) => {
                    diesel::insert_into(sign_in_throttle::table).values(first).execute(sqlite)
                }
            };
            match inserted {
                Ok(_) => 1,
                // Another process counted the first one at the same moment.
                Err(_) => increment(conn, key)?,
            }
        }
        Some(started) if at - started > limit.window => {
            diesel::update(sign_in_throttle::table.find(key))
                .set((
                    sign_in_throttle::failures.eq(1),
                    sign_in_throttle::window_started_at.eq(at),
                    sign_in_throttle::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            1
        }
        Some(_) => increment(conn, key)?,
    };
    if count >= limit.max {
        diesel::update(sign_in_throttle::table.find(key))
            .set((
                sign_in_throttle::locked_until.eq(at + limit.lock),
                sign_in_throttle::failures.eq(0),
                sign_in_throttle::window_started_at.eq(at),
            ))
            .execute(conn)?;
        return Ok(true);
    }
    Ok(false)
}

fn increment(conn: &mut DbConnection, key: &str) -> Result<i32, AppError> {
    Ok(diesel::update(sign_in_throttle::table.find(key))
        .set(sign_in_throttle::failures.eq(sign_in_throttle::failures + 1))
        .returning(sign_in_throttle::failures)
        .get_result(conn)?)
}

pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(sign_in_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Ends every sign-in lock of an address, from every network: its owner proved they read its
/// mail (a password reset).
pub fn clear_account(conn: &mut DbConnection, email: &str) -> Result<(), AppError> {
    let prefix = format!("login:{}:%", account(email));
    diesel::delete(sign_in_throttle::table.filter(sign_in_throttle::key.like(prefix))).execute(conn)?;
    Ok(())
}

/// Forgets counters whose window and lock are long over, so strangers' attempts do not pile up.
pub fn prune(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    let old = at - Duration::days(1);
    Ok(diesel::delete(
        sign_in_throttle::table
            .filter(sign_in_throttle::window_started_at.lt(old))
            .filter(sign_in_throttle::locked_until.is_null().or(sign_in_throttle::locked_until.lt(at))),
    )
    .execute(conn)?)
}
