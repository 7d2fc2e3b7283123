//! Two-step sign-in as stored: the user's secret and last accepted step, and their recovery
//! codes (digests, each good once).

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{recovery_codes, users};
use super::{DbConnection, now};
use crate::error::AppError;

/// Turns it on with `secret`, whose `step` was just shown to be known, and these codes.
pub fn turn_on(
    conn: &mut DbConnection,
    user_id: i64,
    secret: &str,
    step: i64,
    codes: &[String],
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((users::totp_secret.eq(secret), users::totp_last_step.eq(step), users::updated_at.eq(now())))
        .execute(conn)?;
    replace_codes(conn, user_id, codes)
}

/// Turns it off (the secret, the recovery codes and the passkeys); whether it was on.
pub fn turn_off(conn: &mut DbConnection, user_id: i64) -> Result<bool, AppError> {
    let was_on = diesel::update(users::table.find(user_id).filter(users::totp_secret.is_not_null()))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    // Passkeys stand in for the code, so they go with it.
    super::passkeys::remove_all(conn, user_id)?;
    super::passkeys::end_ceremonies(conn, user_id)?;
    Ok(was_on == 1)
}

/// Puts these codes (digests) in place of the user's others.
pub fn replace_codes(conn: &mut DbConnection, user_id: i64, digests: &[String]) -> Result<(), AppError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    let at = now();
    // One row at a time: a batch insert is not one statement on both databases.
    for digest in digests {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(digest),
                recovery_codes::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Accepts a code's time step when it is newer than the last accepted (so that of two sign-ins
/// racing with one code, one wins).
pub fn accept_step(conn: &mut DbConnection, user_id: i64, step: i64) -> Result<bool, AppError> {
    let newer = users::totp_last_step.is_null().or(users::totp_last_step.lt(step));
    let updated = diesel::update(users::table.find(user_id).filter(users::totp_secret.is_not_null()).filter(newer))
        .set(users::totp_last_step.eq(step))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Uses the recovery code with this digest, when it is the user's and unused.
pub fn use_code(conn: &mut DbConnection, user_id: i64, digest: &str) -> Result<bool, AppError> {
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now()))
    .execute(conn)?;
    Ok(used == 1)
}

/// How many unused recovery codes the user has.
pub fn codes_left(conn: &mut DbConnection, user_id: i64) -> Result<i64, AppError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .select(count_star())
        .get_result(conn)?)
}
