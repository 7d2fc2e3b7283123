//! Passkeys on the screens: My Profile → Two-step sign-in lists them, adds one (a name and the
//! password, then the browser's own dialog) and removes one; the second step of signing in
//! offers "Use a passkey". The browser's part is `static/app.js`; without it, codes still work.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentUser, SessionState, client};
use crate::db::DbConnection;
use crate::db::audit::AuditContext;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ops;
use crate::ops::two_step::Outcome;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::profile::current_password_ok;
use crate::web::refuse_impersonated;
use crate::web::two_step::page;
use crate::web::{flash_outcome, render, see_other};

/// One passkey as its list shows it.
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub added: String,
    pub last_used: String,
}

pub fn of_user(conn: &mut DbConnection, id: i64, zone: chrono_tz::Tz) -> Result<Vec<PasskeyView>, AppError> {
    Ok(crate::db::passkeys::of_user(conn, id)?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            added: crate::domain::when_in(Some(p.created_at), zone),
            last_used: crate::domain::when_in(p.last_used_at, zone),
        })
        .collect())
}

/// The page on which the browser makes or uses a passkey: its options, and the form its answer
/// is posted in.
#[derive(Template)]
#[template(path = "passkey.html")]
struct CeremonyPage {
    layout: Layout,
    heading: &'static str,
    lead: String,
    action: &'static str,
    button: &'static str,
    options: String,
    back: &'static str,
    /// What to do instead, without the script.
    without_script: &'static str,
}

const NOT_OFFERED: &str = "Passkeys need the portal at a name (PUBLIC_URL), not at an address.";

#[derive(Deserialize)]
pub struct NewForm {
    passkey_name: String,
    passkey_password: String,
}

/// Begins adding a passkey: the name and the password, then the browser's dialog.
pub async fn begin_adding(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<NewForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their two-step sign-in") {
        return Ok(refused);
    }
    let NewForm { passkey_name, passkey_password } = form.into_inner();
    let Some(rp) = state.passkeys.clone() else {
        user.session.error(NOT_OFFERED);
        return Ok(see_other("/profile/two-step"));
    };
    // Both fields are judged, and the page comes back with what was typed in the name.
    let mut errors = FieldErrors::new();
    let name = ops::passkeys::name_of(&passkey_name).map_err(|message| errors.add("passkey_name", message)).ok();
    let id = user.id;
    let me = state.db.run(move |conn| crate::db::users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    if !current_password_ok(&state, &req, &me, passkey_password).await? {
        errors.add("passkey_password", "This is not your password.");
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        let mut again = page(&state, &user, errors, Vec::new()).await?;
        again.passkey_name = passkey_name.chars().filter(|c| !c.is_control()).take(100).collect();
        return render(StatusCode::UNPROCESSABLE_ENTITY, &again);
    };
    let (acting, at) = (user.acting(), state.config.clock.now());
    let begun = ops::apply(&state.db, move |conn| ops::passkeys::begin_adding(conn, &acting, &rp, name, at)).await;
    let (options, key) = match begun {
        Ok(begun) => begun,
        Err(AppError::Unfit(message)) => {
            user.session.error(message);
            return Ok(see_other("/profile/two-step"));
        }
        Err(e) => return Err(e),
    };
    user.session.begin_passkey_ceremony(&key)?;
    let page = CeremonyPage {
        layout: user.layout("Add a passkey", Tab::Profile),
        heading: "Add a passkey",
        lead: "Your browser now asks you to make a passkey: with this device's screen lock, fingerprint or face, or a security key.".into(),
        action: "/profile/passkeys",
        button: "Make the passkey",
        options,
        back: "/profile/two-step",
        without_script: "Turn it on to add a passkey here, or add one from another browser.",
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    credential: String,
}

/// The browser's answer: the new passkey.
pub async fn finish_adding(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    let Some(rp) = state.passkeys.clone() else {
        user.session.error(NOT_OFFERED);
        return Ok(see_other("/profile/two-step"));
    };
    let key = user.session.take_passkey_ceremony();
    let (acting, at, credential) = (user.acting(), state.config.clock.now(), form.into_inner().credential);
    let outcome =
        ops::apply(&state.db, move |conn| ops::passkeys::finish_adding(conn, &acting, &rp, &key, &credential, at))
            .await
            .and_then(|added| added.map_err(AppError::Unfit))
            .map(|name| format!("The passkey “{name}” is added: use it when signing in asks for a code."));
    if flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other("/profile/two-step"))
}

pub async fn remove(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (acting, id) = (user.acting(), path.into_inner());
    let outcome = ops::apply(&state.db, move |conn| ops::passkeys::remove(conn, &acting, id))
        .await
        .map(|name| format!("The passkey “{name}” is removed."));
    if flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other("/profile/two-step"))
}

/// The browser's dialog for one of the user's passkeys: at the second step of signing in, or,
/// from the sign-in page when the organization allows it, to sign in by the passkey alone.
pub async fn begin_sign_in(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let Some(rp) = state.passkeys.clone() else { return Ok(see_other("/sign-in")) };
    let Some(waiting) = super::public::two_step::pending(&state, &session) else {
        let (at, source) = (state.config.clock.now(), client::source_key(client::of_request(&req)));
        let begun =
            ops::apply(&state.db, move |conn| ops::passkeys::begin_passwordless(conn, &rp, &source, at)).await?;
        let Some((options, key)) = begun else { return Ok(see_other("/sign-in")) };
        session.forget_second_step();
        session.begin_passkey_ceremony(&key)?;
        let page = CeremonyPage {
            layout: super::public::sign_in::public_layout(&state, &session, "Sign in with a passkey").await?,
            heading: "Sign in with a passkey",
            lead: "Your browser now asks for a passkey you made for this portal.".into(),
            action: "/sign-in/passkey",
            button: "Use my passkey",
            options,
            back: "/sign-in",
            without_script: "Go back and sign in with your password.",
        };
        return render(StatusCode::OK, &page);
    };
    let at = state.config.clock.now();
    let begun = ops::apply(&state.db, move |conn| ops::passkeys::begin_sign_in(conn, &rp, waiting.user_id, at)).await?;
    let Some((options, key)) = begun else {
        session.error("You have no passkey: enter the code from your app.");
        return Ok(see_other("/sign-in/code"));
    };
    session.begin_passkey_ceremony(&key)?;
    let page = CeremonyPage {
        layout: super::public::sign_in::public_layout(&state, &session, "Sign in with a passkey").await?,
        heading: "Sign in with a passkey",
        lead: "Your browser now asks for one of your passkeys.".into(),
        action: "/sign-in/passkey",
        button: "Use my passkey",
        options,
        back: "/sign-in/code",
        without_script: "Go back and use a code from your app.",
    };
    render(StatusCode::OK, &page)
}

/// The browser's answer at the second step.
pub async fn finish_sign_in(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    form: web::Form<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    use super::public::two_step::{pending, start_again};
    let Some(rp) = state.passkeys.clone() else { return Ok(see_other("/sign-in")) };
    let key = session.take_passkey_ceremony();
    let credential: String = form.into_inner().credential;
    let ctx = AuditContext::from_request(&req, None, None);
    let source = client::source_key(client::of_request(&req));
    let Some(waiting) = pending(&state, &session) else {
        // A second step that waited too long is not taken for a sign-in by passkey alone.
        if session.second_step().is_some() {
            return Ok(start_again(&session, "That sign-in waited too long. Sign in again."));
        }
        return passwordless(&state, &session, &req, rp, (key, credential), ctx, source).await;
    };
    let at = state.config.clock.now();
    let next = waiting.next.clone();
    let outcome = ops::apply(&state.db, move |conn| {
        ops::passkeys::finish_sign_in(conn, &ctx, &waiting, &rp, (&key, &credential), source, at)
    })
    .await?;
    match outcome {
        Outcome::In { id, stamp, .. } => {
            crate::web::begin_session(&state, &session, &req, id, &stamp).await?;
            Ok(see_other(crate::web::safe_next(Some(&next))))
        }
        Outcome::Refused(locks) => {
            state.metrics.sign_in_failures.inc();
            if locks {
                state.metrics.sign_in_lockouts.inc();
            }
            session.error(crate::auth::passkey::REFUSED);
            Ok(see_other("/sign-in/code"))
        }
        Outcome::Locked => Ok(start_again(&session, "Too many wrong answers. Sign in again in 15 minutes.")),
        Outcome::Gone => Ok(start_again(&session, "That sign-in can't go on. Sign in again.")),
    }
}

/// The browser's answer to a sign-in by passkey alone.
async fn passwordless(
    state: &AppState,
    session: &SessionState,
    req: &HttpRequest,
    rp: std::sync::Arc<webauthn_rs::Webauthn>,
    (key, credential): (String, String),
    ctx: AuditContext,
    source: String,
) -> Result<HttpResponse, AppError> {
    use ops::passkeys::Passwordless;
    let at = state.config.clock.now();
    let outcome = ops::apply(&state.db, move |conn| {
        ops::passkeys::finish_passwordless(conn, &ctx, &rp, (&key, &credential), source, at)
    })
    .await?;
    match outcome {
        Passwordless::In { id, stamp } => {
            crate::web::begin_session(state, session, req, id, &stamp).await?;
            Ok(see_other("/settings"))
        }
        Passwordless::Refused(locks) => {
            state.metrics.sign_in_failures.inc();
            if locks {
                state.metrics.sign_in_lockouts.inc();
            }
            session.error("That passkey could not sign you in. Sign in with your password.");
            Ok(see_other("/sign-in"))
        }
        Passwordless::Locked => {
            session.error("Too many failed sign-ins from your network. Try again in 15 minutes.");
            Ok(see_other("/sign-in"))
        }
    }
}
