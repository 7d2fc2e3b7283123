//! Disable, enable, delete (soft, after a confirmation), restore, and resend an invite.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::Require;
use crate::auth::current_user::{ManageUsers, SendInvites};
use crate::domain::UserStatus;
use crate::domain::rules::Action;
use crate::error::AppError;
use crate::ops::users::StatusChange;
use crate::ops::{self, Target};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{flash_outcome, render, see_other};

/// Disable, enable, delete or restore: the last segment of the path names the change; a
/// refusal becomes a flash on the user's page.
pub async fn change_status(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    req: actix_web::HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let change = req.path().rsplit('/').next().and_then(StatusChange::parse).ok_or(AppError::NotFound)?;
    let acting = user.acting();
    let outcome = crate::ops::apply(&state.db, move |conn| ops::users::change_status(conn, &acting, id, change))
        .await
        .map(|target| change.done(&target.user.full_name()));
    flash_outcome(&user.session, outcome)?;
    Ok(see_other(&format!("/users/{id}")))
}

#[derive(Template)]
#[template(path = "users/delete.html")]
struct DeletePage {
    layout: Layout,
    id: i64,
    name: String,
    email: String,
}

/// The confirmation that names the user; Cancel returns to their page unchanged.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let target = state.db.run(move |conn| Target::load(conn, id)).await?;
    if let Err(e) = user.acting().may(Action::Delete, &target) {
        flash_outcome(&user.session, Err(e))?;
        return Ok(see_other(&format!("/users/{id}")));
    }
    if target.user.status() == UserStatus::Deleted {
        return Ok(see_other(&format!("/users/{id}")));
    }
    let page = DeletePage {
        layout: user.layout(format!("Delete {}", target.user.full_name()), Tab::Users),
        id,
        name: target.user.full_name(),
        email: target.user.email,
    };
    render(StatusCode::OK, &page)
}

pub async fn resend_invite(
    state: web::Data<AppState>,
    user: Require<SendInvites>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let outcome = crate::ops::apply(&state.db, move |conn| ops::users::resend_invite(conn, &acting, id, &public_url))
        .await
        .map(|t| format!("A new invitation is on its way to {}; earlier links no longer work.", t.user.email));
    if flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/users/{id}")))
}
/// From a user's page: an administrator (or Support) sends a reset link; no password is shown.
pub async fn send_reset(
    state: web::Data<AppState>,
    user: crate::auth::Require<crate::auth::current_user::ResetPasswords>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let outcome = crate::ops::apply(&state.db, move |conn| {
        crate::ops::users::send_password_reset(conn, &acting, id, &public_url)
    })
    .await
    .map(|t| format!("A password-reset link is on its way to {}.", t.user.email));
    if crate::web::flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/users/{id}")))
}

/// From a user's page: an administrator turns off the user's two-step sign-in (a lost phone);
/// the user's sessions end and they are told by mail.
pub async fn reset_two_step(
    state: web::Data<AppState>,
    user: crate::auth::Require<crate::auth::current_user::ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = crate::ops::apply(&state.db, move |conn| ops::two_step::reset(conn, &acting, id))
        .await
        .map(|t| format!("Two-step sign-in is off for {}; they were signed out and told by mail.", t.user.full_name()));
    if flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/users/{id}")))
}
