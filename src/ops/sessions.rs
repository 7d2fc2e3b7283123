//! Signing in and out, as the audit log and the sign-in limits see it. The password check
//! itself happens before (on the hashing threads); these record what came of it.

use chrono::NaiveDateTime;

use crate::db::audit::{self, AuditContext, Target};
use crate::db::{DbConnection, throttle, users};
use crate::error::AppError;

/// One sign-in attempt: what was typed (bounded, without control characters) and from where,
/// with the limits' keys it counts under.
pub struct Attempt {
    pub typed: String,
    pub source: String,
    pub at: NaiveDateTime,
    pair: String,
    from_source: String,
}

impl Attempt {
    pub fn new(typed: String, source: String, at: NaiveDateTime) -> Attempt {
        let pair = throttle::sign_in_key(&throttle::account(&typed), &source);
        let from_source = throttle::sign_in_source_key(&source);
        Attempt { typed, source, at, pair, from_source }
    }

    /// Whether the address is locked from this network, or the network itself.
    pub fn locked(&self, conn: &mut DbConnection) -> Result<bool, AppError> {
        throttle::locked(conn, &[&self.pair, &self.from_source], self.at)
    }
}

pub fn succeeded(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    attempt: &Attempt,
    user: &users::User,
) -> Result<(), AppError> {
    throttle::clear(conn, &attempt.pair)?;
    users::record_sign_in(conn, user.id)?;
    audit::record(conn, &ctx.as_actor(user.id), "sign_in", Target::user(user.id, &user.email), serde_json::json!({}))
}

/// Records a failure, and counts it unless it came while locked (so a lock ends in time).
/// Returns whether this failure locked the address.
pub fn failed(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    attempt: &Attempt,
    user: Option<&users::User>,
    locked: bool,
) -> Result<bool, AppError> {
    let target = || user.map_or(Target::none(), |u| Target::user(u.id, &u.email));
    let reason = if locked { "locked" } else { "wrong email or password" };
    let details = serde_json::json!({ "email": attempt.typed, "reason": reason });
    audit::record(conn, ctx, "sign_in.failed", target(), details)?;
    if locked {
        return Ok(false);
    }
    let locks = throttle::record(conn, &attempt.pair, throttle::SIGN_IN, attempt.at)?;
    if locks {
        let minutes = throttle::SIGN_IN.lock.num_minutes();
        let details = serde_json::json!({ "email": attempt.typed, "source": attempt.source, "minutes": minutes });
        audit::record(conn, ctx, "sign_in.locked", target(), details)?;
    }
    let network_locks = throttle::record(conn, &attempt.from_source, throttle::SIGN_IN_SOURCE, attempt.at)?;
    Ok(locks || network_locks)
}

pub fn signed_out(conn: &mut DbConnection, ctx: &AuditContext) -> Result<(), AppError> {
    audit::record(conn, ctx, "sign_out", Target::none(), serde_json::json!({}))
}

/// The administrator returns to their own account (`why`: "returned", "time limit"): the event
/// is theirs.
pub fn impersonation_stopped(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    admin_id: i64,
    impersonated: &users::User,
    why: &str,
) -> Result<(), AppError> {
    let mut ctx = ctx.as_actor(admin_id);
    ctx.impersonator_id = None;
    let target = Target::user(impersonated.id, &impersonated.email);
    audit::record(conn, &ctx, "impersonation.stopped", target, serde_json::json!({ "why": why }))
}
