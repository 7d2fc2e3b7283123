//! Signing in and out, as the audit log and the sign-in limits see it (the password check
//! itself happens before, on the hashing threads; these record what came of it), and the
//! sessions the server records: begun, listed, ended by their user or by an administrator.

use chrono::NaiveDateTime;

use super::Actor;
use crate::db::audit::{self, AuditContext, Target};
use crate::db::settings::Settings;
use crate::db::{DbConnection, outbox, sessions as stored, throttle, users};
use crate::domain::rules::Action;
use crate::error::AppError;

/// Begins a session of user `user_id` under `stamp` (for `impersonator`, when an administrator
/// signs in as them) from where `ctx` says, in place of the sessions whose keys are `replaces`;
/// returns the key its cookie holds. A sign-in from a browser the user never signed in from
/// before is mailed to them, unless it is their first.
pub fn start(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    (user_id, stamp): (i64, &str),
    (impersonator, provider): (Option<i64>, Option<i64>),
    at: NaiveDateTime,
    replaces: &[String],
) -> Result<String, AppError> {
    // Two sign-ins of one user at once must not both find the browser new: they take turns.
    // The turn is taken first, on PostgreSQL: a session's row refers to its user's, so storing
    // it holds a share lock on that row, and two sign-ins that each held one and then asked
    // for the user's row deadlocked (a 500 for one of them, each wait a second long).
    if impersonator.is_none() {
        users::lock(conn, user_id)?;
    }
    for key in replaces {
        stored::end_by_key(conn, key)?;
    }
    let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
    let (agent, ip) = (ctx.user_agent.clone().unwrap_or_default(), ctx.ip.clone().unwrap_or_default());
    let new = stored::NewSession {
        user_id,
        stamp,
        impersonator_id: impersonator,
        provider_id: provider,
        user_agent: &agent,
        ip: &ip,
        at,
    };
    let (_, key) = stored::start(conn, &new)?;
    if impersonator.is_some() {
        return Ok(key);
    }
    // A browser is known by its kind and system ("Firefox on Linux"), not its version: an
    // update is no new device.
    let device = crate::domain::device::describe(&agent);
    let (new_device, seen_others) = stored::new_device(conn, user.id, &device, at)?;
    if new_device && seen_others {
        let settings = Settings::load(conn)?;
        let zone = crate::domain::time_zone(&user.time_zone).unwrap_or(settings.time_zone);
        let lines = vec![
            format!(
                "Your account was just signed in to from a browser not seen before: {device}, from {}, on {}.",
                crate::domain::device::place(&ip),
                crate::domain::when_in(Some(at), zone),
            ),
            "If it was you, there is nothing to do. If not, change your password now, sign out that session on My Profile, and remove any passkey you do not know under Two-step sign-in there.".into(),
        ];
        let subject = format!("New sign-in to {} from {device}", settings.org_name);
        let mail =
            crate::mail::messages::notice(&settings, "new_device", &user.email, &user.first_name, subject, lines)?;
        outbox::enqueue(conn, &mail)?;
    }
    Ok(key)
}

/// The actor signs out one of their other sessions (`current` is the one they act from: that
/// one is signed out from the menu).
pub fn end_mine(conn: &mut DbConnection, actor: &Actor, id: i64, current: i64) -> Result<(), AppError> {
    actor.not_impersonated("signs out their other sessions")?;
    if id == current {
        return Err(AppError::Unfit("That is the session you are using: sign out from the menu instead.".into()));
    }
    if !stored::end(conn, actor.id, id)? {
        return Err(AppError::Unfit("That session had ended already.".into()));
    }
    let target = Target::user(actor.id, &actor.email);
    audit::record(conn, &actor.audit, "sign_out.session", target, serde_json::json!({ "session": id }))
}

/// The actor signs out every session of theirs but `current`; how many ended.
pub fn end_my_others(conn: &mut DbConnection, actor: &Actor, current: i64) -> Result<usize, AppError> {
    actor.not_impersonated("signs out their other sessions")?;
    let ended = stored::end_others(conn, actor.id, current)?;
    let target = Target::user(actor.id, &actor.email);
    audit::record(conn, &actor.audit, "sign_out.elsewhere", target, serde_json::json!({ "sessions": ended }))?;
    Ok(ended)
}

/// An administrator ends every session of user `id` (row 2 of the rules): a new stamp, and
/// every recorded session gone, on every process at once.
pub fn end_all_of(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<super::Target, AppError> {
    let target = super::Target::load(conn, id)?;
    actor.may(Action::EndSessions, &target)?;
    users::end_sessions(conn, id)?;
    let ended = stored::end_all(conn, id)?;
    let event = Target::user(id, &target.user.email);
    audit::record(conn, &actor.audit, "sign_out.everywhere", event, serde_json::json!({ "sessions": ended }))?;
    Ok(target)
}

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

/// Signing out ends the recorded sessions the cookie named (with the administrator's own, when
/// they sign out while signed in as someone).
pub fn signed_out(conn: &mut DbConnection, ctx: &AuditContext, keys: &[Option<String>]) -> Result<(), AppError> {
    for key in keys.iter().flatten() {
        stored::end_by_key(conn, key)?;
    }
    audit::record(conn, ctx, "sign_out", Target::none(), serde_json::json!({}))
}

/// The administrator returns to their own account (`why`: "returned", "time limit"): the session
/// in which they were signed in as the user (`session_id`) ends, and the event is theirs.
pub fn impersonation_stopped(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    (admin_id, impersonated, session_id): (i64, &users::User, i64),
    why: &str,
) -> Result<(), AppError> {
    stored::end(conn, impersonated.id, session_id)?;
    let mut ctx = ctx.as_actor(admin_id);
    ctx.impersonator_id = None;
    let target = Target::user(impersonated.id, &impersonated.email);
    audit::record(conn, &ctx, "impersonation.stopped", target, serde_json::json!({ "why": why }))
}
