//! My Profile: every signed-in user's own details and password.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::db::audit::{self, Target};
use crate::db::users;
use crate::domain::{FieldErrors, JobFunction, Password};
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

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
}

pub async fn show(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let me = state.db.run(move |conn| users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let page = ProfilePage {
        layout: user.layout("My Profile", Tab::Profile),
        name: me.full_name(),
        email: me.email,
        phone: me.phone,
        title: me.title,
        job_function: JobFunction::label_of(&me.job_function),
        group: user.group_name.clone(),
        is_owner: me.is_owner,
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
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let id = user.id;
    let me = state.db.run(move |conn| users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    if !state.hasher.verify(form.current_password, me.password_hash.clone()).await? {
        errors.add("current_password", "This is not your current password.");
    }
    let personal = [me.first_name.as_str(), me.last_name.as_str(), me.email.as_str()];
    let password = match Password::parse(&form.password, &form.password_confirm, &personal) {
        Err(m) if m.contains("not the same") => {
            errors.add("password_confirm", m);
            None
        }
        other => errors.check("password", other),
    };
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        let page = PasswordPage {
            layout: user.layout("Change password", Tab::Profile),
            required: user.must_change_password,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let ctx = user.audit.clone();
    let email = me.email.clone();
    let first_name = me.first_name.clone();
    let stamp = state
        .db
        .transaction(move |conn| {
            let stamp = users::set_password(conn, id, &hash)?;
            let settings = crate::db::settings::Settings::load(conn)?;
            let notice = crate::mail::messages::password_changed(&settings, &email, &first_name)?;
            crate::db::outbox::enqueue(conn, &notice)?;
            audit::record(conn, &ctx, "user.password_changed", Target::user(id, &email), serde_json::json!({}))?;
            Ok(stamp)
        })
        .await?;
    state.mail_queued.notify_one();
    // This session goes on under a new cookie; every other session of the user ends.
    user.session.set_security_stamp(&stamp)?;
    user.session.success("Your password was changed. You were signed out everywhere else.");
    Ok(see_other("/profile"))
}
