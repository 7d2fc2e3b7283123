//! Sign in as this user: an administrator sees the portal as a (non-admin, active) user does.
//! The session remembers who is behind it; it reaches no admin screen, and every event it
//! causes names the administrator as the impersonator.

use actix_web::{HttpResponse, web};

use crate::auth::current_user::ImpersonateUsers;
use crate::auth::{CurrentUser, Require};
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::{flash_outcome, see_other};

pub async fn start(
    state: web::Data<AppState>,
    user: Require<ImpersonateUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| ops::users::start_impersonation(conn, &acting, id)).await;
    match outcome {
        Ok(target) => {
            user.session.impersonate(target.user.id, &target.user.security_stamp, &user.cookie)?;
            user.session.success(format!(
                "You are now signed in as {}, for {} minutes at most. Use the banner to return.",
                target.user.full_name(),
                crate::auth::session::IMPERSONATION_MINUTES
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
    let (impersonated, ctx) = (user.id, user.audit.clone());
    ops::apply(&state.db, move |conn| {
        let user = crate::db::users::find(conn, impersonated)?.ok_or(AppError::NotFound)?;
        ops::sessions::impersonation_stopped(conn, &ctx, admin_id, &user)
    })
    .await?;
    user.session.resume(&user.cookie)?;
    user.session.success("You are back in your own account.");
    Ok(see_other(&format!("/users/{impersonated}")))
}
