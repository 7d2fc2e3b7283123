//! My Profile: what a user changes of themselves (name, phone, title, job function,
//! notifications, password, email). A session in which an administrator acts as the user
//! changes neither the password nor the email: those are the user's own keys.

use chrono::Duration;
use diesel::prelude::*;

use super::Actor;
use crate::db::audit::{self, AuditContext, Target};
use crate::db::schema::users as u;
use crate::db::settings::Settings;
use crate::db::tokens::{self, NewToken, Purpose, TokenState};
use crate::db::{DbConnection, now, outbox, users};
use crate::domain::{Email, JobFunction, PersonName, Phone, UserStatus};
use crate::error::AppError;
use crate::mail::messages;

/// The fields of My Profile, parsed.
pub struct OwnInfo {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Phone,
    pub title: String,
    pub job_function: JobFunction,
    pub notification_preference: String,
    /// An IANA name, or empty for the organization's.
    pub time_zone: String,
}

pub fn update(conn: &mut DbConnection, actor: &Actor, info: &OwnInfo) -> Result<(), AppError> {
    let before = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    diesel::update(u::table.find(actor.id))
        .set((
            u::first_name.eq(info.first_name.as_str()),
            u::last_name.eq(info.last_name.as_str()),
            u::phone.eq(info.phone.as_str()),
            u::title.eq(&info.title),
            u::job_function.eq(info.job_function.key()),
            u::notification_preference.eq(&info.notification_preference),
            u::time_zone.eq(&info.time_zone),
            u::updated_at.eq(now()),
            u::version.eq(u::version + 1),
        ))
        .execute(conn)?;
    let pick = |u: &users::User| {
        serde_json::json!({ "first_name": u.first_name, "last_name": u.last_name, "phone": u.phone,
            "title": u.title, "job_function": u.job_function, "notification_preference": u.notification_preference,
            "time_zone": u.time_zone })
    };
    let after = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let details = serde_json::json!({ "before": pick(&before), "after": pick(&after) });
    audit::record(conn, &actor.audit, "user.profile_updated", Target::user(actor.id, &before.email), details)
}

/// Sets the actor's own password (already checked and hashed): every other session ends, every
/// pending link dies, and a notice goes out. Returns the new stamp for this session.
pub fn change_password(conn: &mut DbConnection, actor: &Actor, hash: &str, session: i64) -> Result<String, AppError> {
    actor.not_impersonated("changes their password or email")?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let stamp = users::set_password(conn, me.id, hash)?;
    // The session that changed it goes on; every other one ends.
    crate::db::sessions::restamp(conn, session, &stamp)?;
    crate::db::sessions::end_others(conn, me.id, session)?;
    let settings = Settings::load(conn)?;
    outbox::enqueue(conn, &messages::password_changed(&settings, &me.email, &me.first_name)?)?;
    audit::record(conn, &actor.audit, "user.password_changed", Target::user(me.id, &me.email), serde_json::json!({}))?;
    Ok(stamp)
}

/// Sends a confirmation link to the new address (the actor proved their password) and a notice
/// to the old one; the address changes when the link is followed.
pub fn request_email_change(
    conn: &mut DbConnection,
    actor: &Actor,
    email: &Email,
    public_url: &str,
) -> Result<(), AppError> {
    actor.not_impersonated("changes their password or email")?;
    let me = users::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let settings = Settings::load(conn)?;
    tokens::supersede_unused(conn, Purpose::EmailChange, Some(me.id))?;
    let (token, secret) = tokens::issue(
        conn,
        NewToken {
            purpose: Purpose::EmailChange,
            user_id: Some(me.id),
            email: Some(email.as_str()),
            details: serde_json::json!({ "from": me.email }),
            created_by: Some(me.id),
            ttl: Duration::hours(settings.email_change_ttl_hours),
        },
    )?;
    // The link goes to the new address even if it is taken: the page then says so, and this
    // form tells nothing about who has an account.
    let link = format!("{public_url}/confirm-email/{secret}");
    let confirm = messages::email_change_confirm(&settings, email.as_str(), &me.first_name, &link)?;
    let mail_id = outbox::enqueue(conn, &confirm)?;
    tokens::attach_mail(conn, token.id, mail_id)?;
    let notice = messages::email_change_notice(&settings, &me.email, &me.first_name, email.as_str(), false)?;
    outbox::enqueue(conn, &notice)?;
    let details = serde_json::json!({ "to": email.as_str() });
    audit::record(conn, &actor.audit, "user.email_change_requested", Target::user(me.id, &me.email), details)
}

/// Follows an email-change link: the new address becomes the sign-in address, every session
/// of the user ends and their other pending links die. Returns the new address, or why the
/// link no longer works.
pub fn confirm_email_change(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    secret: &str,
) -> Result<Option<Result<String, TokenState>>, AppError> {
    let Some((token, user, token_state)) =
        tokens::find_for_user(conn, Purpose::EmailChange, secret, UserStatus::Active)?
    else {
        return Ok(None);
    };
    if token_state != TokenState::Valid {
        return Ok(Some(Err(token_state)));
    }
    let new_email = token.email.clone().unwrap_or_default();
    if users::find_by_email(conn, &new_email)?.is_some() {
        return Ok(Some(Err(TokenState::Revoked)));
    }
    if !tokens::consume(conn, token.id)? {
        return Ok(Some(Err(TokenState::Used)));
    }
    diesel::update(u::table.find(user.id))
        .set((u::email.eq(&new_email), u::updated_at.eq(now()), u::version.eq(u::version + 1)))
        .execute(conn)?;
    super::users::security_event(conn, user.id, false)?;
    let details = serde_json::json!({ "before": user.email, "after": new_email });
    audit::record(conn, &ctx.as_actor(user.id), "user.email_changed", Target::user(user.id, &new_email), details)?;
    Ok(Some(Ok(new_email)))
}
