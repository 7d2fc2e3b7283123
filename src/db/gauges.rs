//! What `/metrics` reads from the database at each scrape: small counts, each answered from an
//! index (the outbox's due mail, the invitations by purpose, the lock-outs by key).

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{outbox, sign_in_throttle, tokens};
use super::tokens::Purpose;
use crate::error::AppError;

pub struct Gauges {
    /// Mails never tried yet.
    pub mail_queued: i64,
    /// Mails tried and waiting for another try.
    pub mail_retrying: i64,
    pub invitations_pending: i64,
    pub sign_in_locked: i64,
}

pub fn read(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Gauges, AppError> {
    let unsent = outbox::table.filter(outbox::sent_at.is_null()).filter(outbox::failed_at.is_null());
    let mail_queued = unsent.filter(outbox::attempts.eq(0)).select(count_star()).get_result(conn)?;
    let mail_retrying = unsent.filter(outbox::attempts.gt(0)).select(count_star()).get_result(conn)?;
    let invitations_pending = tokens::table
        .filter(tokens::purpose.eq(Purpose::Invite.as_str()))
        .filter(tokens::used_at.is_null())
        .filter(tokens::superseded_at.is_null())
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.gt(at))
        .select(count_star())
        .get_result(conn)?;
    let sign_in_locked =
        sign_in_throttle::table.filter(sign_in_throttle::locked_until.gt(at)).select(count_star()).get_result(conn)?;
    Ok(Gauges { mail_queued, mail_retrying, invitations_pending, sign_in_locked })
}
