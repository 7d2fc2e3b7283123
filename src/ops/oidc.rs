//! Signing in with the organization's OpenID Connect providers: the providers an administrator
//! of settings adds, changes and removes, and who a provider's answer signs in — a user linked
//! to that subject, else an active user whose verified email it is (linked then), else, when
//! the provider makes users, a new one of an allowed domain in the chosen group. A disabled or
//! deleted user is refused as a wrong password is.

use chrono::NaiveDateTime;

use super::Actor;
use crate::auth::oidc::Identity;
use crate::db::audit::{self, AuditContext, Target as Event};
use crate::db::oidc::{self as stored, Provider, ProviderRow};
use crate::db::{DbConnection, groups, throttle, users};
use crate::domain::person_name::PersonName;
use crate::domain::person_name::short_text;
use crate::domain::{Email, FieldErrors, Permission, UserStatus, rules};
use crate::error::AppError;

/// What the provider form sent, kept as typed (the secret only on its way in).
#[derive(Debug, Clone, Default)]
pub struct ProviderForm {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// Empty when changing a provider: the sealed secret is kept.
    pub client_secret: String,
    pub scopes: String,
    pub email_claim: String,
    pub create_users: bool,
    pub create_in_group_id: String,
    pub create_domains: String,
    pub ask_second_factor: bool,
}

impl ProviderForm {
    pub fn of(p: &Provider) -> ProviderForm {
        ProviderForm {
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: String::new(),
            scopes: p.scopes.clone(),
            email_claim: p.email_claim.clone(),
            create_users: p.create_users,
            create_in_group_id: p.create_in_group_id.map(|g| g.to_string()).unwrap_or_default(),
            create_domains: p.create_domains.clone(),
            ask_second_factor: p.ask_second_factor,
        }
    }
}

/// An issuer: `https`, or `http` on this machine only (a provider under test).
fn issuer(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    let url = openidconnect::url::Url::parse(raw)
        .map_err(|_| "Enter the issuer's address, e.g. https://login.example.com.".to_owned())?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && local) {
        return Err("The issuer's address starts with https://.".into());
    }
    if url.query().is_some() || url.fragment().is_some() || raw.len() > 500 {
        return Err("Enter the issuer's address alone, without ? or #.".into());
    }
    Ok(raw.to_owned())
}

/// Space-separated words of letters, digits and `._:-/`, at most `max` bytes in all.
fn words(raw: &str, max: usize, what: &str) -> Result<String, String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let fits = |w: &&str| w.chars().all(|c| c.is_ascii_alphanumeric() || "._:-/@".contains(c));
    if raw.len() > max || !words.iter().all(fits) {
        return Err(format!("{what}: letters, digits and . _ : - / only, separated by spaces."));
    }
    Ok(words.join(" "))
}

/// A claim's name: one word.
fn claim_name(raw: &str) -> Result<String, String> {
    let name = short_text(raw, 60, true)?;
    if name.contains(char::is_whitespace) {
        return Err("A claim's name has no spaces.".into());
    }
    Ok(name)
}

/// Checks the form; the provider's row when it holds, with `sealed` as its secret.
fn checked(
    conn: &mut DbConnection,
    actor: &Actor,
    form: &ProviderForm,
    id: Option<i64>,
    errors: &mut FieldErrors,
    at: NaiveDateTime,
) -> Result<Option<ProviderRow>, AppError> {
    let name = errors.check("name", short_text(&form.name, 60, true));
    if let Some(n) = &name
        && stored::name_taken(conn, n, id)?
    {
        errors.add("name", "Another provider has this name.");
    }
    let issuer = errors.check("issuer", issuer(&form.issuer));
    let client_id = errors.check("client_id", short_text(&form.client_id, 300, true));
    if id.is_none() || !form.client_secret.is_empty() {
        errors.check("client_secret", short_text(&form.client_secret, 500, true));
    }
    let scopes = errors.check("scopes", words(&form.scopes, 300, "Scopes"));
    let email_claim = errors.check("email_claim", claim_name(&form.email_claim));
    let domains = errors.check("create_domains", words(&form.create_domains.to_ascii_lowercase(), 1000, "Domains"));
    let group = match form.create_in_group_id.trim() {
        "" if form.create_users => {
            errors.add("create_in_group_id", "Choose the group new users join.");
            None
        }
        "" => None,
        g => match g.parse::<i64>().ok().map(|g| groups::with_permissions(conn, g)).transpose()?.flatten() {
            None => {
                errors.add("create_in_group_id", "Choose the group new users join.");
                None
            }
            Some((group, permissions)) => {
                if let Err(refusal) = rules::may_assign(&actor.person(), &permissions) {
                    errors.add("create_in_group_id", refusal.message());
                }
                Some(group.id)
            }
        },
    };
    if form.create_users && domains.as_deref() == Some("") {
        errors.add("create_domains", "Name the domains whose people may be added, e.g. example.com.");
    }
    let (Some(name), Some(issuer), Some(client_id), Some(scopes), Some(email_claim), Some(domains), true) =
        (name, issuer, client_id, scopes, email_claim, domains, errors.is_empty())
    else {
        return Ok(None);
    };
    Ok(Some(ProviderRow {
        name,
        issuer,
        client_id,
        client_secret_sealed: String::new(),
        scopes: if scopes.is_empty() { "openid email profile".into() } else { scopes },
        email_claim,
        create_users: form.create_users,
        create_in_group_id: group,
        create_domains: domains,
        ask_second_factor: form.ask_second_factor,
        updated_at: at,
    }))
}

/// What an audit event says of a provider: never its secret.
fn details(row: &ProviderRow, secret_changed: bool) -> serde_json::Value {
    serde_json::json!({
        "name": row.name, "issuer": row.issuer, "client_id": row.client_id, "scopes": row.scopes,
        "email_claim": row.email_claim, "create_users": row.create_users,
        "create_in_group_id": row.create_in_group_id, "create_domains": row.create_domains,
        "ask_second_factor": row.ask_second_factor, "secret_changed": secret_changed,
    })
}

/// Adds a provider (`seal` seals the secret), or says what to mend.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    form: &ProviderForm,
    seal: impl Fn(&str) -> String,
    at: NaiveDateTime,
) -> Result<Result<i64, FieldErrors>, AppError> {
    if !actor.permissions.has(Permission::SettingsManage) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let Some(mut row) = checked(conn, actor, form, None, &mut errors, at)? else { return Ok(Err(errors)) };
    row.client_secret_sealed = seal(form.client_secret.trim());
    let id = stored::insert(conn, &row, at)?;
    audit::record(
        conn,
        &actor.audit,
        "settings.provider_added",
        Event::new("provider", id, &row.name),
        details(&row, true),
    )?;
    Ok(Ok(id))
}

/// Changes a provider; an empty secret keeps the one it has.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    form: &ProviderForm,
    seal: impl Fn(&str) -> String,
    at: NaiveDateTime,
) -> Result<Result<(), FieldErrors>, AppError> {
    if !actor.permissions.has(Permission::SettingsManage) {
        return Err(AppError::Forbidden);
    }
    let current = stored::find(conn, id)?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    let Some(mut row) = checked(conn, actor, form, Some(id), &mut errors, at)? else { return Ok(Err(errors)) };
    let secret_changed = !form.client_secret.is_empty();
    row.client_secret_sealed =
        if secret_changed { seal(form.client_secret.trim()) } else { current.client_secret_sealed };
    stored::update(conn, id, &row)?;
    audit::record(
        conn,
        &actor.audit,
        "settings.provider_changed",
        Event::new("provider", id, &row.name),
        details(&row, secret_changed),
    )?;
    Ok(Ok(()))
}

/// Removes a provider and its links; its users keep their accounts (and sign in otherwise).
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    if !actor.permissions.has(Permission::SettingsManage) {
        return Err(AppError::Forbidden);
    }
    let current = stored::find(conn, id)?.ok_or(AppError::NotFound)?;
    stored::delete(conn, id)?;
    audit::record(
        conn,
        &actor.audit,
        "settings.provider_removed",
        Event::new("provider", id, &current.name),
        serde_json::json!({}),
    )?;
    Ok(current.name)
}

/// Records a right password refused because the user's group signs in through `provider`.
pub fn password_refused(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    typed: &str,
    user: &users::User,
    provider: &str,
) -> Result<(), AppError> {
    let details = serde_json::json!({ "email": typed, "reason": "provider required", "provider": provider });
    audit::record(conn, ctx, "sign_in.failed", Event::user(user.id, &user.email), details)
}

/// Who a provider's answer let in, or why not.
#[derive(Debug)]
pub enum Outcome {
    In {
        id: i64,
        stamp: String,
        ask_code: bool,
    },
    /// No active user to sign in (unknown, unverified, disabled, deleted, a refused domain).
    Refused,
    /// Too many refusals from this network lately.
    Locked,
}

/// Signs in the person a provider vouched for (its ID token already checked).
pub fn finish_sign_in(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    provider: &Provider,
    who: &Identity,
    source: String,
    at: NaiveDateTime,
) -> Result<Outcome, AppError> {
    let network = throttle::sign_in_source_key(&source);
    if throttle::locked(conn, &[&network], at)? {
        return Ok(Outcome::Locked);
    }
    let email = who.email.as_deref().filter(|_| who.email_verified).and_then(|e| Email::parse(e).ok());
    let linked = stored::linked_user(conn, provider.id, &who.subject)?;
    let (user, how) = match (linked, &email) {
        (Some(id), _) => (users::find(conn, id)?, "link"),
        (None, Some(email)) => match users::find_by_email(conn, email.as_str())? {
            Some(user) => (Some(user), "email"),
            None if provider.creates(email.as_str()) && provider.create_in_group_id.is_some() => {
                (Some(create_user(conn, ctx, provider, email, who)?), "created")
            }
            None => (None, "no user"),
        },
        (None, None) => (None, "no verified email"),
    };
    let Some(user) = user.filter(|u| u.status() == UserStatus::Active) else {
        let details = serde_json::json!({
            "provider": provider.name, "email": who.email, "reason": format!("provider sign-in refused ({how})"),
        });
        audit::record(conn, ctx, "sign_in.failed", Event::none(), details)?;
        throttle::record(conn, &network, throttle::SIGN_IN_SOURCE, at)?;
        return Ok(Outcome::Refused);
    };
    if linked.is_some() {
        stored::touch(conn, provider.id, &who.subject, at)?;
    } else {
        stored::link(conn, provider.id, &who.subject, user.id, &user.email, at)?;
        let details = serde_json::json!({ "provider": provider.name, "subject": who.subject });
        audit::record(
            conn,
            &ctx.as_actor(user.id),
            "user.provider_linked",
            Event::user(user.id, &user.email),
            details,
        )?;
    }
    // A code still to come: the sign-in is recorded when it is given (ops::two_step).
    let ask_code = provider.ask_second_factor && user.totp_secret.is_some();
    if !ask_code {
        users::record_sign_in(conn, user.id)?;
        let details = serde_json::json!({ "provider": provider.name });
        audit::record(conn, &ctx.as_actor(user.id), "sign_in", Event::user(user.id, &user.email), details)?;
    }
    Ok(Outcome::In { id: user.id, stamp: user.security_stamp, ask_code })
}

/// A user made on their first sign-in: active, without a password, in the provider's group.
fn create_user(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    provider: &Provider,
    email: &Email,
    who: &Identity,
) -> Result<users::User, AppError> {
    let group = provider.create_in_group_id.ok_or(AppError::NotFound)?;
    // The names the provider gives, when they are names; else the address's local part.
    let name = |n: &Option<String>| n.as_deref().and_then(|n| PersonName::parse(n).ok()).map(|n| n.as_str().to_owned());
    let local = email.as_str().split('@').next().unwrap_or_default().to_owned();
    let (first, last) = (name(&who.given_name).unwrap_or(local), name(&who.family_name).unwrap_or_default());
    let made =
        users::insert(conn, &users::NewUser::new(email.as_str().to_owned(), first, last, group, UserStatus::Active))?;
    let details = serde_json::json!({
        "email": made.email, "first_name": made.first_name, "last_name": made.last_name,
        "group_id": made.group_id, "status": made.status, "entry": "provider", "provider": provider.name,
    });
    audit::record(conn, &ctx.as_actor(made.id), "user.created", Event::user(made.id, &made.email), details)?;
    Ok(made)
}
