//! Organization settings: name, self-signup and its allowed domains, link lifetimes, session
//! lifetimes, the sender address, and a test email whose delivery the page reports.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::ManageSettings;
use crate::db::schema::outbox;
use crate::db::settings::{Settings, keys};
use crate::domain::FieldErrors;
use crate::domain::person_name::short_text;
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

/// Everything as typed, so a refused form shows it again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OrganizationForm {
    org_name: String,
    self_signup: String,
    signup_domains: String,
    invite_ttl_hours: String,
    password_reset_ttl_minutes: String,
    email_change_ttl_hours: String,
    session_idle_minutes: String,
    session_absolute_hours: String,
    mail_from: String,
    time_zone: String,
    audit_retention_days: String,
    impersonation_minutes: String,
    impersonation_mail: String,
    access_end_warning_days: String,
    dormant_days: String,
    dormant_disable: String,
    passkey_sign_in: String,
}

impl OrganizationForm {
    fn of(s: &Settings) -> Self {
        OrganizationForm {
            org_name: s.org_name.clone(),
            self_signup: if s.self_signup { "on".into() } else { String::new() },
            signup_domains: s.signup_domains.join(", "),
            invite_ttl_hours: s.invite_ttl_hours.to_string(),
            password_reset_ttl_minutes: s.password_reset_ttl_minutes.to_string(),
            email_change_ttl_hours: s.email_change_ttl_hours.to_string(),
            session_idle_minutes: s.session_idle_minutes.to_string(),
            session_absolute_hours: s.session_absolute_hours.to_string(),
            mail_from: s.mail_from.clone(),
            time_zone: s.time_zone.name().to_owned(),
            audit_retention_days: match s.audit_retention_days {
                0 => String::new(),
                days => days.to_string(),
            },
            impersonation_minutes: s.impersonation_minutes.to_string(),
            impersonation_mail: if s.impersonation_mail { "on".into() } else { String::new() },
            access_end_warning_days: s.access_end_warning_days.to_string(),
            dormant_days: s.dormant_days.to_string(),
            dormant_disable: if s.dormant_disable { "on".into() } else { String::new() },
            passkey_sign_in: if s.passkey_sign_in { "on".into() } else { String::new() },
        }
    }

    /// The settings to store as (key, value), or every field's message.
    fn parse(&self, errors: &mut FieldErrors) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(name) = errors.check("org_name", short_text(&self.org_name, 100, true)) {
            out.push((keys::ORG_NAME, name));
        }
        out.push((keys::SELF_SIGNUP, (self.self_signup == "on").to_string()));
        let mut domains = Vec::new();
        for d in self.signup_domains.split([',', '\n', ' ']).map(str::trim).filter(|d| !d.is_empty()) {
            let d = d.trim_start_matches('@').to_lowercase();
            let valid = d.contains('.')
                && d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !valid {
                errors.add("signup_domains", format!("{d:?} is not a domain like example.com."));
            }
            domains.push(d);
        }
        out.push((keys::SIGNUP_DOMAINS, domains.join(",")));
        let mut number = |field: &'static str, key: &'static str, raw: &str, min: i64, max: i64, unit: &str| match raw
            .trim()
            .parse::<i64>()
        {
            Ok(n) if (min..=max).contains(&n) => out.push((key, n.to_string())),
            _ => errors.add(field, format!("A whole number of {unit} from {min} to {max}.")),
        };
        number("invite_ttl_hours", keys::INVITE_TTL_HOURS, &self.invite_ttl_hours, 1, 24 * 30, "hours");
        number(
            "password_reset_ttl_minutes",
            keys::PASSWORD_RESET_TTL_MINUTES,
            &self.password_reset_ttl_minutes,
            5,
            24 * 60,
            "minutes",
        );
        number(
            "email_change_ttl_hours",
            keys::EMAIL_CHANGE_TTL_HOURS,
            &self.email_change_ttl_hours,
            1,
            24 * 7,
            "hours",
        );
        number(
            "session_idle_minutes",
            keys::SESSION_IDLE_MINUTES,
            &self.session_idle_minutes,
            5,
            24 * 60 * 30,
            "minutes",
        );
        number(
            "session_absolute_hours",
            keys::SESSION_ABSOLUTE_HOURS,
            &self.session_absolute_hours,
            1,
            24 * 90,
            "hours",
        );
        number("impersonation_minutes", keys::IMPERSONATION_MINUTES, &self.impersonation_minutes, 1, 30, "minutes");
        number("access_end_warning_days", keys::ACCESS_END_WARNING_DAYS, &self.access_end_warning_days, 1, 90, "days");
        number("dormant_days", keys::DORMANT_DAYS, &self.dormant_days, 7, 3650, "days");
        match self.mail_from.trim().parse::<lettre::message::Mailbox>() {
            Ok(m) => out.push((keys::MAIL_FROM, m.to_string())),
            Err(_) => errors.add("mail_from", "An address like Concierge <portal@example.com>."),
        }
        match crate::domain::time_zone(&self.time_zone) {
            Ok(zone) => out.push((keys::TIME_ZONE, zone.name().to_owned())),
            Err(message) => errors.add("time_zone", message),
        }
        out.push((keys::IMPERSONATION_MAIL, (self.impersonation_mail == "on").to_string()));
        out.push((keys::DORMANT_DISABLE, (self.dormant_disable == "on").to_string()));
        out.push((keys::PASSKEY_SIGN_IN, (self.passkey_sign_in == "on").to_string()));
        let least = crate::db::audit::KEPT_AT_LEAST_DAYS;
        match self.audit_retention_days.trim() {
            "" | "0" => out.push((keys::AUDIT_RETENTION_DAYS, "0".to_owned())),
            typed => match typed.parse::<i64>() {
                Ok(days) if (least..=36_500).contains(&days) => {
                    out.push((keys::AUDIT_RETENTION_DAYS, days.to_string()))
                }
                _ => errors.add(
                    "audit_retention_days",
                    format!("A whole number of days from {least} to 36500, or empty to keep events for ever."),
                ),
            },
        }
        out
    }
}

#[derive(Template)]
#[template(path = "organization/show.html")]
struct Page {
    layout: Layout,
    form: OrganizationForm,
    errors: FieldErrors,
    test_mail: Option<String>,
    is_owner: bool,
    /// Who owns the organization ("" before the owner is set up).
    owner: String,
}

/// The owner's label, "" when there is none yet.
fn owner_label(conn: &mut crate::db::DbConnection) -> Result<String, AppError> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let id: Option<i64> = users::table.filter(users::is_owner.eq(true)).select(users::id).first(conn).optional()?;
    crate::db::audit::label_of(conn, id)
}

#[derive(Deserialize)]
pub struct ShowParams {
    test_mail: Option<i64>,
}

/// What the page needs of a test mail: sent, failed, tries, last error, recipient.
type MailState = (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>, i32, Option<String>, String);

/// A test mail's delivery, as the page reports it.
fn delivery(conn: &mut crate::db::DbConnection, id: i64) -> Result<Option<String>, AppError> {
    let row: Option<MailState> = outbox::table
        .find(id)
        .filter(outbox::kind.eq("test"))
        .select((outbox::sent_at, outbox::failed_at, outbox::attempts, outbox::last_error, outbox::to_address))
        .first(conn)
        .optional()?;
    Ok(row.map(|(sent, failed, attempts, error, to)| match (sent, failed, error) {
        (Some(_), ..) => format!("The test email to {to} was sent."),
        (None, Some(_), e) => format!("The test email to {to} failed: {}", e.unwrap_or_default()),
        (None, None, Some(e)) => format!("The test email to {to} is retrying ({attempts} tries so far): {e}"),
        _ => format!("The test email to {to} is queued; refresh to see whether it went out."),
    }))
}

pub async fn show(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, AppError> {
    let test_id = params.test_mail;
    let (settings, test_mail, owner) = state
        .db
        .run(move |conn| {
            let test_mail = test_id.map(|id| delivery(conn, id)).transpose()?.flatten();
            Ok((Settings::load(conn)?, test_mail, owner_label(conn)?))
        })
        .await?;
    let page = Page {
        layout: user.layout("Organization", Tab::Organization),
        form: OrganizationForm::of(&settings),
        errors: FieldErrors::new(),
        test_mail,
        is_owner: user.acting().is_owner,
        owner,
    };
    render(StatusCode::OK, &page)
}

pub async fn update(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    form: web::Form<OrganizationForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let values = form.parse(&mut errors);
    if !errors.is_empty() {
        let owner = state.db.run(owner_label).await?;
        let layout = user.layout("Organization", Tab::Organization);
        let is_owner = user.acting().is_owner;
        let page = Page { layout, form, errors, test_mail: None, is_owner, owner };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let acting = user.acting();
    ops::apply(&state.db, move |conn| ops::organization::update(conn, &acting, &values)).await?;
    user.session.success("Organization settings saved.");
    Ok(see_other("/organization"))
}

/// Queues a test email to the acting administrator; the page then shows its delivery.
pub async fn test_email(state: web::Data<AppState>, user: Require<ManageSettings>) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let id = ops::apply(&state.db, move |conn| ops::organization::test_email(conn, &acting)).await?;
    state.mail_queued.notify_one();
    Ok(see_other(&format!("/organization?test_mail={id}")))
}

/// The first steps of a new portal, each ticked when done: shown on My Profile to those who
/// manage the settings until they dismiss it.
pub struct GetStarted {
    pub named: bool,
    pub mail_tested: bool,
    pub buildings: bool,
    pub people: bool,
}

impl GetStarted {
    /// None once dismissed.
    pub fn load(conn: &mut crate::db::DbConnection) -> Result<Option<GetStarted>, AppError> {
        use crate::db::schema::{audit_events, buildings, users};
        use crate::db::settings::{self, keys};
        use diesel::prelude::*;
        if settings::get(conn, keys::GET_STARTED)?.as_deref() == Some("dismissed") {
            return Ok(None);
        }
        let tested =
            audit_events::table.filter(audit_events::action.eq("settings.test_email")).select(audit_events::id);
        Ok(Some(GetStarted {
            named: settings::get(conn, keys::ORG_NAME)?.is_some(),
            mail_tested: settings::get(conn, keys::MAIL_FROM)?.is_some()
                && tested.first::<i64>(conn).optional()?.is_some(),
            buildings: buildings::table.select(buildings::id).first::<i64>(conn).optional()?.is_some(),
            people: users::table
                .filter(users::is_owner.eq(false))
                .select(users::id)
                .first::<i64>(conn)
                .optional()?
                .is_some(),
        }))
    }

    pub fn done(&self) -> usize {
        [self.named, self.mail_tested, self.buildings, self.people].iter().filter(|d| **d).count()
    }
}

/// Puts the Get started card away for everyone.
pub async fn dismiss_get_started(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let values = [(crate::db::settings::keys::GET_STARTED, "dismissed".to_owned())];
    ops::apply(&state.db, move |conn| ops::organization::update(conn, &acting, &values)).await?;
    user.session.success("The Get started card is put away. Everything it listed is on the Organization, Accounts & Buildings and Users tabs.");
    Ok(see_other("/profile"))
}

#[derive(Template)]
#[template(path = "organization/ownership.html")]
struct OwnershipPage {
    layout: Layout,
    candidates: Vec<(i64, String, bool)>,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnershipForm {
    new_owner: String,
    current_password: String,
}

async fn ownership_page(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    chosen: &str,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let owner_id = user.id;
    let candidates = state.db.run(move |conn| ops::ownership::candidates(conn, owner_id)).await?;
    let candidates = candidates
        .into_iter()
        .map(|u| (u.id, format!("{} ({})", u.full_name(), u.email), u.id.to_string() == chosen))
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = OwnershipPage { layout: user.layout("Hand over ownership", Tab::Organization), candidates, errors };
    render(status, &page)
}

/// The owner's page for handing the ownership to another administrator.
pub async fn ownership(state: web::Data<AppState>, user: Require<ManageSettings>) -> Result<HttpResponse, AppError> {
    if !user.acting().is_owner {
        return Err(AppError::Forbidden);
    }
    ownership_page(&state, &user, "", FieldErrors::new()).await
}

pub async fn hand_over(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    user: Require<ManageSettings>,
    form: web::Form<OwnershipForm>,
) -> Result<HttpResponse, AppError> {
    if !user.acting().is_owner {
        return Err(AppError::Forbidden);
    }
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let to = form.new_owner.trim().parse::<i64>().ok();
    if to.is_none() {
        errors.add("new_owner", "Choose an active administrator.");
    }
    let me_id = user.id;
    let me = state.db.run(move |conn| crate::db::users::find(conn, me_id)).await?.ok_or(AppError::NotFound)?;
    if form.current_password.is_empty() {
        errors.add("current_password", "Enter your password to confirm.");
    } else if !crate::web::profile::current_password_ok(&state, &req, &me, form.current_password).await? {
        errors.add("current_password", "This is not your current password.");
    }
    let (Some(to), true) = (to, errors.is_empty()) else {
        return ownership_page(&state, &user, &form.new_owner, errors).await;
    };
    let acting = user.acting();
    match ops::apply(&state.db, move |conn| ops::ownership::hand_over(conn, &acting, to)).await {
        Ok(new_owner) => {
            state.mail_queued.notify_one();
            user.session.success(format!("{} is now the owner.", new_owner.full_name()));
            Ok(see_other("/organization"))
        }
        Err(AppError::Unfit(message)) => {
            errors.add("new_owner", message);
            ownership_page(&state, &user, &form.new_owner, errors).await
        }
        Err(e) => Err(e),
    }
}
