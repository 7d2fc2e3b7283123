//! The public account pages: forgot / reset password, self-signup with email verification,
//! and confirming an email change (requested from My Profile).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::LinkProblemPage;
use crate::auth::{MaybeUser, SessionState, client};
use crate::db::audit::AuditContext;
use crate::db::settings::Settings;
use crate::db::tokens::{self, Purpose, TokenState};
use crate::db::{DbConnection, now};
use crate::domain::{Email, FieldErrors, PersonName, UserStatus};
use crate::error::AppError;
use crate::ops;
use crate::ops::links;
use crate::state::AppState;
use crate::web::layout::Layout;
use crate::web::{render, see_other};

async fn public_layout(state: &AppState, session: &SessionState, title: &str) -> Result<(Layout, Settings), AppError> {
    let settings = state.db.run(Settings::load).await?;
    Ok((Layout::public(title, settings.org_name.clone(), session.take_flash(), session.csrf_token()), settings))
}

async fn link_problem(
    state: &AppState,
    session: &SessionState,
    why: TokenState,
    what: &str,
) -> Result<HttpResponse, AppError> {
    let (heading, message) = match why {
        TokenState::Used => ("This link was already used", "Each link works once. Sign in, or ask for a new link."),
        TokenState::Superseded => ("A newer link was sent", "Use the link in the most recent email."),
        TokenState::Expired => ("This link has expired", "Ask for a new link."),
        TokenState::Revoked | TokenState::Valid => ("This link can no longer be used", "Ask for a new link."),
    };
    let (layout, _) = public_layout(state, session, what).await?;
    render(StatusCode::GONE, &LinkProblemPage { layout, heading, message })
}

#[derive(Template)]
#[template(path = "public/forgot_password.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    sent: bool,
    error: &'static str,
}

pub async fn forgot_page(state: web::Data<AppState>, session: SessionState) -> Result<HttpResponse, AppError> {
    let (layout, _) = public_layout(&state, &session, "Forgot password").await?;
    render(StatusCode::OK, &ForgotPage { layout, email: String::new(), sent: false, error: "" })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

/// The same answer whether or not the address has an account; at most a few requests per
/// address and per network address in 15 minutes.
pub async fn forgot(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let Ok(email) = Email::parse(&form.email) else {
        let (layout, _) = public_layout(&state, &session, "Forgot password").await?;
        let page = ForgotPage {
            layout,
            email: form.email.clone(),
            sent: false,
            error: "Enter an email address like name@example.com.",
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let ctx = AuditContext::from_request(&req, None, None);
    let source = client::source_key(client::of_request(&req));
    let public_url = state.config.public_url.clone();
    ops::apply(&state.db, move |conn| links::forgot_password(conn, &ctx, &email, &source, &public_url)).await?;
    state.mail_queued.notify_one();
    let (layout, _) = public_layout(&state, &session, "Forgot password").await?;
    render(StatusCode::OK, &ForgotPage { layout, email: String::new(), sent: true, error: "" })
}

#[derive(Template)]
#[template(path = "public/reset_password.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    errors: FieldErrors,
}

fn reset_token(
    conn: &mut DbConnection,
    secret: &str,
) -> Result<Option<(tokens::Token, crate::db::users::User, TokenState)>, AppError> {
    tokens::find_for_user(conn, Purpose::PasswordReset, secret, UserStatus::Active)
}

pub async fn reset_page(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let Some((_, _, token_state)) = state.db.run(move |conn| reset_token(conn, &lookup)).await? else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return link_problem(&state, &session, token_state, "Reset password").await;
    }
    let (layout, _) = public_layout(&state, &session, "Choose a new password").await?;
    render(StatusCode::OK, &ResetPage { layout, token: secret, errors: FieldErrors::new() })
}

pub async fn reset(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<crate::web::NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let Some((token, user, token_state)) = state.db.run(move |conn| reset_token(conn, &lookup)).await? else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return link_problem(&state, &session, token_state, "Reset password").await;
    }
    let personal = [user.first_name.as_str(), user.last_name.as_str(), user.email.as_str()];
    let mut errors = FieldErrors::new();
    let password = state.hasher.judge_fields(&form.password, &form.password_confirm, &personal, &mut errors).await?;
    let Some(password) = password else {
        let (layout, _) = public_layout(&state, &session, "Choose a new password").await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &ResetPage { layout, token: secret, errors });
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let ctx = AuditContext::from_request(&req, Some(user.id), None);
    let (id, two_step) = (user.id, user.totp_secret.is_some());
    let stamp = ops::apply(&state.db, move |conn| links::reset_password(conn, &ctx, token.id, &user, &hash))
        .await?
        .map(|stamp| (id, stamp));
    let Some((id, stamp)) = stamp else {
        return link_problem(&state, &session, TokenState::Used, "Reset password").await;
    };
    state.mail_queued.notify_one();
    // The link proves the mailbox, not the second factor: with two-step sign-in on, the code
    // (or a recovery code) still comes before anyone is signed in.
    if two_step {
        session.await_second_step(crate::auth::session::SecondStep {
            user_id: id,
            stamp,
            at: state.config.clock.timestamp(),
            next: "/settings".into(),
            before: Vec::new(),
        })?;
        session.success("Your password was changed. Enter the code from your app to sign in.");
        return Ok(see_other("/sign-in/code"));
    }
    crate::web::begin_session(&state, &session, &req, id, &stamp).await?;
    session.success("Your password was changed. Every other session was signed out.");
    Ok(see_other("/settings"))
}

#[derive(Template)]
#[template(path = "public/signup.html")]
struct SignupPage {
    layout: Layout,
    first_name: String,
    last_name: String,
    email: String,
    errors: FieldErrors,
    sent: bool,
}

pub async fn signup_page(
    state: web::Data<AppState>,
    session: SessionState,
    user: MaybeUser,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/settings"));
    }
    let (layout, settings) = public_layout(&state, &session, "Sign up").await?;
    if !settings.self_signup {
        return Err(AppError::NotFound);
    }
    let page = SignupPage {
        layout,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        errors: FieldErrors::new(),
        sent: false,
    };
    render(StatusCode::OK, &page)
}

/// Name and address only: the password is chosen after the address is confirmed.
#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
}

/// Sends a link to the address; the Customer account is made when it is followed. An address
/// that has an account gets the same answer on the page, and a notice in its mailbox.
pub async fn signup(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let (layout, settings) = public_layout(&state, &session, "Sign up").await?;
    if !settings.self_signup {
        return Err(AppError::NotFound);
    }
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let first = errors.check("first_name", PersonName::parse(&form.first_name));
    let last = errors.check("last_name", PersonName::parse(&form.last_name));
    let email = errors.check("email", Email::parse(&form.email));
    if let Some(email) = &email
        && !settings.signup_domains.is_empty()
        && !settings.signup_domains.iter().any(|d| d == email.domain())
    {
        errors.add("email", format!("Sign-up is open to addresses at {} only.", settings.signup_domains.join(", ")));
    }
    let (Some(first), Some(last), Some(email), true) = (first, last, email, errors.is_empty()) else {
        let page = SignupPage {
            layout,
            first_name: form.first_name,
            last_name: form.last_name,
            email: form.email,
            errors,
            sent: false,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let ctx = AuditContext::from_request(&req, None, None);
    let source = client::source_key(client::of_request(&req));
    let public_url = state.config.public_url.clone();
    // The answer is the same whether the address has an account (it gets a notice) or not.
    ops::apply(&state.db, move |conn| links::request_signup(conn, &ctx, (&first, &last), &email, &source, &public_url))
        .await?;
    state.mail_queued.notify_one();
    let (layout, _) = public_layout(&state, &session, "Sign up").await?;
    let page = SignupPage {
        layout,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        errors: FieldErrors::new(),
        sent: true,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "public/confirm_link.html")]
struct ConfirmLinkPage {
    layout: Layout,
    heading: &'static str,
    message: String,
    action: String,
    button: &'static str,
}

/// An emailed link's page: what the link does happens on its button, not on opening it, since
/// mail scanners open links. `purpose` and `status` say which links for which users still work;
/// `text` words the page from the address concerned.
async fn confirm_link_page(
    state: &AppState,
    session: &SessionState,
    purpose: Purpose,
    secret: String,
    status: UserStatus,
    action: String,
    text: impl FnOnce(&str) -> (&'static str, String, &'static str),
) -> Result<HttpResponse, AppError> {
    let found = state
        .db
        .run(move |conn| {
            let found = tokens::find_for_user(conn, purpose, &secret, status)?;
            Ok(found.map(|(token, user, state)| match state {
                TokenState::Valid => Ok(token.email.unwrap_or(user.email)),
                other => Err(other),
            }))
        })
        .await?;
    match found {
        None => Err(AppError::NotFound),
        Some(Err(why)) => link_problem(state, session, why, "Confirm email").await,
        Some(Ok(email)) => {
            let (heading, message, button) = text(&email);
            let (layout, _) = public_layout(state, session, heading).await?;
            render(StatusCode::OK, &ConfirmLinkPage { layout, heading, message, action, button })
        }
    }
}

#[derive(Template)]
#[template(path = "public/verify_email.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
    name: String,
    email: String,
    errors: FieldErrors,
}

/// The link in a self-signup mail: the address is confirmed by following it, and the password
/// is chosen here, never before.
pub async fn verify_email_page(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let found = state.db.run(move |conn| links::signup_token(conn, &lookup)).await?;
    let Some((token, first, last)) = found else {
        return Err(AppError::NotFound);
    };
    let token_state = token.state(now());
    if token_state != TokenState::Valid {
        return link_problem(&state, &session, token_state, "Confirm email").await;
    }
    let (layout, _) = public_layout(&state, &session, "Confirm your email").await?;
    let page = VerifyPage {
        layout,
        token: secret,
        name: format!("{first} {last}"),
        email: token.email.unwrap_or_default(),
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

/// The link in an email-change mail: a button that makes the new address the sign-in address.
pub async fn confirm_email_change_page(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let action = format!("/confirm-email/{secret}");
    confirm_link_page(&state, &session, Purpose::EmailChange, secret, UserStatus::Active, action, |email| {
        (
            "Change your sign-in address",
            format!("From now on you will sign in with {email}; your old address will stop working."),
            "Use this address",
        )
    })
    .await
}

pub async fn verify_email(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<crate::web::NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let Some((token, first, last)) = state.db.run(move |conn| links::signup_token(conn, &lookup)).await? else {
        return Err(AppError::NotFound);
    };
    let token_state = token.state(now());
    if token_state != TokenState::Valid {
        return link_problem(&state, &session, token_state, "Confirm email").await;
    }
    let email = token.email.clone().unwrap_or_default();
    let personal = [first.as_str(), last.as_str(), email.as_str()];
    let mut errors = FieldErrors::new();
    let password = state.hasher.judge_fields(&form.password, &form.password_confirm, &personal, &mut errors).await?;
    let Some(password) = password else {
        let (layout, _) = public_layout(&state, &session, "Confirm your email").await?;
        let page = VerifyPage { layout, token: secret, name: format!("{first} {last}"), email, errors };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let ctx = AuditContext::from_request(&req, None, None);
    let public_url = state.config.public_url.clone();
    let outcome =
        ops::apply(&state.db, move |conn| links::complete_signup(conn, &ctx, &token, (first, last), hash, &public_url))
            .await?;
    match outcome {
        Err(why) => link_problem(&state, &session, why, "Confirm email").await,
        Ok(user) => {
            state.mail_queued.notify_one();
            crate::web::begin_session(&state, &session, &req, user.id, &user.security_stamp).await?;
            session
                .success(format!("Welcome, {}. Your email is confirmed and your account is ready.", user.first_name));
            Ok(see_other("/settings"))
        }
    }
}

pub async fn confirm_email_change(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let ctx = AuditContext::from_request(&req, None, None);
    let outcome = ops::apply(&state.db, move |conn| ops::profile::confirm_email_change(conn, &ctx, &secret)).await?;
    match outcome {
        None => Err(AppError::NotFound),
        Some(Err(why)) => link_problem(&state, &session, why, "Confirm email").await,
        Some(Ok(email)) => {
            session.sign_out();
            let (layout, _) = public_layout(&state, &session, "Email changed").await?;
            let message: &'static str =
                "Your sign-in address changed. Sign in with the new address; the old one no longer works.";
            let _ = email;
            render(StatusCode::OK, &LinkProblemPage { layout, heading: "Your email was changed", message })
        }
    }
}
