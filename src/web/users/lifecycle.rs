//! Disable, enable, delete (soft, after a confirmation), restore, and resend an invite.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Target as UserTarget, check, load_target};
use crate::auth::current_user::{ManageUsers, SendInvites};
use crate::auth::{CurrentUser, Require};
use crate::db::audit::{self, Target};
use crate::db::{DbConnection, users};
use crate::domain::UserStatus;
use crate::domain::reach::Action;
use crate::error::AppError;
use crate::invites::{self, InviteOptions};
use crate::startup::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

/// A status change's result: a message for the page, or why it was refused.
type Outcome = Result<Result<String, &'static str>, AppError>;

/// Runs one status change in a transaction: loads the user, checks the rule and the status it
/// must have, writes, audits; a refusal becomes a flash on the user's page.
async fn change_status(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: i64,
    action: Action,
    apply: fn(&mut DbConnection, &UserTarget) -> Outcome,
) -> Result<HttpResponse, AppError> {
    let ctx = user.audit.clone();
    let acting = user.acting();
    let outcome = state
        .db
        .transaction(move |conn| {
            let target = load_target(conn, id)?;
            if let Err(m) = check(&acting, &target, action) {
                return Ok(Err(m));
            }
            let outcome = apply(conn, &target)?;
            if outcome.is_ok() {
                let after = users::find(conn, id)?.map(|u| u.status);
                let name = format!("user.{}", format!("{action:?}").to_lowercase());
                audit::record(
                    conn,
                    &ctx,
                    &name,
                    Target::user(id, &target.user.email),
                    serde_json::json!({ "before": { "status": target.user.status }, "after": { "status": after } }),
                )?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        Ok(message) => user.session.success(message),
        Err(refusal) => {
            user.session.error(refusal);
            return Ok(HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, format!("/users/{id}")))
                .finish());
        }
    }
    Ok(see_other(&format!("/users/{id}")))
}

fn set(
    conn: &mut DbConnection,
    target: &UserTarget,
    from: &[UserStatus],
    to: UserStatus,
    done: &str,
) -> Result<Result<String, &'static str>, AppError> {
    if !from.contains(&target.user.status()) {
        return Ok(Err("The user's status changed meanwhile; nothing was done."));
    }
    users::set_status(conn, target.user.id, to)?;
    Ok(Ok(format!("{} {done}", target.user.full_name())))
}

pub async fn disable(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    change_status(state, user.into_user(), path.into_inner(), Action::Disable, |conn, t| {
        set(
            conn,
            t,
            &[UserStatus::Active, UserStatus::Invited],
            UserStatus::Disabled,
            "is disabled and was signed out everywhere.",
        )
    })
    .await
}

pub async fn enable(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    change_status(state, user.into_user(), path.into_inner(), Action::Enable, |conn, t| {
        // Someone who never set a password goes back to being invited.
        let to = if t.user.password_hash.is_some() { UserStatus::Active } else { UserStatus::Invited };
        set(conn, t, &[UserStatus::Disabled], to, "is enabled.")
    })
    .await
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    change_status(state, user.into_user(), path.into_inner(), Action::Delete, |conn, t| {
        let all = [UserStatus::Invited, UserStatus::Active, UserStatus::Disabled];
        let outcome =
            set(conn, t, &all, UserStatus::Deleted, "was deleted. Their history is kept, and they can be restored.")?;
        if outcome.is_ok() {
            crate::db::tokens::supersede_unused(conn, crate::db::tokens::Purpose::Invite, Some(t.user.id))?;
        }
        Ok(outcome)
    })
    .await
}

pub async fn restore(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    change_status(state, user.into_user(), path.into_inner(), Action::Restore, |conn, t| {
        set(
            conn,
            t,
            &[UserStatus::Deleted],
            UserStatus::Disabled,
            "was restored as disabled: enable them when they should sign in again.",
        )
    })
    .await
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
    let target = state.db.run(move |conn| load_target(conn, id)).await?;
    if let Err(m) = check(&user.acting(), &target, Action::Delete) {
        user.session.error(m);
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
    let user = user.into_user();
    let ctx = user.audit.clone();
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let target = load_target(conn, id)?;
            if let Err(m) = check(&acting, &target, Action::ResendInvite) {
                return Ok(Err(m.to_owned()));
            }
            if target.user.status() != UserStatus::Invited {
                return Ok(Err(format!("{} is not waiting for an invitation.", target.user.full_name())));
            }
            invites::send(conn, &ctx, &public_url, id, &InviteOptions::default())?;
            Ok(Ok(format!("A new invitation is on its way to {}; earlier links no longer work.", target.user.email)))
        })
        .await?;
    if user.session.outcome(outcome) {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/users/{id}")))
}
