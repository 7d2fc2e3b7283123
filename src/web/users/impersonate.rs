//! Sign in as this user, in the open: an administrator says why, the user is mailed (unless the
//! organization turned that off), the session lasts the organization's limit at most (30
//! minutes), a banner on every page says whose account it is, who is behind it and the time
//! left, and every event it causes names both. It reaches no admin screen.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::current_user::ImpersonateUsers;
use crate::auth::{CurrentUser, Require};
use crate::domain::FieldErrors;
use crate::domain::rules::Action;
use crate::error::AppError;
use crate::ops::{self, Target};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{flash_outcome, render, see_other};

#[derive(Template)]
#[template(path = "users/impersonate.html")]
struct StartPage {
    layout: Layout,
    id: i64,
    name: String,
    email: String,
    minutes: i64,
    mailed: bool,
    reason: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartForm {
    reason: String,
}

/// The reason as kept: one line, without control characters.
fn reason_of(typed: &str, errors: &mut FieldErrors) -> String {
    let reason: String = typed.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.chars().count() < 3 {
        errors.add("reason", "Say why you sign in as them: it is kept in the audit log and mailed to them.");
    } else if reason.chars().count() > 300 {
        errors.add("reason", "At most 300 characters.");
    }
    reason
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    reason: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let (target, settings) = state
        .db
        .run(move |conn| {
            let target = Target::load(conn, id)?;
            acting.may(Action::Impersonate, &target)?;
            Ok((target, crate::db::settings::Settings::load(conn)?))
        })
        .await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = StartPage {
        layout: user.layout(format!("Sign in as {}", target.user.full_name()), Tab::Users),
        id,
        name: target.user.full_name(),
        email: target.user.email.clone(),
        minutes: settings.impersonation_minutes,
        mailed: settings.impersonation_mail,
        reason,
        errors,
    };
    render(status, &page)
}

pub async fn start_page(
    state: web::Data<AppState>,
    user: Require<ImpersonateUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    page(&state, &user, path.into_inner(), String::new(), FieldErrors::new()).await
}

pub async fn start(
    state: web::Data<AppState>,
    user: Require<ImpersonateUsers>,
    path: web::Path<i64>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut errors = FieldErrors::new();
    let reason = reason_of(&form.reason, &mut errors);
    if !errors.is_empty() {
        let typed: String = form.reason.chars().filter(|c| !c.is_control()).take(300).collect();
        return page(&state, &user, id, typed, errors).await;
    }
    let (acting, at) = (user.acting(), state.config.clock.now());
    let outcome = ops::apply(&state.db, move |conn| {
        let (target, minutes) = ops::users::start_impersonation(conn, &acting, id, &reason)?;
        let whom = (target.user.id, target.user.security_stamp.as_str());
        let key = ops::sessions::start(conn, &acting.audit, whom, (Some(acting.id), None), at, &[])?;
        Ok((target, minutes, key))
    })
    .await;
    match outcome {
        Ok((target, minutes, key)) => {
            state.mail_queued.notify_one();
            let now = state.config.clock.timestamp();
            let whom = (target.user.id, target.user.security_stamp.as_str(), key.as_str());
            user.session.impersonate(whom, &user.cookie, now)?;
            user.session.success(format!(
                "You are now signed in as {}, for {minutes} minutes at most. Use the banner to return.",
                target.user.full_name(),
            ));
            Ok(see_other("/settings"))
        }
        Err(e) => {
            flash_outcome(&user.session, Err(e))?;
            Ok(see_other(&format!("/users/{id}")))
        }
    }
}

/// Back to the administrator's own session, as it was when they began: the extractor has
/// already checked that it still stands (their stamp, status and permission).
pub async fn stop(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let Some(admin_id) = user.impersonator_id else {
        return Ok(see_other("/settings"));
    };
    let (impersonated, ctx, session_id) = (user.id, user.audit.clone(), user.session_id);
    ops::apply(&state.db, move |conn| {
        let user = crate::db::users::find(conn, impersonated)?.ok_or(AppError::NotFound)?;
        ops::sessions::impersonation_stopped(conn, &ctx, (admin_id, &user, session_id), "returned")
    })
    .await?;
    user.session.resume(&user.cookie)?;
    user.session.success("You are back in your own account.");
    Ok(see_other(&format!("/users/{impersonated}")))
}
