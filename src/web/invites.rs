//! Pending invites: one row per invitation — who, group, sent by, when, expiry, whether the
//! mail arrived, Signup completed (this link was used) and User created (the person has an
//! account, however it got there) — with resend and revoke. A resent invitation replaces the
//! one before it, which is listed only on asking ("Show replaced invitations").

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::SendInvites;
use crate::db::tokens::{self, Purpose};
use crate::domain::UserStatus;
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::users::when;
use crate::web::{flash_outcome, render, see_other};

const PER_PAGE: i64 = 50;

struct Row {
    id: i64,
    user_id: i64,
    email: String,
    group: String,
    sent_by: String,
    sent_at: String,
    expires_at: String,
    delivery: String,
    state: &'static str,
    signup_completed: bool,
    /// "Yes", "No", or "Deleted".
    user_created: &'static str,
    open: bool,
    can_resend: bool,
}

#[derive(Template)]
#[template(path = "invites/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    next_href: Option<String>,
    replaced_too: bool,
}

#[derive(Deserialize)]
pub struct ListParams {
    before: Option<i64>,
    #[serde(default)]
    replaced: String,
}

pub async fn list(
    state: web::Data<AppState>,
    user: Require<SendInvites>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    // The list names people: seeing it is seeing users.
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let before = params.before;
    let zone = user.time_zone;
    let replaced_too = params.replaced == "1";
    let rows = state.db.run(move |conn| tokens::all_invites(conn, before, replaced_too, PER_PAGE + 1)).await?;
    let more = rows.len() as i64 > PER_PAGE;
    let rows: Vec<Row> = rows
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|r| {
            let state = r.invite.state();
            Row {
                id: r.invite.id,
                user_id: r.user_id,
                email: r.invite.email.clone().unwrap_or_default(),
                group: r.group_name,
                sent_by: r.invite.sent_by.clone().unwrap_or_else(|| "—".into()),
                sent_at: when(Some(r.invite.created_at), zone),
                expires_at: when(Some(r.invite.expires_at), zone),
                delivery: r.invite.delivery(),
                signup_completed: r.invite.used_at.is_some(),
                user_created: match UserStatus::parse(&r.user_status) {
                    Some(UserStatus::Active | UserStatus::Disabled) => "Yes",
                    Some(UserStatus::Deleted) => "Deleted",
                    _ => "No",
                },
                open: state == "Open",
                can_resend: r.user_status == UserStatus::Invited.as_str(),
                state: if state == "Superseded" { "Replaced" } else { state },
            }
        })
        .collect();
    let replaced = if replaced_too { "&replaced=1" } else { "" };
    let next_href = rows.last().filter(|_| more).map(|r| format!("/invites?before={}{replaced}", r.id));
    let page = ListPage { layout: user.layout("Pending invites", Tab::Users), rows, next_href, replaced_too };
    render(StatusCode::OK, &page)
}

/// Sends the invitee a new link (superseding this one) — the Resend Invite of the seeds.
pub async fn resend(
    state: web::Data<AppState>,
    user: Require<SendInvites>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let token_id = path.into_inner();
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let outcome = ops::apply(&state.db, move |conn| {
        let token = tokens::find(conn, token_id)?.filter(|t| t.purpose == Purpose::Invite.as_str());
        let user_id = token.and_then(|t| t.user_id).ok_or(AppError::NotFound)?;
        ops::users::resend_invite(conn, &acting, user_id, &public_url)
    })
    .await
    .map(|t| format!("A new invitation is on its way to {}.", t.user.email));
    if flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other("/invites"))
}

/// Withdraws a link that was not used yet.
pub async fn revoke(
    state: web::Data<AppState>,
    user: Require<SendInvites>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let token_id = path.into_inner();
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| ops::users::revoke_invite(conn, &acting, token_id))
        .await
        .map(|t| format!("The invitation to {} was revoked; its link no longer works.", t.user.email));
    flash_outcome(&user.session, outcome)?;
    Ok(see_other("/invites"))
}
