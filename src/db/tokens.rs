//! One-time links (invite, password reset, email change, email verification, owner setup).
//! Only the SHA-256 of the secret is stored; the secret exists once, in the link.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::tokens;
use super::{DbConnection, now};
use crate::auth::secret;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invite,
    PasswordReset,
    EmailChange,
    EmailVerify,
    OwnerSetup,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailChange => "email_change",
            Purpose::EmailVerify => "email_verify",
            Purpose::OwnerSetup => "owner_setup",
        }
    }
}

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = tokens)]
pub struct Token {
    pub id: i64,
    pub purpose: String,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub secret_hash: String,
    pub details: String,
    pub mail_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub superseded_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What a link can still do, in the order a person should be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    Used,
    Revoked,
    Superseded,
    Expired,
}

impl Token {
    pub fn state(&self, at: NaiveDateTime) -> TokenState {
        if self.used_at.is_some() {
            TokenState::Used
        } else if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.superseded_at.is_some() {
            TokenState::Superseded
        } else if self.expires_at <= at {
            TokenState::Expired
        } else {
            TokenState::Valid
        }
    }
}

/// What `issue` needs besides the purpose.
pub struct NewToken<'a> {
    pub purpose: Purpose,
    pub user_id: Option<i64>,
    pub email: Option<&'a str>,
    pub details: serde_json::Value,
    pub created_by: Option<i64>,
    pub ttl: Duration,
}

/// Stores a new token and returns it with its secret (to be put in a link, never stored).
pub fn issue(conn: &mut DbConnection, new: NewToken<'_>) -> Result<(Token, String), AppError> {
    let secret = secret::new_token();
    let stored = store_all(conn, &[(new, &secret, None)], now())?.into_iter().next();
    Ok((stored.ok_or(diesel::result::Error::NotFound)?, secret))
}

/// Tokens a statement, at most (9 parameters each).
const TOKENS_A_STATEMENT: usize = 500;

/// Stores tokens whose secrets were drawn beforehand, made at `created`, each with the mail
/// that carries its link when that is queued already (an import renders its mails before its
/// transaction begins); many a statement, returned in no given order.
pub fn store_all(
    conn: &mut DbConnection,
    links: &[(NewToken<'_>, &str, Option<i64>)],
    created: NaiveDateTime,
) -> Result<Vec<Token>, AppError> {
    let mut rows: Vec<_> = links
        .iter()
        .map(|(new, secret, mail_id)| {
            (
                tokens::purpose.eq(new.purpose.as_str()),
                tokens::user_id.eq(new.user_id),
                tokens::email.eq(new.email),
                tokens::secret_hash.eq(secret::digest(secret)),
                tokens::details.eq(new.details.to_string()),
                tokens::created_by.eq(new.created_by),
                tokens::created_at.eq(created),
                tokens::expires_at.eq(created + new.ttl),
                tokens::mail_id.eq(*mail_id),
            )
        })
        .collect();
    let mut stored = Vec::with_capacity(rows.len());
    // One link: a statement prepared once per connection (a list of rows is not).
    if let [_] = rows[..]
        && let Some(row) = rows.pop()
    {
        stored.push(diesel::insert_into(tokens::table).values(row).returning(tokens::all_columns).get_result(conn)?);
    }
    for some in rows.chunks(TOKENS_A_STATEMENT) {
        let query = diesel::insert_into(tokens::table).values(some).returning(tokens::all_columns);
        stored.extend(on_either!(&mut *conn, |c| query.get_results::<Token>(c))?);
    }
    Ok(stored)
}

/// The token a link's secret belongs to, if it is one of `purpose`.
/// The token a link carries, the user it is for, and the state it is in for that user: a link
/// still valid whose user is no longer `status` (say, an invite whose user is already active)
/// can no longer be used.
pub fn find_for_user(
    conn: &mut DbConnection,
    purpose: Purpose,
    secret: &str,
    status: crate::domain::UserStatus,
) -> Result<Option<(Token, super::users::User, TokenState)>, AppError> {
    let Some(token) = find_by_secret(conn, purpose, secret)? else {
        return Ok(None);
    };
    let Some(user) = super::users::find(conn, token.user_id.unwrap_or_default())? else {
        return Ok(None);
    };
    let mut state = token.state(super::now());
    if state == TokenState::Valid && user.status() != status {
        state = TokenState::Revoked;
    }
    Ok(Some((token, user, state)))
}

pub fn find_by_secret(conn: &mut DbConnection, purpose: Purpose, secret: &str) -> Result<Option<Token>, AppError> {
    if secret.len() != 64 {
        return Ok(None);
    }
    Ok(tokens::table
        .filter(tokens::secret_hash.eq(secret::digest(secret)))
        .filter(tokens::purpose.eq(purpose.as_str()))
        .first(conn)
        .optional()?)
}

/// Marks a token used, only if it still was valid: false means someone else used it first.
pub fn consume(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let at = now();
    let n = diesel::update(
        tokens::table
            .find(id)
            .filter(tokens::used_at.is_null())
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::superseded_at.is_null())
            .filter(tokens::expires_at.gt(at)),
    )
    .set(tokens::used_at.eq(at))
    .execute(conn)?;
    Ok(n == 1)
}

/// Supersedes the unused links of one purpose for a user (or, with no user, of the purpose).
pub fn supersede_unused(conn: &mut DbConnection, purpose: Purpose, user_id: Option<i64>) -> Result<usize, AppError> {
    let open = tokens::table
        .filter(tokens::purpose.eq(purpose.as_str()))
        .filter(tokens::used_at.is_null())
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::superseded_at.is_null());
    let n = match user_id {
        Some(id) => {
            diesel::update(open.filter(tokens::user_id.eq(id))).set(tokens::superseded_at.eq(now())).execute(conn)?
        }
        None => {
            diesel::update(open.filter(tokens::user_id.is_null())).set(tokens::superseded_at.eq(now())).execute(conn)?
        }
    };
    Ok(n)
}

/// Revokes every unused link of a user's (reset, email change, verification; and invitations
/// when `invites`), after a security event. Owner setup links belong to no user.
pub fn revoke_pending(conn: &mut DbConnection, user_id: i64, invites: bool) -> Result<usize, AppError> {
    let mut purposes =
        vec![Purpose::PasswordReset.as_str(), Purpose::EmailChange.as_str(), Purpose::EmailVerify.as_str()];
    if invites {
        purposes.push(Purpose::Invite.as_str());
    }
    Ok(diesel::update(
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::purpose.eq_any(purposes))
            .filter(tokens::used_at.is_null())
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::superseded_at.is_null()),
    )
    .set(tokens::revoked_at.eq(now()))
    .execute(conn)?)
}

/// Revokes one unused link; false when it was already used, replaced or revoked.
pub fn revoke(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let n = diesel::update(
        tokens::table
            .find(id)
            .filter(tokens::used_at.is_null())
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::superseded_at.is_null()),
    )
    .set(tokens::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Token>, AppError> {
    Ok(tokens::table.find(id).first(conn).optional()?)
}

pub fn attach_mail(conn: &mut DbConnection, token_id: i64, mail_id: i64) -> Result<(), AppError> {
    diesel::update(tokens::table.find(token_id)).set(tokens::mail_id.eq(mail_id)).execute(conn)?;
    Ok(())
}

/// An invite link with the delivery of its mail, for the invitation views.
#[derive(Debug, Clone, Queryable)]
pub struct InviteRow {
    pub id: i64,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub superseded_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub sent_by: Option<String>,
    pub mail_sent_at: Option<NaiveDateTime>,
    pub mail_failed_at: Option<NaiveDateTime>,
    pub mail_attempts: Option<i32>,
    pub mail_error: Option<String>,
}

impl InviteRow {
    /// Delivery as an administrator reads it.
    pub fn delivery(&self) -> String {
        match (self.mail_sent_at, self.mail_failed_at, self.mail_attempts.unwrap_or(0), &self.mail_error) {
            (Some(_), ..) => "Sent".into(),
            (None, Some(_), _, error) => {
                format!("Failed: {}", error.as_deref().unwrap_or("unknown error"))
            }
            (None, None, n, Some(error)) if n > 0 => format!("Retrying ({n} tries): {error}"),
            _ => "Queued".into(),
        }
    }

    pub fn state(&self) -> &'static str {
        let t = |at: Option<NaiveDateTime>| at.is_some();
        if t(self.used_at) {
            "Used"
        } else if t(self.revoked_at) {
            "Revoked"
        } else if t(self.superseded_at) {
            "Superseded"
        } else if self.expires_at <= now() {
            "Expired"
        } else {
            "Open"
        }
    }
}

/// Every invite sent to a user, newest first.
pub fn invites_of_user(conn: &mut DbConnection, user_id: i64) -> Result<Vec<InviteRow>, AppError> {
    use super::schema::{outbox, users};
    Ok(tokens::table
        .left_join(users::table.on(users::id.nullable().eq(tokens::created_by)))
        .left_join(outbox::table.on(outbox::id.nullable().eq(tokens::mail_id)))
        .filter(tokens::user_id.eq(user_id))
        .filter(tokens::purpose.eq(Purpose::Invite.as_str()))
        .order(tokens::id.desc())
        .select((
            tokens::id,
            tokens::email,
            tokens::created_at,
            tokens::expires_at,
            tokens::used_at,
            tokens::superseded_at,
            tokens::revoked_at,
            users::email.nullable(),
            outbox::sent_at.nullable(),
            outbox::failed_at.nullable(),
            outbox::attempts.nullable(),
            outbox::last_error.nullable(),
        ))
        .load(conn)?)
}

/// A row of the Pending invites view.
#[derive(Debug, Clone, Queryable)]
pub struct PendingRow {
    pub invite: InviteRow,
    pub user_id: i64,
    pub user_status: String,
    pub group_name: String,
}

/// Every invite sent, newest first, `limit` at a time before `before` (a token id).
pub fn all_invites(
    conn: &mut DbConnection,
    before: Option<i64>,
    replaced_too: bool,
    limit: i64,
) -> Result<Vec<PendingRow>, AppError> {
    use super::schema::{groups, outbox, users};
    let (invitee, sender) = diesel::alias!(users as invitee, users as sender);
    let mut query = tokens::table
        .inner_join(invitee.on(invitee.field(users::id).nullable().eq(tokens::user_id)))
        .inner_join(groups::table.on(groups::id.eq(invitee.field(users::group_id))))
        .left_join(sender.on(sender.field(users::id).nullable().eq(tokens::created_by)))
        .left_join(outbox::table.on(outbox::id.nullable().eq(tokens::mail_id)))
        .filter(tokens::purpose.eq(Purpose::Invite.as_str()))
        .filter(tokens::id.lt(before.unwrap_or(i64::MAX)))
        .into_boxed();
    if !replaced_too {
        query = query.filter(tokens::superseded_at.is_null());
    }
    Ok(query
        .order(tokens::id.desc())
        .limit(limit)
        .select((
            (
                tokens::id,
                tokens::email,
                tokens::created_at,
                tokens::expires_at,
                tokens::used_at,
                tokens::superseded_at,
                tokens::revoked_at,
                sender.field(users::email).nullable(),
                outbox::sent_at.nullable(),
                outbox::failed_at.nullable(),
                outbox::attempts.nullable(),
                outbox::last_error.nullable(),
            ),
            invitee.field(users::id),
            invitee.field(users::status),
            groups::name,
        ))
        .load(conn)?)
}
