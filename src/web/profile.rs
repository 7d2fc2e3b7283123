//! My Profile: every signed-in user's own details and password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;

use crate::db::users;
use crate::domain::{Email, FieldErrors, JobFunction};
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{refuse_impersonated, render, see_other};

pub async fn settings(_user: CurrentUser) -> HttpResponse {
    see_other("/profile")
}

#[derive(Template)]
#[template(path = "profile/show.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    email: String,
    phone: String,
    title: String,
    job_function: &'static str,
    group: String,
    is_owner: bool,
    notifications: &'static str,
    time_zone: String,
    get_started: Option<crate::web::organization::GetStarted>,
    two_step: bool,
    sessions: Vec<crate::web::sessions::SessionView>,
    /// Whether the sessions can be signed out from here (not while an administrator acts as
    /// the user).
    mine: bool,
}

pub async fn show(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (id, current, zone, now) = (user.id, user.session_id, user.time_zone, state.config.clock.now());
    // Those who set the portal up see what is left to do, until they put the card away.
    let guide = user.can(crate::domain::Permission::SettingsManage) && user.impersonator_id.is_none();
    let (me, get_started, sessions) = state
        .db
        .run(move |conn| {
            let get_started = if guide { crate::web::organization::GetStarted::load(conn)? } else { None };
            let sessions = crate::web::sessions::of_user(conn, id, current, zone, now)?;
            Ok((users::find(conn, id)?, get_started, sessions))
        })
        .await?;
    let me = me.ok_or(AppError::NotFound)?;
    let page = ProfilePage {
        get_started,
        sessions,
        mine: user.impersonator_id.is_none(),
        two_step: me.totp_secret.is_some(),
        time_zone: match me.time_zone.as_str() {
            "" => format!("The organization's ({})", user.time_zone.name()),
            own => own.to_owned(),
        },
        layout: user.layout("My Profile", Tab::Profile),
        name: me.full_name(),
        email: me.email,
        phone: me.phone,
        title: me.title,
        job_function: JobFunction::label_of(&me.job_function),
        group: user.group_name.clone(),
        is_owner: me.is_owner,
        notifications: NOTIFICATIONS.iter().find(|(v, _)| *v == me.notification_preference).map_or("", |(_, l)| l),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "profile/password.html")]
struct PasswordPage {
    layout: Layout,
    required: bool,
    errors: FieldErrors,
}

pub async fn password_page(user: CurrentUser) -> Result<HttpResponse, AppError> {
    let page = PasswordPage {
        layout: user.layout("Change password", Tab::Profile),
        required: user.must_change_password,
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    password: String,
    password_confirm: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their password or email") {
        return Ok(refused);
    }
    let form = form.into_inner();
    let id = user.id;
    let me = state.db.run(move |conn| users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    if !current_password_ok(&state, &req, &me, form.current_password).await? {
        errors.add("current_password", "This is not your current password.");
    }
    let personal = [me.first_name.as_str(), me.last_name.as_str(), me.email.as_str()];
    let password = state.hasher.judge_fields(&form.password, &form.password_confirm, &personal, &mut errors).await?;
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        let page = PasswordPage {
            layout: user.layout("Change password", Tab::Profile),
            required: user.must_change_password,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let (acting, session_id) = (user.acting(), user.session_id);
    let stamp =
        ops::apply(&state.db, move |conn| ops::profile::change_password(conn, &acting, &hash, session_id)).await;
    let stamp = match stamp {
        Err(AppError::Unfit(message)) => {
            user.session.error(message);
            return Ok(see_other("/profile"));
        }
        other => other?,
    };
    state.mail_queued.notify_one();
    // This session goes on under a new cookie; every other session of the user ends.
    user.session.set_security_stamp(&stamp)?;
    user.session.success("Your password was changed. You were signed out everywhere else.");
    Ok(see_other("/profile"))
}

/// What a user edits of themselves, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OwnForm {
    first_name: String,
    last_name: String,
    phone: String,
    title: String,
    job_function: String,
    notification_preference: String,
    /// An IANA name, or empty for the organization's.
    #[serde(default)]
    time_zone: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// Which mail a user gets beyond what security requires.
pub const NOTIFICATIONS: [(&str, &str); 2] =
    [("all", "All mail from the portal"), ("security", "Only mail about my account's security")];

#[derive(Template)]
#[template(path = "profile/edit.html")]
struct EditPage {
    layout: Layout,
    form: OwnForm,
    errors: FieldErrors,
    jobs: Vec<Choice>,
    notifications: Vec<Choice>,
}

fn edit_page(user: &CurrentUser, form: OwnForm, errors: FieldErrors) -> EditPage {
    EditPage {
        layout: user.layout("Edit my profile", Tab::Profile),
        jobs: JobFunction::ALL
            .into_iter()
            .map(|j| Choice { value: j.key(), label: j.label(), selected: j.key() == form.job_function })
            .collect(),
        notifications: NOTIFICATIONS
            .into_iter()
            .map(|(value, label)| Choice { value, label, selected: value == form.notification_preference })
            .collect(),
        form,
        errors,
    }
}

pub async fn edit(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let me = state.db.run(move |conn| users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let form = OwnForm {
        first_name: me.first_name,
        last_name: me.last_name,
        phone: me.phone,
        title: me.title,
        job_function: me.job_function,
        notification_preference: me.notification_preference,
        time_zone: me.time_zone,
    };
    render(StatusCode::OK, &edit_page(&user, form, FieldErrors::new()))
}

pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<OwnForm>,
) -> Result<HttpResponse, AppError> {
    use crate::domain::person_name::short_text;
    use crate::domain::{PersonName, Phone};
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let first = errors.check("first_name", PersonName::parse(&form.first_name));
    let last = errors.check("last_name", PersonName::parse(&form.last_name));
    let phone = errors.check("phone", Phone::parse(&form.phone));
    let title = errors.check("title", short_text(&form.title, 100, true));
    let job = errors.check("job_function", JobFunction::parse(&form.job_function));
    if !NOTIFICATIONS.iter().any(|(v, _)| *v == form.notification_preference) {
        errors.add("notification_preference", "Choose which mail you want.");
    }
    let time_zone = match form.time_zone.trim() {
        "" => Some(String::new()),
        typed => errors.check("time_zone", crate::domain::time_zone(typed)).map(|z| z.name().to_owned()),
    };
    let (Some(first), Some(last), Some(phone), Some(title), Some(job), Some(time_zone), true) =
        (first, last, phone, title, job, time_zone, errors.is_empty())
    else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &edit_page(&user, form, errors));
    };
    let info = ops::profile::OwnInfo {
        first_name: first,
        last_name: last,
        phone,
        title,
        job_function: job,
        notification_preference: form.notification_preference.clone(),
        time_zone,
    };
    let acting = user.acting();
    ops::apply(&state.db, move |conn| ops::profile::update(conn, &acting, &info)).await?;
    user.session.success("Your profile was saved.");
    Ok(see_other("/profile"))
}

#[derive(Template)]
#[template(path = "profile/email.html")]
struct EmailPage {
    layout: Layout,
    current: String,
    email: String,
    email_confirm: String,
    errors: FieldErrors,
}

pub async fn email_page(user: CurrentUser) -> Result<HttpResponse, AppError> {
    let page = EmailPage {
        layout: user.layout("Change email", Tab::Profile),
        current: user.email.clone(),
        email: String::new(),
        email_confirm: String::new(),
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct EmailForm {
    current_password: String,
    email: String,
    email_confirm: String,
}

/// Asks for an email change: a link to the new address, a notice to the old one.
pub async fn request_email_change(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their password or email") {
        return Ok(refused);
    }
    let form = form.into_inner();
    let id = user.id;
    let me = state.db.run(move |conn| crate::db::users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    if !current_password_ok(&state, &req, &me, form.current_password).await? {
        errors.add("current_password", "This is not your current password.");
    }
    let email = errors.check("email", Email::parse(&form.email));
    if let Some(email) = &email {
        if form.email.trim().to_lowercase() != form.email_confirm.trim().to_lowercase() {
            errors.add("email_confirm", "The two addresses are not the same.");
        } else if email.as_str() == me.email {
            errors.add("email", "This is your current address already.");
        }
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        let page = EmailPage {
            layout: user.layout("Change email", Tab::Profile),
            current: me.email,
            email: form.email,
            email_confirm: form.email_confirm,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let requested =
        ops::apply(&state.db, move |conn| ops::profile::request_email_change(conn, &acting, &email, &public_url)).await;
    if let Err(AppError::Unfit(message)) = requested {
        user.session.error(message);
        return Ok(see_other("/profile"));
    }
    requested?;
    state.mail_queued.notify_one();
    user.session.success("We sent a confirmation link to the new address. Your email changes when it is followed.");
    Ok(see_other("/profile"))
}

/// Checks the user's current password as sign-in does: not at all while the address is locked
/// from this network, and a wrong one counts toward that lock, so a stolen session cannot try
/// passwords without end.
pub(crate) async fn current_password_ok(
    state: &AppState,
    req: &HttpRequest,
    me: &users::User,
    typed: String,
) -> Result<bool, AppError> {
    use crate::ops::sessions::Attempt;
    let source = crate::auth::client::source_key(crate::auth::client::of_request(req));
    let attempt = std::sync::Arc::new(Attempt::new(me.email.clone(), source, crate::db::now()));
    let checking = attempt.clone();
    if state.db.run(move |conn| checking.locked(conn)).await? {
        return Ok(false);
    }
    if state.hasher.verify(typed, me.password_hash.clone()).await? {
        return Ok(true);
    }
    let (ctx, me) = (crate::db::audit::AuditContext::from_request(req, Some(me.id), None), me.clone());
    let locks =
        ops::apply(&state.db, move |conn| ops::sessions::failed(conn, &ctx, &attempt, Some(&me), false)).await?;
    state.metrics.sign_in_failures.inc();
    if locks {
        state.metrics.sign_in_lockouts.inc();
    }
    Ok(false)
}
