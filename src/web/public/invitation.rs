//! Accept invitation: the emailed link opens a page with the invitee's name filled in; they add
//! a phone number if missing and choose a password, and are signed in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::LinkProblemPage;
use crate::auth::SessionState;
use crate::db::DbConnection;
use crate::db::audit::AuditContext;
use crate::db::settings::Settings;
use crate::db::tokens::{self, Purpose, Token, TokenState};
use crate::domain::{FieldErrors, PersonName, Phone, UserStatus};
use crate::error::AppError;
use crate::ops::links;
use crate::state::AppState;
use crate::web::layout::Layout;
use crate::web::{render, see_other};

#[derive(Template)]
#[template(path = "public/accept_invite.html")]
struct AcceptPage {
    layout: Layout,
    token: String,
    email: String,
    first_name: String,
    last_name: String,
    phone: String,
    errors: FieldErrors,
}

/// The invite behind a link, with its user, and what the link can still do.
fn lookup(
    conn: &mut DbConnection,
    secret: &str,
) -> Result<Option<(Token, crate::db::users::User, TokenState)>, AppError> {
    tokens::find_for_user(conn, Purpose::Invite, secret, UserStatus::Invited)
}

async fn refused(state: &AppState, session: &SessionState, why: TokenState) -> Result<HttpResponse, AppError> {
    let (heading, message) = match why {
        TokenState::Used => {
            ("This invitation was already used", "Your account is set up. Sign in with your email and password.")
        }
        TokenState::Superseded => (
            "A newer invitation was sent",
            "This link was replaced by a newer invitation. Use the link in the most recent invitation email.",
        ),
        TokenState::Expired => ("This invitation has expired", "Ask your administrator to resend the invite."),
        TokenState::Revoked | TokenState::Valid => (
            "This invitation can no longer be used",
            "It was withdrawn, or the account was changed. Ask your administrator if you still need access.",
        ),
    };
    let org_name = state.db.run(Settings::load).await?.org_name;
    let page = LinkProblemPage {
        layout: Layout::public(heading, org_name, session.take_flash(), session.csrf_token()),
        heading,
        message,
    };
    render(StatusCode::GONE, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup_secret = secret.clone();
    let (found, settings) =
        state.db.run(move |conn| Ok((lookup(conn, &lookup_secret)?, Settings::load(conn)?))).await?;
    let Some((_, user, token_state)) = found else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return refused(&state, &session, token_state).await;
    }
    let page = AcceptPage {
        layout: Layout::public("Accept invitation", settings.org_name, session.take_flash(), session.csrf_token()),
        token: secret,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone: user.phone,
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct AcceptForm {
    first_name: String,
    last_name: String,
    phone: String,
    password: String,
    password_confirm: String,
}

pub async fn accept(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup_secret = secret.clone();
    let Some((token, user, token_state)) = state.db.run(move |conn| lookup(conn, &lookup_secret)).await? else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return refused(&state, &session, token_state).await;
    }
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let first = errors.check("first_name", PersonName::parse(&form.first_name));
    let last = errors.check("last_name", PersonName::parse(&form.last_name));
    let phone = errors.check("phone", Phone::parse(&form.phone));
    let personal = [form.first_name.as_str(), form.last_name.as_str(), user.email.as_str()];
    let password = state.hasher.judge_fields(&form.password, &form.password_confirm, &personal, &mut errors).await?;
    let (Some(first), Some(last), Some(phone), Some(password)) = (first, last, phone, password) else {
        let org_name = state.db.run(Settings::load).await?.org_name;
        let page = AcceptPage {
            layout: Layout::public("Accept invitation", org_name, session.take_flash(), session.csrf_token()),
            token: secret,
            email: user.email,
            first_name: form.first_name,
            last_name: form.last_name,
            phone: form.phone,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let ctx = AuditContext::from_request(&req, Some(user.id), None);
    let user_id = user.id;
    let welcome = format!("Welcome, {first}. Your account is ready.");
    let acceptance = links::Acceptance { first_name: first, last_name: last, phone, hash };
    let accepted =
        crate::ops::apply(&state.db, move |conn| links::accept_invitation(conn, &ctx, token.id, &user, &acceptance))
            .await?;
    let Some(stamp) = accepted else {
        return refused(&state, &session, TokenState::Used).await;
    };
    crate::web::begin_session(&state, &session, &req, user_id, &stamp).await?;
    session.success(welcome);
    Ok(see_other("/settings"))
}
