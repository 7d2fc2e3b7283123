//! My Profile → Two-step sign-in: set it up with an authenticator app (a QR code drawn on the
//! server, and the key as text), renew the recovery codes, turn it off. The last two need the
//! password; none of it is open to an administrator signed in as the user.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentUser, two_step};
use crate::db::settings::Settings;
use crate::db::{two_step as stored, users};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::profile::current_password_ok;
use crate::web::{refuse_impersonated, render, see_other};

#[derive(Template)]
#[template(path = "profile/two_step.html")]
pub(crate) struct TwoStepPage {
    layout: Layout,
    /// The user's passkeys, and whether this portal can offer them (it has a host name).
    passkeys: Vec<crate::web::passkeys::PasskeyView>,
    passkeys_offered: bool,
    /// What was typed as a new passkey's name.
    pub(crate) passkey_name: String,
    on: bool,
    codes_left: i64,
    /// Shown once, just after they were made.
    codes: Vec<String>,
    secret: String,
    qr_image: String,
    errors: FieldErrors,
}

/// The page as it stands: set-up (with the key being offered) or, when on, what can be done.
pub(crate) async fn page(
    state: &AppState,
    user: &CurrentUser,
    errors: FieldErrors,
    codes: Vec<String>,
) -> Result<TwoStepPage, AppError> {
    let id = user.id;
    let zone = user.time_zone;
    let (me, codes_left, org, passkeys) = state
        .db
        .run(move |conn| {
            let passkeys = crate::web::passkeys::of_user(conn, id, zone)?;
            Ok((users::find(conn, id)?, stored::codes_left(conn, id)?, Settings::load(conn)?.org_name, passkeys))
        })
        .await?;
    let me = me.ok_or(AppError::NotFound)?;
    let on = me.totp_secret.is_some();
    let (secret, qr_image) = if on || !codes.is_empty() {
        (String::new(), String::new())
    } else {
        let secret = user.session.new_two_step_secret();
        let image = two_step::qr_image(&two_step::address(&org, &me.email, &secret)).unwrap_or_default();
        (secret, image)
    };
    Ok(TwoStepPage {
        layout: user.layout("Two-step sign-in", Tab::Profile),
        passkeys,
        passkeys_offered: state.passkeys.is_some(),
        passkey_name: String::new(),
        on,
        codes_left,
        codes,
        secret,
        qr_image,
        errors,
    })
}

/// The page again, with "This is not your password." beside `field`, when `typed` is not the
/// user's password (checked as sign-in checks it: the lock counts it).
async fn wrong_password(
    state: &AppState,
    user: &CurrentUser,
    req: &HttpRequest,
    typed: String,
    field: &'static str,
) -> Result<Option<HttpResponse>, AppError> {
    let id = user.id;
    let me = state.db.run(move |conn| users::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    if current_password_ok(state, req, &me, typed).await? {
        return Ok(None);
    }
    let mut errors = FieldErrors::new();
    errors.add(field, "This is not your password.");
    let page = page(state, user, errors, Vec::new()).await?;
    render(StatusCode::UNPROCESSABLE_ENTITY, &page).map(Some)
}

pub async fn show(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their two-step sign-in") {
        return Ok(refused);
    }
    let page = page(&state, &user, FieldErrors::new(), Vec::new()).await?;
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    current_password: String,
}

pub async fn turn_on(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their two-step sign-in") {
        return Ok(refused);
    }
    let CodeForm { code, current_password } = form.into_inner();
    // A session left open is not enough to put someone else's phone on the account.
    if let Some(refused) = wrong_password(&state, &user, &req, current_password, "current_password").await? {
        return Ok(refused);
    }
    let secret = user.session.new_two_step_secret();
    let code: String = code.chars().take(64).collect();
    let (acting, now) = (user.acting(), state.config.clock.timestamp());
    let outcome = ops::apply(&state.db, move |conn| ops::two_step::turn_on(conn, &acting, &secret, &code, now)).await;
    match outcome {
        Ok(codes) => {
            user.session.forget_two_step_secret();
            state.mail_queued.notify_one();
            let page = page(&state, &user, FieldErrors::new(), codes).await?;
            render(StatusCode::OK, &page)
        }
        Err(AppError::Unfit(message)) => {
            let mut errors = FieldErrors::new();
            errors.add("code", message);
            let page = page(&state, &user, errors, Vec::new()).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RenewForm {
    renew_password: String,
}

pub async fn renew_codes(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<RenewForm>,
) -> Result<HttpResponse, AppError> {
    password_then(state, user, req, form.into_inner().renew_password, "renew").await
}

#[derive(Deserialize)]
pub struct OffForm {
    password: String,
}

pub async fn turn_off(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<OffForm>,
) -> Result<HttpResponse, AppError> {
    password_then(state, user, req, form.into_inner().password, "off").await
}

/// Renews the codes or turns it off, once the password is right.
async fn password_then(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    typed: String,
    what: &'static str,
) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refuse_impersonated(&user, "changes their two-step sign-in") {
        return Ok(refused);
    }
    if let Some(refused) = wrong_password(&state, &user, &req, typed, what).await? {
        return Ok(refused);
    }
    let acting = user.acting();
    if what == "renew" {
        let codes = ops::apply(&state.db, move |conn| ops::two_step::renew_codes(conn, &acting)).await;
        return match codes {
            Ok(codes) => render(StatusCode::OK, &page(&state, &user, FieldErrors::new(), codes).await?),
            Err(AppError::Unfit(message)) => {
                user.session.error(message);
                Ok(see_other("/profile"))
            }
            Err(e) => Err(e),
        };
    }
    let outcome = ops::apply(&state.db, move |conn| ops::two_step::turn_off(conn, &acting))
        .await
        .map(|()| "Two-step sign-in is off: signing in asks for your password only.".to_owned());
    if crate::web::flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other("/profile"))
}
