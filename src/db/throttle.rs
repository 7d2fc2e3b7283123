//! Sign-in failures counted per email address in the database, so a lockout holds across
//! every server process. Unknown addresses are counted too: a lockout tells nothing.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::sign_in_throttle;
use crate::error::AppError;

/// Failures allowed within the window before the address is locked.
pub const MAX_FAILURES: i32 = 10;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK: Duration = Duration::minutes(15);

pub fn locked_until(conn: &mut DbConnection, key: &str, at: NaiveDateTime) -> Result<Option<NaiveDateTime>, AppError> {
    let until: Option<Option<NaiveDateTime>> =
        sign_in_throttle::table.find(key).select(sign_in_throttle::locked_until).first(conn).optional()?;
    Ok(until.flatten().filter(|u| *u > at))
}

/// Counts a failure; returns true when this failure locked the address.
pub fn record_failure(conn: &mut DbConnection, key: &str, at: NaiveDateTime) -> Result<bool, AppError> {
    let row: Option<(i32, NaiveDateTime)> = sign_in_throttle::table
        .find(key)
        .select((sign_in_throttle::failures, sign_in_throttle::window_started_at))
        .first(conn)
        .optional()?;
    let failures = match row {
        None => {
            let inserted = diesel::insert_into(sign_in_throttle::table)
                .values((
                    sign_in_throttle::key.eq(key),
                    sign_in_throttle::failures.eq(1),
                    sign_in_throttle::window_started_at.eq(at),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => return Ok(false),
                // Another process counted the first failure at the same moment.
                Err(_) => increment(conn, key)?,
            }
        }
        Some((_, started)) if at - started > WINDOW => {
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
    if failures >= MAX_FAILURES {
        diesel::update(sign_in_throttle::table.find(key))
            .set((
                sign_in_throttle::locked_until.eq(at + LOCK),
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
