//! Two-step sign-in: a user turns it on (proving the app has the secret), renews their recovery
//! codes or turns it off on My Profile; an administrator resets it for a user who lost their
//! phone (under the rules' row 2); the second step of signing in takes a code or a recovery
//! code. Each is audited, and the user is told by mail whatever their mail preference.

use super::{Actor, Target};
use crate::auth::two_step;
use crate::db::audit::{self, AuditContext, Target as Audited};
use crate::db::settings::Settings;
use crate::db::{DbConnection, outbox, two_step as stored, users};
use crate::domain::rules::Action;
use crate::error::AppError;
use crate::mail::messages;

/// What a refused code is told, beside the field.
pub const WRONG_CODE: &str = "That code is not right, or was used already. Enter the 6 digits your app shows now.";

pub(super) fn tell(
    conn: &mut DbConnection,
    user: &users::User,
    kind: &'static str,
    subject: &str,
    lines: Vec<String>,
) -> Result<(), AppError> {
    let settings = Settings::load(conn)?;
    let subject = format!("{subject} ({})", settings.org_name);
    outbox::enqueue(conn, &messages::notice(&settings, kind, &user.email, &user.first_name, subject, lines)?)?;
    Ok(())
}

fn digests(codes: &[String]) -> Vec<String> {
    codes.iter().filter_map(|c| two_step::recovery_digest(c)).collect()
}

/// Turns two-step sign-in on with `secret` once `code` shows the app has it; returns the ten
/// recovery codes, to be shown once.
pub fn turn_on(
    conn: &mut DbConnection,
    actor: &Actor,
    secret: &str,
    code: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    actor.not_impersonated("changes their two-step sign-in")?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    if me.totp_secret.is_some() {
        return Err(AppError::Unfit("Two-step sign-in is on already.".into()));
    }
    let step = two_step::check(secret, code, now, None).ok_or_else(|| AppError::Unfit(WRONG_CODE.into()))?;
    let codes = two_step::new_recovery_codes();
    stored::turn_on(conn, me.id, secret, step, &digests(&codes))?;
    audit::record(conn, &actor.audit, "two_step.turned_on", Audited::user(me.id, &me.email), serde_json::json!({}))?;
    tell(conn, &me, "two_step_on", "Two-step sign-in was turned on", vec![
        "Two-step sign-in was turned on for your account: signing in now asks for a code from your authenticator app.".into(),
        "If this was not you, ask your administrator to disable the account at once.".into(),
    ])?;
    Ok(codes)
}

/// New recovery codes in place of the old (the actor proved their password).
pub fn renew_codes(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<String>, AppError> {
    actor.not_impersonated("changes their two-step sign-in")?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    if me.totp_secret.is_none() {
        return Err(AppError::Unfit("Two-step sign-in is off: there are no recovery codes to renew.".into()));
    }
    let codes = two_step::new_recovery_codes();
    stored::replace_codes(conn, me.id, &digests(&codes))?;
    audit::record(
        conn,
        &actor.audit,
        "two_step.codes_renewed",
        Audited::user(me.id, &me.email),
        serde_json::json!({}),
    )?;
    tell(
        conn,
        &me,
        "recovery_codes_renewed",
        "New recovery codes were made",
        vec![
            "Ten new recovery codes were made for your account; the earlier ones no longer work.".into(),
            "If this was not you, ask your administrator to disable the account at once.".into(),
        ],
    )?;
    Ok(codes)
}

/// Turns it off (the actor proved their password).
pub fn turn_off(conn: &mut DbConnection, actor: &Actor) -> Result<(), AppError> {
    actor.not_impersonated("changes their two-step sign-in")?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    if !stored::turn_off(conn, me.id)? {
        return Err(AppError::Unfit("Two-step sign-in is off already.".into()));
    }
    audit::record(conn, &actor.audit, "two_step.turned_off", Audited::user(me.id, &me.email), serde_json::json!({}))?;
    tell(
        conn,
        &me,
        "two_step_off",
        "Two-step sign-in was turned off",
        vec![
            "Two-step sign-in was turned off for your account: signing in asks for your password only.".into(),
            "If this was not you, ask your administrator to disable the account at once.".into(),
        ],
    )
}

/// An administrator turns a user's two-step sign-in off: their sessions end, and they are told.
pub fn reset(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::ResetSecondFactor, &target)?;
    if !stored::turn_off(conn, id)? {
        return Err(AppError::Unfit(format!("{} does not use two-step sign-in.", target.user.full_name())));
    }
    users::end_sessions(conn, id)?;
    let who = audit::label_of(conn, Some(actor.id))?;
    audit::record(conn, &actor.audit, "two_step.reset", Audited::user(id, &target.user.email), serde_json::json!({}))?;
    tell(
        conn,
        &target.user,
        "two_step_reset",
        "Your two-step sign-in was reset",
        vec![
            format!("{who} turned off two-step sign-in for your account, and signed you out everywhere."),
            "Sign in with your password, then turn it on again on My Profile with your new phone.".into(),
            "If you did not ask for this, ask your administrator about it.".into(),
        ],
    )?;
    Ok(target)
}

/// How the second step of a sign-in went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    Code,
    Passkey,
    RecoveryCode { left: i64 },
    Refused,
}

/// Takes the code typed at the second step of signing in as `user_id`: the app's code of now
/// (never one accepted before), or an unused recovery code (used up, audited, mailed).
pub fn second_step(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    me: &users::User,
    typed: &str,
    now: i64,
) -> Result<SecondStep, AppError> {
    let Some(secret) = me.totp_secret.as_deref() else { return Ok(SecondStep::Refused) };
    if let Some(step) = two_step::check(secret, typed, now, me.totp_last_step)
        && stored::accept_step(conn, me.id, step)?
    {
        return Ok(SecondStep::Code);
    }
    if let Some(digest) = two_step::recovery_digest(typed)
        && stored::use_code(conn, me.id, &digest)?
    {
        let left = stored::codes_left(conn, me.id)?;
        let target = Audited::user(me.id, &me.email);
        audit::record(
            conn,
            &ctx.as_actor(me.id),
            "two_step.recovery_code_used",
            target,
            serde_json::json!({ "left": left }),
        )?;
        tell(
            conn,
            me,
            "recovery_code_used",
            "A recovery code was used to sign in",
            vec![
                format!("One of your recovery codes was just used to sign in to your account. You have {left} left."),
                "If this was not you, ask your administrator to disable the account at once.".into(),
            ],
        )?;
        return Ok(SecondStep::RecoveryCode { left });
    }
    Ok(SecondStep::Refused)
}

/// How a sign-in's second step ended.
pub enum Outcome {
    /// Signed in: the session is made for this user under this stamp.
    In { id: i64, stamp: String, how: SecondStep },
    /// A wrong code, and whether it locked the step.
    Refused(bool),
    /// Too many wrong codes lately: not even looked at.
    Locked,
    /// The user was disabled, or their sessions ended, since the password.
    Gone,
}

/// Who a second step is for (`waiting`), when it may go on: attempts at one user's second step
/// wait for each other on PostgreSQL (so that a burst cannot try more than the lock allows;
/// SQLite's write lock already does this), none is looked at while the step is locked, and the
/// user must still be active under the stamp the password was right for.
pub(super) fn waiting_user(
    conn: &mut DbConnection,
    waiting: &crate::auth::session::SecondStep,
    at: chrono::NaiveDateTime,
) -> Result<Result<users::User, Outcome>, AppError> {
    users::lock(conn, waiting.user_id)?;
    if crate::db::throttle::locked(conn, &[&crate::db::throttle::two_step_key(waiting.user_id)], at)? {
        return Ok(Err(Outcome::Locked));
    }
    let user = users::find(conn, waiting.user_id)?
        .filter(|u| u.status() == crate::domain::UserStatus::Active && u.security_stamp == waiting.stamp);
    Ok(user.ok_or(Outcome::Gone))
}

/// The second step of a sign-in whose password was right (`waiting`): the user must still be
/// active under the same stamp; five wrong codes in 15 minutes lock the step; a right one
/// records the sign-in as a password alone would.
pub fn finish_sign_in(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    waiting: &crate::auth::session::SecondStep,
    typed: &str,
    code_time: i64,
    source: String,
) -> Result<Outcome, AppError> {
    use crate::db::{now, throttle};
    let (at, key) = (now(), throttle::two_step_key(waiting.user_id));
    let user = match waiting_user(conn, waiting, at)? {
        Ok(user) => user,
        Err(outcome) => return Ok(outcome),
    };
    match second_step(conn, ctx, &user, typed, code_time)? {
        SecondStep::Refused => {
            let locks = throttle::record(conn, &key, throttle::TWO_STEP, at)?;
            let details = serde_json::json!({ "email": user.email, "reason": "wrong code" });
            audit::record(conn, ctx, "sign_in.failed", Audited::user(user.id, &user.email), details)?;
            Ok(Outcome::Refused(locks))
        }
        how => {
            throttle::clear(conn, &key)?;
            let attempt = super::sessions::Attempt::new(user.email.clone(), source, at);
            super::sessions::succeeded(conn, ctx, &attempt, &user)?;
            Ok(Outcome::In { id: user.id, stamp: user.security_stamp, how })
        }
    }
}

/// The operator turns off the two-step sign-in of the user with this address, from the server's
/// command line (`concierge reset-two-step EMAIL`): the way back for an owner who lost both
/// phone and recovery codes, whom no one may reset in the portal. Sessions end; mailed; audited.
pub fn reset_by_operator(conn: &mut DbConnection, email: &str) -> Result<users::User, AppError> {
    let user = users::find_by_email(conn, email)?
        .ok_or_else(|| AppError::Unfit(format!("No user has the address {email}.")))?;
    if !stored::turn_off(conn, user.id)? {
        return Err(AppError::Unfit(format!("{email} does not use two-step sign-in.")));
    }
    users::end_sessions(conn, user.id)?;
    let details = serde_json::json!({ "by": "the server's command line" });
    audit::record(conn, &AuditContext::system(), "two_step.reset", Audited::user(user.id, &user.email), details)?;
    tell(conn, &user, "two_step_reset", "Your two-step sign-in was reset", vec![
        "Two-step sign-in was turned off for your account from the server's command line, and you were signed out everywhere.".into(),
        "Sign in with your password, then turn it on again on My Profile.".into(),
    ])?;
    Ok(user)
}
