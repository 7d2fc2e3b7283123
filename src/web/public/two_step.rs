//! The second step of signing in: the code of the authenticator app, or a recovery code, within
//! five minutes of the right password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::SecondStep as Pending;
use crate::auth::{SessionState, client};
use crate::db::audit::AuditContext;
use crate::error::AppError;
use crate::ops::two_step::{Outcome, SecondStep, WRONG_CODE};
use crate::state::AppState;
use crate::web::layout::Layout;
use crate::web::{render, see_other};

/// How long after the password the code may come.
const PATIENCE: i64 = 5 * 60;

#[derive(Template)]
#[template(path = "public/two_step.html")]
struct CodePage {
    layout: Layout,
    error: &'static str,
    /// Whether "Use a passkey" is offered (the user has one, the portal has a host name).
    passkeys: bool,
}

/// Whether the user signing in can answer with a passkey.
async fn has_passkeys(state: &AppState, user_id: i64) -> Result<bool, AppError> {
    if state.passkeys.is_none() {
        return Ok(false);
    }
    Ok(state.db.run(move |conn| crate::db::passkeys::count_of(conn, user_id)).await? > 0)
}

pub(crate) fn pending(state: &AppState, session: &SessionState) -> Option<Pending> {
    let now = state.config.clock.timestamp();
    session.second_step().filter(|p| (p.at..=p.at + PATIENCE).contains(&now))
}

pub(crate) fn start_again(session: &SessionState, message: &str) -> HttpResponse {
    session.forget_second_step();
    session.error(message);
    see_other("/sign-in")
}

pub async fn page(state: web::Data<AppState>, session: SessionState) -> Result<HttpResponse, AppError> {
    let Some(waiting) = pending(&state, &session) else {
        session.forget_second_step();
        return Ok(see_other("/sign-in"));
    };
    let passkeys = has_passkeys(&state, waiting.user_id).await?;
    let layout = super::sign_in::public_layout(&state, &session, "Two-step sign-in").await?;
    render(StatusCode::OK, &CodePage { layout, error: "", passkeys })
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn submit(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(waiting) = pending(&state, &session) else {
        return Ok(start_again(&session, "That sign-in waited too long for its code. Sign in again."));
    };
    let user_id = waiting.user_id;
    let typed: String = form.into_inner().code.chars().take(64).collect();
    let ctx = AuditContext::from_request(&req, None, None);
    let source = client::source_key(client::of_request(&req));
    let code_time = state.config.clock.timestamp();
    let outcome = crate::ops::apply(&state.db, move |conn| {
        crate::ops::two_step::finish_sign_in(conn, &ctx, &waiting, &typed, code_time, source)
    })
    .await?;
    match outcome {
        Outcome::In { id, stamp, how } => {
            let next = session.second_step().map(|p| p.next).unwrap_or_else(|| "/settings".into());
            crate::web::begin_session(&state, &session, &req, id, &stamp).await?;
            if let SecondStep::RecoveryCode { left } = how {
                state.mail_queued.notify_one();
                session.success(format!(
                    "You signed in with a recovery code; {left} left. Set up your app again on My Profile, or renew the codes there."
                ));
            }
            Ok(see_other(crate::web::safe_next(Some(&next))))
        }
        Outcome::Refused(locks) => {
            state.metrics.sign_in_failures.inc();
            if locks {
                state.metrics.sign_in_lockouts.inc();
            }
            let layout = super::sign_in::public_layout(&state, &session, "Two-step sign-in").await?;
            let passkeys = has_passkeys(&state, user_id).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &CodePage { layout, error: WRONG_CODE, passkeys })
        }
        Outcome::Locked => Ok(start_again(&session, "Too many wrong codes. Sign in again in 15 minutes.")),
        Outcome::Gone => Ok(start_again(&session, "That sign-in can't go on. Sign in again.")),
    }
}
