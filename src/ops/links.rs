//! The one-time links and what following them does: owner setup, an invitation accepted, a
//! password reset asked for and used, a self-signup asked for and confirmed. Visitors act here,
//! so each function takes where they act from rather than an actor.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::audit::{self, AuditContext, Target};
use crate::db::schema::users as u;
use crate::db::settings::Settings;
use crate::db::tokens::{self, NewToken, Purpose, TokenState};
use crate::db::{DbConnection, groups, now, outbox, throttle, users};
use crate::domain::{Email, PersonName, Phone, UserStatus};
use crate::error::AppError;
use crate::mail::messages;

/// Issues a reset link for an active user and queues the mail (inside the caller's transaction).
pub fn queue_password_reset(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    public_url: &str,
    user: &crate::db::users::User,
) -> Result<(), AppError> {
    let settings = Settings::load(conn)?;
    tokens::supersede_unused(conn, Purpose::PasswordReset, Some(user.id))?;
    let (token, secret) = tokens::issue(
        conn,
        NewToken {
            purpose: Purpose::PasswordReset,
            user_id: Some(user.id),
            email: Some(&user.email),
            details: serde_json::json!({}),
            created_by: ctx.actor_id,
            ttl: Duration::minutes(settings.password_reset_ttl_minutes),
        },
    )?;
    let link = format!("{public_url}/reset-password/{secret}");
    let mail =
        messages::password_reset(&settings, &user.email, &user.first_name, &link, settings.password_reset_ttl_minutes)?;
    let mail_id = outbox::enqueue(conn, &mail)?;
    tokens::attach_mail(conn, token.id, mail_id)?;
    audit::record(
        conn,
        ctx,
        "password_reset.sent",
        Target::user(user.id, &user.email),
        serde_json::json!({ "token_id": token.id }),
    )
}

/// "Forgot password": a link for an active user, within the limits per network and per
/// address. Past either, nothing is sent, and the link sent last keeps working.
pub fn forgot_password(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    email: &Email,
    source: &str,
    public_url: &str,
) -> Result<(), AppError> {
    let at = now();
    let (source, mails) = (format!("reset-src:{source}"), format!("reset:{}", throttle::account(email.as_str())));
    if throttle::locked(conn, &[&source, &mails], at)? {
        return Ok(());
    }
    throttle::record(conn, &source, throttle::RESET_SOURCE, at)?;
    if let Some(user) = users::find_by_email(conn, email.as_str())?
        && user.status() == UserStatus::Active
    {
        throttle::record(conn, &mails, throttle::RESET_MAILS, at)?;
        queue_password_reset(conn, &ctx.as_actor(user.id), public_url, &user)?;
    }
    Ok(())
}

/// Uses a reset link: the new password (checked and hashed), every session and other link of
/// the user's ended, the address's sign-in locks lifted. Returns the new stamp, or None when
/// the link was used meanwhile.
pub fn reset_password(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    token_id: i64,
    user: &users::User,
    hash: &str,
) -> Result<Option<String>, AppError> {
    if !tokens::consume(conn, token_id)? {
        return Ok(None);
    }
    let stamp = users::set_password(conn, user.id, hash)?;
    // Whoever reads the address's mail may sign in from anywhere again.
    throttle::clear_account(conn, &user.email)?;
    let settings = Settings::load(conn)?;
    outbox::enqueue(conn, &messages::password_changed(&settings, &user.email, &user.first_name)?)?;
    let details = serde_json::json!({ "token_id": token_id });
    audit::record(conn, ctx, "password_reset.completed", Target::user(user.id, &user.email), details)?;
    Ok(Some(stamp))
}

/// Self-signup asked for: nothing is stored for the address but a link to it (no account, no
/// password); an address with an account gets a notice instead. Limited per network.
pub fn request_signup(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    name: (&PersonName, &PersonName),
    email: &Email,
    source: &str,
    public_url: &str,
) -> Result<(), AppError> {
    let (at, source) = (now(), format!("signup-src:{source}"));
    if throttle::locked(conn, &[&source], at)? {
        return Ok(());
    }
    throttle::record(conn, &source, throttle::SIGNUP_SOURCE, at)?;
    let settings = Settings::load(conn)?;
    if users::find_by_email(conn, email.as_str())?.is_some() {
        let sign_in = format!("{public_url}/sign-in");
        outbox::enqueue(conn, &messages::signup_exists(&settings, email.as_str(), &sign_in)?)?;
        return Ok(());
    }
    let (token, secret) = tokens::issue(
        conn,
        NewToken {
            purpose: Purpose::EmailVerify,
            user_id: None,
            email: Some(email.as_str()),
            details: serde_json::json!({ "first_name": name.0.as_str(), "last_name": name.1.as_str() }),
            created_by: None,
            ttl: Duration::hours(settings.invite_ttl_hours),
        },
    )?;
    let link = format!("{public_url}/verify-email/{secret}");
    let mail = messages::verify_email(&settings, email.as_str(), name.0.as_str(), &link)?;
    let mail_id = outbox::enqueue(conn, &mail)?;
    tokens::attach_mail(conn, token.id, mail_id)?;
    let details = serde_json::json!({ "email": email.as_str(), "token_id": token.id });
    audit::record(conn, ctx, "signup.requested", Target::none(), details)
}

/// A self-signup link: who it is for (first and last name), if it is one.
pub fn signup_token(
    conn: &mut DbConnection,
    secret: &str,
) -> Result<Option<(tokens::Token, String, String)>, AppError> {
    let Some(token) = tokens::find_by_secret(conn, Purpose::EmailVerify, secret)?.filter(|t| t.user_id.is_none())
    else {
        return Ok(None);
    };
    let details: serde_json::Value = serde_json::from_str(&token.details).unwrap_or_default();
    let name = |k: &str| details.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let (first, last) = (name("first_name"), name("last_name"));
    Ok(Some((token, first, last)))
}

/// Follows a self-signup link with the password chosen on its page: the Customer account is
/// made, active. An account made for the address meanwhile (an invitation, an import) is
/// theirs to use; this link then makes none.
pub fn complete_signup(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    token: &tokens::Token,
    name: (String, String),
    hash: String,
    public_url: &str,
) -> Result<Result<users::User, TokenState>, AppError> {
    let settings = Settings::load(conn)?;
    let email = token.email.clone().unwrap_or_default();
    // Signup turned off, or the address's domain no longer allowed, since the link was sent.
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !settings.self_signup
        || (!settings.signup_domains.is_empty() && !settings.signup_domains.iter().any(|d| d == domain))
    {
        return Ok(Err(TokenState::Revoked));
    }
    if !tokens::consume(conn, token.id)? {
        return Ok(Err(TokenState::Used));
    }
    if users::find_by_email(conn, &email)?.is_some() {
        let sign_in = format!("{public_url}/sign-in");
        outbox::enqueue(conn, &messages::signup_exists(&settings, &email, &sign_in)?)?;
        return Ok(Err(TokenState::Used));
    }
    let customer = groups::find_builtin(conn, groups::CUSTOMER_KEY)?;
    let user = users::insert(
        conn,
        &users::NewUser {
            password_hash: Some(hash),
            ..users::NewUser::new(email, name.0, name.1, customer.id, UserStatus::Active)
        },
    )?;
    users::record_sign_in(conn, user.id)?;
    let ctx = ctx.as_actor(user.id);
    let target = || Target::user(user.id, &user.email);
    audit::record(conn, &ctx, "user.signed_up", target(), serde_json::json!({ "group": customer.name }))?;
    audit::record(conn, &ctx, "user.email_verified", target(), serde_json::json!({ "token_id": token.id }))?;
    Ok(Ok(user))
}

/// The first-run link: makes the owner (an administrator), once.
pub fn create_owner(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    token_id: i64,
    name: (PersonName, PersonName),
    email: Email,
    hash: String,
) -> Result<Option<users::User>, AppError> {
    if !tokens::consume(conn, token_id)? || users::owner_exists(conn)? {
        return Ok(None);
    }
    let admin = groups::find_builtin(conn, groups::ADMIN_KEY)?;
    let user = users::insert(
        conn,
        &users::NewUser {
            is_owner: true,
            password_hash: Some(hash),
            ..users::NewUser::new(
                email.into_inner(),
                name.0.into_inner(),
                name.1.into_inner(),
                admin.id,
                UserStatus::Active,
            )
        },
    )?;
    users::record_sign_in(conn, user.id)?;
    let details =
        serde_json::json!({ "email": user.email, "first_name": user.first_name, "last_name": user.last_name });
    audit::record(conn, &ctx.as_actor(user.id), "owner.created", Target::user(user.id, &user.email), details)?;
    Ok(Some(user))
}

/// What an invitee enters to accept: their name and phone as they want them, and a password
/// (checked and hashed).
pub struct Acceptance {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Phone,
    pub hash: String,
}

/// Accepts an invitation: the invited user becomes active with the password chosen. Returns
/// the new stamp for the session, or None when the link was used meanwhile.
pub fn accept_invitation(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    token_id: i64,
    user: &users::User,
    accepted: &Acceptance,
) -> Result<Option<String>, AppError> {
    if !tokens::consume(conn, token_id)? {
        return Ok(None);
    }
    let stamp = users::new_security_stamp();
    let n = diesel::update(u::table.find(user.id).filter(u::status.eq(UserStatus::Invited.as_str())))
        .set((
            u::first_name.eq(accepted.first_name.as_str()),
            u::last_name.eq(accepted.last_name.as_str()),
            u::phone.eq(accepted.phone.as_str()),
            u::password_hash.eq(&accepted.hash),
            u::status.eq(UserStatus::Active.as_str()),
            u::must_change_password.eq(false),
            u::security_stamp.eq(&stamp),
            u::last_sign_in_at.eq(now()),
            u::updated_at.eq(now()),
            u::version.eq(u::version + 1),
        ))
        .execute(conn)?;
    if n != 1 {
        return Err(AppError::BadRequest("the invited user changed meanwhile".into()));
    }
    let details = serde_json::json!({ "token_id": token_id });
    audit::record(conn, ctx, "invite.accepted", Target::user(user.id, &user.email), details)?;
    Ok(Some(stamp))
}
