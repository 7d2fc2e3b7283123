//! Passkeys: with two-step sign-in on, a user adds passkeys on My Profile (named; the password
//! proves it is them) and removes them, each audited and mailed; at the second step of signing
//! in, a passkey answers instead of a code, under the same lock and limit as codes.

use chrono::NaiveDateTime;
use webauthn_rs::Webauthn;

use super::Actor;
use super::two_step::{Outcome, SecondStep, tell};
use crate::auth::passkey;
use crate::db::audit::{self, AuditContext, Target};
use crate::db::{DbConnection, passkeys as stored, throttle, users};
use crate::error::AppError;

const TURN_ON_FIRST: &str = "Turn on two-step sign-in first: passkeys stand in for its codes.";

/// How long a ceremony's answer may take.
const CEREMONY_MINUTES: i64 = 5;

/// A passkey's name as kept: one line, without control characters, at most 60 characters.
pub fn name_of(typed: &str) -> Result<String, &'static str> {
    let name: String = typed.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err("Name the passkey, so you know it in the list (“Work laptop”)."),
        61.. => Err("At most 60 characters."),
        _ => Ok(name),
    }
}

/// What a ceremony of adding keeps besides the library's state: the name and the user handle.
#[derive(serde::Serialize, serde::Deserialize)]
struct Adding {
    name: String,
    handle: String,
    state: String,
}

/// Begins adding a passkey named `name` (already checked): the options for the browser, and the
/// key of the ceremony for the cookie.
pub fn begin_adding(
    conn: &mut DbConnection,
    actor: &Actor,
    rp: &Webauthn,
    name: String,
    at: NaiveDateTime,
) -> Result<(String, String), AppError> {
    actor.not_impersonated("adds or removes their passkeys")?;
    // One user's passkey changes take turns (so that two at once agree on the user handle).
    users::lock(conn, actor.id)?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    if me.totp_secret.is_none() {
        return Err(AppError::Unfit(TURN_ON_FIRST.into()));
    }
    let existing = stored::of_user(conn, me.id)?;
    let handle = existing.first().map_or_else(passkey::new_handle, |p| p.user_handle.clone());
    let credentials: Vec<String> = existing.into_iter().map(|p| p.credential).collect();
    let (options, state) = passkey::begin_adding(rp, &handle, &me.email, &me.full_name(), &credentials)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a passkey registration could not begin")))?;
    let kept = serde_json::to_string(&Adding { name, handle, state })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("passkey state: {e}")))?;
    let key = stored::begin(conn, Some(me.id), "add", &kept, at)?;
    Ok((options, key))
}

/// Finishes adding: the browser's answer to the ceremony `key` names. Returns the passkey's
/// name, or why it was not added; either way the ceremony is used up (so a refusal is no error,
/// which would undo that).
pub fn finish_adding(
    conn: &mut DbConnection,
    actor: &Actor,
    rp: &Webauthn,
    key: &str,
    credential: &str,
    at: NaiveDateTime,
) -> Result<Result<String, String>, AppError> {
    actor.not_impersonated("adds or removes their passkeys")?;
    users::lock(conn, actor.id)?;
    let since = at - chrono::Duration::minutes(CEREMONY_MINUTES);
    let kept = stored::take(conn, key, Some(actor.id), "add", since)?;
    // Turned off meanwhile (in another tab): nothing to stand in for.
    if users::find(conn, actor.id)?.is_none_or(|me| me.totp_secret.is_none()) {
        return Ok(Err(TURN_ON_FIRST.into()));
    }
    let answered = kept
        .and_then(|kept| serde_json::from_str::<Adding>(&kept).ok())
        .and_then(|adding| Some((passkey::finish_adding(rp, &adding.state, credential)?, adding)));
    let Some(((credential_id, credential), adding)) = answered else {
        return Ok(Err("That passkey was not added: the browser's answer did not match. Try again.".into()));
    };
    if stored::credential_taken(conn, &credential_id)? {
        return Ok(Err("That passkey is added already.".into()));
    }
    let new = stored::NewPasskey {
        user_id: actor.id,
        user_handle: &adding.handle,
        credential_id: &credential_id,
        credential: &credential,
        name: &adding.name,
        at,
    };
    stored::insert(conn, &new)?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let details = serde_json::json!({ "name": adding.name });
    audit::record(conn, &actor.audit, "two_step.passkey_added", Target::user(me.id, &me.email), details)?;
    tell(
        conn,
        &me,
        "passkey_added",
        "A passkey was added",
        vec![
            format!(
                "The passkey “{}” was added to your account: it can stand in for the code from your app when you sign in.",
                adding.name
            ),
            "If this was not you, ask your administrator to disable the account at once.".into(),
        ],
    )?;
    Ok(Ok(adding.name))
}

/// Removes one of the actor's passkeys; its name.
pub fn remove(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    actor.not_impersonated("adds or removes their passkeys")?;
    let name = stored::remove(conn, actor.id, id)?
        .ok_or_else(|| AppError::Unfit("That passkey was removed already.".into()))?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let details = serde_json::json!({ "name": name });
    audit::record(conn, &actor.audit, "two_step.passkey_removed", Target::user(me.id, &me.email), details)?;
    tell(
        conn,
        &me,
        "passkey_removed",
        "A passkey was removed",
        vec![
            format!("The passkey “{name}” was removed from your account."),
            "If this was not you, ask your administrator to disable the account at once.".into(),
        ],
    )?;
    Ok(name)
}

/// Begins the second step of `user_id`'s sign-in with a passkey: the options and the ceremony's
/// key; None when they have none.
pub fn begin_sign_in(
    conn: &mut DbConnection,
    rp: &Webauthn,
    user_id: i64,
    at: NaiveDateTime,
) -> Result<Option<(String, String)>, AppError> {
    let credentials: Vec<String> = stored::of_user(conn, user_id)?.into_iter().map(|p| p.credential).collect();
    let Some((options, state)) = passkey::begin_using(rp, &credentials) else { return Ok(None) };
    let key = stored::begin(conn, Some(user_id), "sign_in", &state, at)?;
    Ok(Some((options, key)))
}

/// Begins a sign-in by a passkey alone, when the organization allows it and the network is not
/// locked for failed sign-ins: the options and the ceremony's key.
pub fn begin_passwordless(
    conn: &mut DbConnection,
    rp: &Webauthn,
    source: &str,
    at: NaiveDateTime,
) -> Result<Option<(String, String)>, AppError> {
    let (network, begun) = (throttle::sign_in_source_key(source), throttle::passkey_begin_key(source));
    if !crate::db::settings::Settings::load(conn)?.passkey_sign_in || throttle::locked(conn, &[&network, &begun], at)? {
        return Ok(None);
    }
    // Each begin keeps a challenge for a while: a network may begin only so many.
    throttle::record(conn, &begun, throttle::PASSKEY_BEGIN_SOURCE, at)?;
    let Some((options, state)) = passkey::begin_signing_in(rp) else { return Ok(None) };
    let key = stored::begin(conn, None, "passwordless", &state, at)?;
    Ok(Some((options, key)))
}

/// How a sign-in by passkey alone ended.
pub enum Passwordless {
    /// Signed in: the session is made for this user under this stamp.
    In { id: i64, stamp: String },
    /// Not a passkey of an active user here, or not allowed; and whether it locked the network.
    Refused(bool),
    /// Too many failures from this network lately: not even looked at.
    Locked,
}

/// A sign-in by passkey alone: the passkey's user verification stands for password and code
/// (something held, unlocked by something known or being). Failures count per network, as
/// wrong passwords do; the locks of one address's passwords and of one user's codes are not
/// looked at, since a passkey is not guessed.
pub fn finish_passwordless(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    rp: &Webauthn,
    (key, credential): (&str, &str),
    source: String,
    at: NaiveDateTime,
) -> Result<Passwordless, AppError> {
    let network = throttle::sign_in_source_key(&source);
    if throttle::locked(conn, &[&network], at)? {
        return Ok(Passwordless::Locked);
    }
    let since = at - chrono::Duration::minutes(CEREMONY_MINUTES);
    let allowed = crate::db::settings::Settings::load(conn)?.passkey_sign_in;
    let state = stored::take(conn, key, None, "passwordless", since)?.filter(|_| allowed);
    let found = match (&state, passkey::identify(rp, credential)) {
        (Some(_), Some((handle, id))) => stored::by_credential(conn, &id)?.filter(|p| p.user_handle == handle),
        _ => None,
    };
    let user = match &found {
        // One user's sign-ins by one passkey take turns, so its counter only goes up.
        Some(p) => users::lock(conn, p.user_id)
            .and_then(|()| users::find(conn, p.user_id))?
            .filter(|u| u.status() == crate::domain::UserStatus::Active && u.totp_secret.is_some()),
        None => None,
    };
    // A member of a group held to a sign-in provider signs in through it, not by passkey alone.
    let user = match user {
        Some(u) if crate::db::oidc::required_of(conn, u.id)?.is_some() => None,
        other => other,
    };
    let after = match (&state, &found, &user) {
        (Some(state), Some(p), Some(_)) => passkey::finish_signing_in(rp, state, credential, &p.credential),
        _ => None,
    };
    let (Some(after), Some(passkey), Some(user)) = (after, found, user) else {
        let details = serde_json::json!({ "reason": "passkey refused" });
        audit::record(conn, ctx, "sign_in.failed", Target::none(), details)?;
        let locks = throttle::record(conn, &network, throttle::SIGN_IN_SOURCE, at)?;
        return Ok(Passwordless::Refused(locks));
    };
    stored::used(conn, passkey.id, &after, at)?;
    let attempt = super::sessions::Attempt::new(user.email.clone(), source, at);
    super::sessions::succeeded(conn, ctx, &attempt, &user)?;
    let details = serde_json::json!({ "name": passkey.name, "alone": true });
    audit::record(conn, &ctx.as_actor(user.id), "two_step.passkey_used", Target::user(user.id, &user.email), details)?;
    Ok(Passwordless::In { id: user.id, stamp: user.security_stamp })
}

/// The second step of a sign-in (`waiting`) answered by a passkey: as a code would be, under the
/// same lock (five wrong answers in 15 minutes) and with the same record of the sign-in.
pub fn finish_sign_in(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    waiting: &crate::auth::session::SecondStep,
    rp: &Webauthn,
    (key, credential): (&str, &str),
    source: String,
    at: NaiveDateTime,
) -> Result<Outcome, AppError> {
    let throttled = throttle::two_step_key(waiting.user_id);
    let user = match super::two_step::waiting_user(conn, waiting, at)? {
        Ok(user) => user,
        Err(outcome) => return Ok(outcome),
    };
    let since = at - chrono::Duration::minutes(CEREMONY_MINUTES);
    let passkeys = stored::of_user(conn, user.id)?;
    let credentials: Vec<String> = passkeys.iter().map(|p| p.credential.clone()).collect();
    let answered = stored::take(conn, key, Some(user.id), "sign_in", since)?
        .and_then(|state| passkey::finish_using(rp, &state, credential, &credentials));
    let Some((credential_id, after)) = answered else {
        let locks = throttle::record(conn, &throttled, throttle::TWO_STEP, at)?;
        let details = serde_json::json!({ "email": user.email, "reason": "passkey refused" });
        audit::record(conn, ctx, "sign_in.failed", Target::user(user.id, &user.email), details)?;
        return Ok(Outcome::Refused(locks));
    };
    if let Some(used) = passkeys.iter().find(|p| p.credential_id == credential_id) {
        stored::used(conn, used.id, &after, at)?;
        let details = serde_json::json!({ "name": used.name });
        audit::record(
            conn,
            &ctx.as_actor(user.id),
            "two_step.passkey_used",
            Target::user(user.id, &user.email),
            details,
        )?;
    }
    throttle::clear(conn, &throttled)?;
    let attempt = super::sessions::Attempt::new(user.email.clone(), source, at);
    super::sessions::succeeded(conn, ctx, &attempt, &user)?;
    Ok(Outcome::In { id: user.id, stamp: user.security_stamp, how: SecondStep::Passkey })
}
