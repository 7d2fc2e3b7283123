//! Sign in as this user: an administrator sees the portal as a (non-admin, active) user does.
//! The session remembers who is behind it; it reaches no admin screen, and every event it
//! causes names the administrator as the impersonator.

use actix_web::{HttpResponse, web};

use super::{check, load_target};
use crate::auth::current_user::ImpersonateUsers;
use crate::auth::{CurrentUser, Require};
use crate::db::audit::{self, Target};
use crate::db::users;
use crate::domain::UserStatus;
use crate::domain::reach::Action;
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::see_other;

pub async fn start(
    state: web::Data<AppState>,
    user: Require<ImpersonateUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let ctx = user.audit.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let target = load_target(conn, id)?;
            if let Err(m) = check(&acting, &target, Action::Impersonate) {
                return Ok(Err(m));
            }
            if target.user.status() != UserStatus::Active {
                return Ok(Err("Only an active user can be signed in as."));
            }
            audit::record(
                conn,
                &ctx,
                "impersonation.started",
                Target::user(id, &target.user.email),
                serde_json::json!({}),
            )?;
            Ok(Ok(target.user))
        })
        .await?;
    match outcome {
        Ok(target) => {
            user.session.impersonate(target.id, &target.security_stamp, user.id)?;
            user.session.success(format!("You are now signed in as {}. Use the banner to return.", target.full_name()));
            Ok(see_other("/settings"))
        }
        Err(m) => {
            user.session.error(m);
            Ok(see_other(&format!("/users/{id}")))
        }
    }
}

/// Back to the administrator's own account (who must still be active).
pub async fn stop(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let Some(admin_id) = user.impersonator_id else {
        return Ok(see_other("/settings"));
    };
    let (impersonated, ctx) = (user.id, user.audit.clone());
    let email = user.email.clone();
    let admin = state
        .db
        .transaction(move |conn| {
            let admin = users::find(conn, admin_id)?.filter(|a| a.status() == UserStatus::Active);
            let mut ctx = ctx.as_actor(admin_id);
            ctx.impersonator_id = None;
            audit::record(
                conn,
                &ctx,
                "impersonation.stopped",
                Target::user(impersonated, &email),
                serde_json::json!({}),
            )?;
            Ok(admin)
        })
        .await?;
    match admin {
        Some(admin) => {
            user.session.sign_in(admin.id, &admin.security_stamp)?;
            user.session.success("You are back in your own account.");
            Ok(see_other(&format!("/users/{impersonated}")))
        }
        None => {
            user.session.sign_out();
            Ok(see_other("/sign-in"))
        }
    }
}
