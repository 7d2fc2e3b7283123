//! Sign in, sign out, and the first-run owner setup.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{MaybeUser, SessionState, client};
use crate::db::audit::AuditContext;
use crate::db::settings::Settings;
use crate::db::tokens::{self, Purpose, TokenState};
use crate::db::{now, users};
use crate::domain::{Email, FieldErrors, PersonName, UserStatus};
use crate::error::AppError;
use crate::ops::sessions;
use crate::state::AppState;
use crate::web::layout::Layout;
use crate::web::{render, safe_next, see_other};
use actix_web::http::StatusCode;

/// One answer for an unknown email, a wrong password, a disabled or locked account.
const SIGN_IN_FAILED: &str = "That email and password don't match an active account. Check both and try again; after several tries the address is locked for 15 minutes.";

#[derive(Template)]
#[template(path = "public/sign_in.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    next: String,
    error: std::borrow::Cow<'static, str>,
    notice: &'static str,
    signup: bool,
    /// Nobody has set up the owner yet: the page says how to get the setup link.
    no_owner: bool,
    /// "Sign in with a passkey" is offered.
    passkeys: bool,
    /// A "Sign in with NAME" button each: (id, name, the origin of its issuer).
    providers: Vec<(i64, String, String)>,
}

/// The organization's OpenID providers, for the sign-in page's buttons.
async fn provider_buttons(state: &AppState) -> Result<Vec<(i64, String, String)>, AppError> {
    let all = state.db.run(crate::db::oidc::list).await?;
    let origin = |issuer: &str| {
        openidconnect::url::Url::parse(issuer).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
    };
    Ok(all
        .into_iter()
        .map(|p| {
            let o = origin(&p.issuer);
            (p.id, p.name, o)
        })
        .collect())
}

/// The sign-in page, whose provider buttons may send the browser on to their providers: the
/// page's policy lets its forms lead there (a browser checks the redirect after a form against
/// `form-action`), and nowhere else.
fn sign_in_answer(status: StatusCode, page: &SignInPage) -> Result<HttpResponse, AppError> {
    let mut answer = render(status, page)?;
    if !page.providers.is_empty() {
        let origins: Vec<&str> = page.providers.iter().map(|(_, _, o)| o.as_str()).filter(|o| !o.is_empty()).collect();
        let policy =
            crate::startup::CSP.replace("form-action 'self'", &format!("form-action 'self' {}", origins.join(" ")));
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&policy) {
            answer.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    Ok(answer)
}

pub(crate) async fn public_layout(state: &AppState, session: &SessionState, title: &str) -> Result<Layout, AppError> {
    Ok(public_page(state, session, title).await?.0)
}

/// The public frame, whether self-signup is open and whether a passkey may sign in by itself.
async fn public_page(
    state: &AppState,
    session: &SessionState,
    title: &str,
) -> Result<(Layout, (bool, bool)), AppError> {
    let settings = state.db.run(Settings::load).await?;
    let layout = Layout::public(title, settings.org_name, session.take_flash(), session.csrf_token());
    Ok((layout, (settings.self_signup, settings.passkey_sign_in && state.passkeys.is_some())))
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub async fn sign_in_page(
    state: web::Data<AppState>,
    session: SessionState,
    user: MaybeUser,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_owned();
    if user.0.is_some() {
        return Ok(see_other(&next));
    }
    let (layout, (signup, passkeys)) = public_page(&state, &session, "Sign in").await?;
    let no_owner = !state.db.run(crate::db::users::owner_exists).await?;
    let page = SignInPage {
        layout,
        signup,
        passkeys,
        providers: provider_buttons(&state).await?,
        no_owner,
        email: String::new(),
        next,
        error: "".into(),
        notice: if query.signed_out.is_some() { "You are signed out." } else { "" },
    };
    sign_in_answer(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    state: web::Data<AppState>,
    session: SessionState,
    req: actix_web::HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let SignInForm { email, password, next } = form.into_inner();
    // What was typed, as it is shown again and kept in the audit log: never longer than an
    // address can be, never a control character.
    let typed: String = email.trim().chars().filter(|c| !c.is_control()).take(Email::MAX_LEN + 1).collect();
    let address = Email::parse(&email).ok();
    let source = client::source_key(client::of_request(&req));
    let attempt = std::sync::Arc::new(sessions::Attempt::new(typed, source, now()));
    let (user, locked, required) = {
        let (address, attempt) = (address.clone(), attempt.clone());
        state
            .db
            .run(move |conn| {
                let user = match &address {
                    Some(address) => users::find_by_email(conn, address.as_str())?,
                    None => None,
                };
                let required = match &user {
                    Some(u) => crate::db::oidc::required_of(conn, u.id)?,
                    None => None,
                };
                Ok((user, attempt.locked(conn)?, required))
            })
            .await?
    };
    // A locked address (from this network) or network gets no password check at all: a flood
    // of attempts costs no hashing.
    let password_ok = if locked {
        false
    } else {
        let hash = user.as_ref().filter(|u| u.status() == UserStatus::Active).and_then(|u| u.password_hash.clone());
        state.hasher.verify(password, hash).await?
    };
    let ctx = AuditContext::from_request(&req, None, None);

    if let (true, Some(user), Some(provider)) = (password_ok, &user, &required) {
        let (user, name, typed) = (user.clone(), provider.name.clone(), attempt.typed.clone());
        crate::ops::apply(&state.db, move |conn| crate::ops::oidc::password_refused(conn, &ctx, &typed, &user, &name))
            .await?;
        // Told only after the right password: it reveals nothing to someone guessing.
        let why = format!("Your organization signs you in with {}: use the button above.", provider.name);
        return sign_in_again(&state, &session, attempt.typed.clone(), next.as_deref(), why.into()).await;
    }
    if let (true, Some(user)) = (password_ok, user.clone()) {
        if user.totp_secret.is_some() {
            session.await_second_step(crate::auth::session::SecondStep {
                user_id: user.id,
                stamp: user.security_stamp.clone(),
                at: state.config.clock.timestamp(),
                next: safe_next(next.as_deref()).to_owned(),
                before: Vec::new(),
            })?;
            return Ok(see_other("/sign-in/code"));
        }
        let (id, stamp, attempt) = (user.id, user.security_stamp.clone(), attempt.clone());
        crate::ops::apply(&state.db, move |conn| sessions::succeeded(conn, &ctx, &attempt, &user)).await?;
        crate::web::begin_session(&state, &session, &req, id, &stamp).await?;
        return Ok(see_other(safe_next(next.as_deref())));
    }
    let shown_email = attempt.typed.clone();
    let locks = {
        let attempt = attempt.clone();
        crate::ops::apply(&state.db, move |conn| sessions::failed(conn, &ctx, &attempt, user.as_ref(), locked)).await?
    };
    state.metrics.sign_in_failures.inc();
    if locks {
        state.metrics.sign_in_lockouts.inc();
    }
    sign_in_again(&state, &session, shown_email, next.as_deref(), SIGN_IN_FAILED.into()).await
}

/// The sign-in form again (422), with what was typed and why it did not sign in.
async fn sign_in_again(
    state: &AppState,
    session: &SessionState,
    email: String,
    next: Option<&str>,
    error: std::borrow::Cow<'static, str>,
) -> Result<HttpResponse, AppError> {
    let (layout, (signup, passkeys)) = public_page(state, session, "Sign in").await?;
    let page = SignInPage {
        layout,
        signup,
        passkeys,
        providers: provider_buttons(state).await?,
        no_owner: false,
        email,
        next: safe_next(next).to_owned(),
        error,
        notice: "",
    };
    sign_in_answer(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn sign_out(
    state: web::Data<AppState>,
    session: SessionState,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = session.user() {
        let ctx = AuditContext::from_request(&req, Some(user.user_id), user.impersonator_id);
        let keys = [Some(user.key), user.impersonator_key];
        crate::ops::apply(&state.db, move |conn| sessions::signed_out(conn, &ctx, &keys)).await?;
    }
    session.sign_out();
    Ok(see_other("/sign-in?signed_out=1"))
}

#[derive(Template)]
#[template(path = "public/link_problem.html")]
pub struct LinkProblemPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
}

#[derive(Template)]
#[template(path = "public/setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    first_name: String,
    last_name: String,
    email: String,
    errors: FieldErrors,
}

/// The setup link's page when it can't be used, saying why.
async fn setup_refused(state: &AppState, session: &SessionState, why: TokenState) -> Result<HttpResponse, AppError> {
    let message = match why {
        TokenState::Used => "This setup link was already used: the owner account exists. Sign in with it.",
        TokenState::Expired => "This setup link has expired. Run `concierge create-owner` on the server for a new one.",
        TokenState::Superseded => {
            "A newer setup link was printed when the portal restarted. Use the newest one, or run `concierge create-owner`."
        }
        TokenState::Revoked | TokenState::Valid => {
            "This setup link can't be used. Run `concierge create-owner` on the server for a new one."
        }
    };
    let page = LinkProblemPage {
        layout: public_layout(state, session, "Setup link").await?,
        heading: "This setup link can't be used",
        message,
    };
    render(StatusCode::GONE, &page)
}

/// The token's state, treating any link as used once an owner exists.
fn setup_state(
    conn: &mut crate::db::DbConnection,
    secret: &str,
) -> Result<Option<(tokens::Token, TokenState)>, AppError> {
    let Some(token) = tokens::find_by_secret(conn, Purpose::OwnerSetup, secret)? else {
        return Ok(None);
    };
    let state = if users::owner_exists(conn)? { TokenState::Used } else { token.state(now()) };
    Ok(Some((token, state)))
}

pub async fn setup_page(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let Some((_, token_state)) = state.db.run(move |conn| setup_state(conn, &lookup)).await? else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return setup_refused(&state, &session, token_state).await;
    }
    let page = SetupPage {
        layout: public_layout(&state, &session, "Set up").await?,
        token: secret,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SetupForm {
    first_name: String,
    last_name: String,
    email: String,
    password: String,
    password_confirm: String,
}

pub async fn setup(
    state: web::Data<AppState>,
    session: SessionState,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let secret = path.into_inner();
    let lookup = secret.clone();
    let Some((token, token_state)) = state.db.run(move |conn| setup_state(conn, &lookup)).await? else {
        return Err(AppError::NotFound);
    };
    if token_state != TokenState::Valid {
        return setup_refused(&state, &session, token_state).await;
    }

    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let first = errors.check("first_name", PersonName::parse(&form.first_name));
    let last = errors.check("last_name", PersonName::parse(&form.last_name));
    let email = errors.check("email", Email::parse(&form.email));
    let personal = [form.first_name.as_str(), form.last_name.as_str(), form.email.as_str()];
    let password = state.hasher.judge_fields(&form.password, &form.password_confirm, &personal, &mut errors).await?;
    let (Some(first), Some(last), Some(email), Some(password)) = (first, last, email, password) else {
        let page = SetupPage {
            layout: public_layout(&state, &session, "Set up").await?,
            token: secret,
            first_name: form.first_name,
            last_name: form.last_name,
            email: form.email,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };

    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let ctx = AuditContext::from_request(&req, None, None);
    let owner = crate::ops::apply(&state.db, move |conn| {
        crate::ops::links::create_owner(conn, &ctx, token.id, (first, last), email, hash)
    })
    .await?;
    let Some(owner) = owner else {
        return setup_refused(&state, &session, TokenState::Used).await;
    };
    crate::web::begin_session(&state, &session, &req, owner.id, &owner.security_stamp).await?;
    session.success(format!("Welcome, {}. You are the owner of this portal.", owner.first_name));
    Ok(see_other("/settings"))
}
