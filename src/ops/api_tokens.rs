//! API tokens: made by a holder of `api.manage` for other software, with scopes that are a part
//! of the maker's own permissions (and `scim`, the door to `/scim/v2`). A token acts as its maker,
//! within its scopes and within what the maker holds at the moment of each request: it stops
//! working when the maker is disabled or deleted, and loses a scope when the maker loses the
//! permission.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::{Actor, Target};
use crate::auth::secret;
use crate::db::api_tokens::{self as tokens_db, ApiToken, NewToken};
use crate::db::audit::{self, Target as Event};
use crate::db::settings::Settings;
use crate::db::{DbConnection, outbox, users as users_db};
use crate::domain::person_name::short_text;
use crate::domain::{FieldErrors, Permission, PermissionSet, UserStatus};
use crate::error::AppError;

/// The scope that opens `/scim/v2`; the others are permission keys.
pub const SCIM: &str = "scim";
/// What a secret starts with, so a leaked one is recognised (by a person or a secret scanner).
pub const PREFIX: &str = "concierge_";
/// How long a token may live at most.
pub const LONGEST_DAYS: i64 = 366;
/// How many days before its end the maker is told.
pub const WARN_DAYS: i64 = 7;

/// What the form sent, kept as typed.
#[derive(Debug, Clone, Default)]
pub struct TokenForm {
    pub name: String,
    pub expires_on: String,
    /// The repeated `scope` fields.
    pub scopes: Vec<String>,
}

/// The scopes a maker may give: `scim`, then each permission they hold.
pub fn offered(permissions: &PermissionSet) -> Vec<&'static str> {
    std::iter::once(SCIM).chain(Permission::ALL.into_iter().filter(|p| permissions.has(*p)).map(|p| p.key())).collect()
}

/// Makes a token; the secret is answered once and never stored.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    form: &TokenForm,
    today: NaiveDate,
    at: NaiveDateTime,
) -> Result<Result<(i64, String), FieldErrors>, AppError> {
    if !actor.permissions.has(Permission::ApiManage) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let name = errors.check("name", short_text(&form.name, 100, true));
    let offered = offered(&actor.permissions);
    let mut scopes: Vec<&str> = Vec::new();
    for s in &form.scopes {
        match offered.iter().find(|o| **o == s.as_str()) {
            Some(o) if !scopes.contains(o) => scopes.push(o),
            Some(_) => {}
            None => errors.add("scopes", "Choose among the scopes listed: a token never holds more than you do."),
        }
    }
    if scopes.is_empty() && errors.get("scopes").is_empty() {
        errors.add("scopes", "Choose at least one scope.");
    }
    let expires = match NaiveDate::parse_from_str(form.expires_on.trim(), "%Y-%m-%d") {
        Ok(d) if d <= today => Err("Choose a day after today."),
        Ok(d) if d > today + Duration::days(LONGEST_DAYS - 1) => Err("A token lives a year at most."),
        Ok(d) => Ok(d),
        Err(_) => Err("Choose the day it stops working (YYYY-MM-DD)."),
    };
    let expires = errors.check("expires_on", expires.map_err(str::to_owned));
    let (Some(name), Some(expires), true) = (name, expires, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    // In order of the catalogue, whatever order the form sent.
    scopes.sort_by_key(|s| offered.iter().position(|o| o == s));
    let scopes = scopes.join(" ");
    let secret = format!("{PREFIX}{}", secret::new_token());
    let expires_at = expires.and_hms_opt(0, 0, 0).unwrap_or_default();
    let id = tokens_db::insert(
        conn,
        &NewToken {
            name: &name,
            secret_hash: &secret::digest(&secret),
            created_by: actor.id,
            scopes: &scopes,
            created_at: at,
            expires_at,
        },
    )?;
    let details = serde_json::json!({ "name": name, "scopes": scopes, "expires": expires.to_string() });
    audit::record(conn, &actor.audit, "api_token.created", Event::new("api_token", id, &name), details)?;
    Ok(Ok((id, secret)))
}

/// Whether the actor sees every token (an administrator) or only their own.
pub fn sees_all(actor: &Actor) -> bool {
    actor.person().is_admin()
}

/// The tokens the actor may see: every one for an administrator, else their own.
pub fn visible(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<(ApiToken, String, String, String)>, AppError> {
    if !actor.permissions.has(Permission::ApiManage) {
        return Err(AppError::Forbidden);
    }
    tokens_db::list(conn, (!sees_all(actor)).then_some(actor.id))
}

/// Revokes a token: the maker's own, or any for an administrator. Another's token is not found.
pub fn revoke(conn: &mut DbConnection, actor: &Actor, id: i64, at: NaiveDateTime) -> Result<ApiToken, AppError> {
    if !actor.permissions.has(Permission::ApiManage) {
        return Err(AppError::Forbidden);
    }
    let token = tokens_db::find(conn, id)?.ok_or(AppError::NotFound)?;
    if token.created_by != actor.id && !sees_all(actor) {
        return Err(AppError::NotFound);
    }
    if tokens_db::revoke(conn, id, actor.id, at)? {
        let details = serde_json::json!({ "name": token.name, "maker": token.created_by });
        audit::record(conn, &actor.audit, "api_token.revoked", Event::new("api_token", id, &token.name), details)?;
    }
    Ok(token)
}

/// Why a request with a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or none with this secret.
    Unknown,
    Revoked,
    Expired,
    /// The maker is disabled, deleted or was never active.
    MakerInactive,
    /// The token lacks the scope, or its maker no longer holds it.
    Scope,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "The bearer token is missing or unknown.",
            Refusal::Revoked => "This token was revoked.",
            Refusal::Expired => "This token has expired.",
            Refusal::MakerInactive => "The user who made this token can no longer act.",
            Refusal::Scope => "This token's scopes do not allow this request.",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown",
            Refusal::Revoked => "revoked",
            Refusal::Expired => "expired",
            Refusal::MakerInactive => "maker_inactive",
            Refusal::Scope => "scope",
        }
    }
}

/// A token that stands, and the maker it acts as.
pub struct Bearer {
    pub token: ApiToken,
    pub actor: Actor,
}

impl Bearer {
    /// Whether the token may use `permission`: it holds the scope and its maker the permission.
    pub fn allows(&self, permission: Permission) -> bool {
        self.token.has_scope(permission.key()) && self.actor.permissions.has(permission)
    }
}

/// The token with this secret, if it stands: not revoked, not expired, its maker active and
/// holding `scope` among the token's scopes. A known token's refusal names it, for the audit.
pub fn authenticate(
    conn: &mut DbConnection,
    secret: &str,
    scope: &str,
    audit: &audit::AuditContext,
    at: NaiveDateTime,
) -> Result<Result<Bearer, (Refusal, Option<ApiToken>)>, AppError> {
    let Some(token) = tokens_db::by_secret(conn, &secret::digest(secret))? else {
        return Ok(Err((Refusal::Unknown, None)));
    };
    let refusal = if token.revoked_at.is_some() {
        Some(Refusal::Revoked)
    } else if token.expires_at <= at {
        Some(Refusal::Expired)
    } else {
        None
    };
    if let Some(r) = refusal {
        return Ok(Err((r, Some(token))));
    }
    let maker = Target::load(conn, token.created_by)?;
    if maker.user.status() != UserStatus::Active {
        return Ok(Err((Refusal::MakerInactive, Some(token))));
    }
    if !token.has_scope(scope) {
        return Ok(Err((Refusal::Scope, Some(token))));
    }
    // A write only when the last use shown is a minute old: reads of a busy client write nothing.
    if token.last_used_at.is_none_or(|t| at - t >= Duration::minutes(1)) {
        tokens_db::touch(conn, token.id, audit.ip.as_deref(), at)?;
    }
    let mut ctx = audit.as_actor(maker.user.id);
    ctx.api_token = Some(token.name.clone());
    let actor = Actor {
        id: maker.user.id,
        is_owner: maker.user.is_owner,
        email: maker.user.email.clone(),
        permissions: maker.permissions,
        audit: ctx,
    };
    Ok(Ok(Bearer { token, actor }))
}

/// Records a refused request of a known token, by its name.
pub fn record_refusal(
    conn: &mut DbConnection,
    audit: &audit::AuditContext,
    token: &ApiToken,
    why: &str,
    request: &str,
) -> Result<(), AppError> {
    let mut ctx = audit.as_actor(token.created_by);
    ctx.api_token = Some(token.name.clone());
    let details = serde_json::json!({ "why": why, "request": request });
    audit::record(conn, &ctx, "api.refused", Event::new("api_token", token.id, &token.name), details)
}

/// Mails each maker whose token ends within a week (once per token).
pub fn warn_ending(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    let ending = tokens_db::ending_unwarned(conn, at, at + Duration::days(WARN_DAYS))?;
    if ending.is_empty() {
        return Ok(0);
    }
    let settings = Settings::load(conn)?;
    let mut warned = 0;
    for token in ending {
        if !tokens_db::mark_warned(conn, token.id)? {
            continue;
        }
        let Some(maker) = users_db::find(conn, token.created_by)? else { continue };
        if maker.status() != UserStatus::Active {
            continue;
        }
        let when = crate::domain::day_text(token.expires_at.date());
        let lines = vec![
            format!("Your API token \u{201c}{}\u{201d} stops working on {when}.", token.name),
            "Software that uses it is refused from then on: make a new token in the API tokens tab and give it to \
             that software before then."
                .to_owned(),
        ];
        let subject = format!("Your API token \u{201c}{}\u{201d} ends on {when}", token.name);
        let message = crate::mail::messages::notice(
            &settings,
            "api_token_ending",
            &maker.email,
            &maker.first_name,
            subject,
            lines,
        )?;
        outbox::enqueue(conn, &message)?;
        warned += 1;
    }
    Ok(warned)
}
