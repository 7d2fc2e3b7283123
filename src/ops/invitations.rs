//! Invitations: a one-time link for an invited user, queued as mail in the same transaction.
//! Resending supersedes the earlier unused links of that user.

use chrono::Duration;

use crate::db::audit::{self, AuditContext, Target};
use crate::db::settings::Settings;
use crate::db::tokens::{self, NewToken, Purpose};
use crate::db::{DbConnection, outbox, users};
use crate::domain::UserStatus;
use crate::error::AppError;
use crate::mail;

/// What an administrator chose when sending an invite.
#[derive(Debug, Clone, Default)]
pub struct InviteOptions {
    /// A subject of their own instead of the default one.
    pub subject: Option<String>,
    /// Their own address, to get a copy ("BCC me").
    pub bcc: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct InviteSent {
    pub token_id: i64,
    pub mail_id: i64,
}

/// Issues a fresh invite link to an invited user and queues the mail. Call inside the
/// transaction of the action that invites.
pub fn send(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    public_url: &str,
    user_id: i64,
    options: &InviteOptions,
) -> Result<InviteSent, AppError> {
    let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
    if user.status() != UserStatus::Invited {
        return Err(AppError::BadRequest("only an invited user can be sent an invite".into()));
    }
    let settings = Settings::load(conn)?;
    let inviter = match ctx.actor_id {
        Some(id) => users::find(conn, id)?.map(|u| u.full_name()),
        None => None,
    };
    let superseded = tokens::supersede_unused(conn, Purpose::Invite, Some(user.id))?;
    let (token, secret) = tokens::issue(
        conn,
        NewToken {
            purpose: Purpose::Invite,
            user_id: Some(user.id),
            email: Some(&user.email),
            details: serde_json::json!({ "subject": options.subject, "bcc": options.bcc }),
            created_by: ctx.actor_id,
            ttl: Duration::hours(settings.invite_ttl_hours),
        },
    )?;
    let message = mail::invite::message(
        &settings,
        &mail::invite::Invite {
            to: &user.email,
            first_name: &user.first_name,
            inviter: inviter.as_deref(),
            link: &format!("{public_url}/invite/{secret}"),
            expires_at: token.expires_at,
            subject: options.subject.as_deref(),
            bcc: options.bcc.as_deref(),
        },
    )?;
    let mail_id = outbox::enqueue(conn, &message)?;
    tokens::attach_mail(conn, token.id, mail_id)?;
    audit::record(
        conn,
        ctx,
        if superseded > 0 { "invite.resent" } else { "invite.sent" },
        Target::user(user.id, &user.email),
        serde_json::json!({
            "token_id": token.id,
            "mail_id": mail_id,
            "expires_at": token.expires_at,
            "superseded": superseded,
            "subject": message.subject,
            "bcc": options.bcc,
        }),
    )?;
    Ok(InviteSent { token_id: token.id, mail_id })
}
