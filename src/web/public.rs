//! Public pages: sign in, sign out, and the first-run owner setup.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{MaybeUser, SessionState, client};
use crate::db::audit::{self, AuditContext, Target};
use crate::db::settings::Settings;
use crate::db::tokens::{self, Purpose, TokenState};
use crate::db::{groups, now, throttle, users};
use crate::domain::{Email, FieldErrors, PersonName, UserStatus};
use crate::error::AppError;
use crate::startup::AppState;
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
    error: &'static str,
    notice: &'static str,
    signup: bool,
}

async fn public_layout(state: &AppState, session: &SessionState, title: &str) -> Result<Layout, AppError> {
    Ok(public_page(state, session, title).await?.0)
}

/// The public frame and whether self-signup is open.
async fn public_page(state: &AppState, session: &SessionState, title: &str) -> Result<(Layout, bool), AppError> {
    let settings = state.db.run(Settings::load).await?;
    let layout = Layout::public(title, settings.org_name, session.take_flash(), session.csrf_token());
    Ok((layout, settings.self_signup))
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
    let (layout, signup) = public_page(&state, &session, "Sign in").await?;
    let page = SignInPage {
        layout,
        signup,
        email: String::new(),
        next,
        error: "",
        notice: if query.signed_out.is_some() { "You are signed out." } else { "" },
    };
    render(StatusCode::OK, &page)
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
    let account = throttle::account(&typed);
    let (pair, from_source) = (throttle::sign_in_key(&account, &source), throttle::sign_in_source_key(&source));
    let at = now();
    let (user, locked) = {
        let (address, keys) = (address.clone(), [pair.clone(), from_source.clone()]);
        state
            .db
            .run(move |conn| {
                let user = match &address {
                    Some(address) => users::find_by_email(conn, address.as_str())?,
                    None => None,
                };
                Ok((user, throttle::locked(conn, &[&keys[0], &keys[1]], at)?))
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

    if let (true, Some(user)) = (password_ok, user.as_ref()) {
        let (id, email) = (user.id, user.email.clone());
        let ctx = ctx.as_actor(id);
        state
            .db
            .transaction(move |conn| {
                throttle::clear(conn, &pair)?;
                users::record_sign_in(conn, id)?;
                audit::record(conn, &ctx, "sign_in", Target::user(id, &email), serde_json::json!({}))
            })
            .await?;
        session.sign_in(user.id, &user.security_stamp)?;
        return Ok(see_other(safe_next(next.as_deref())));
    }

    let target = user.as_ref().map(|u| (u.id, u.email.clone()));
    let shown_email = typed.clone();
    state
        .db
        .transaction(move |conn| {
            let target = || target.as_ref().map_or(Target::none(), |(id, email)| Target::user(*id, email));
            let reason = if locked { "locked" } else { "wrong email or password" };
            audit::record(
                conn,
                &ctx,
                "sign_in.failed",
                target(),
                serde_json::json!({ "email": typed, "reason": reason }),
            )?;
            if !locked {
                if throttle::record(conn, &pair, throttle::SIGN_IN, at)? {
                    let minutes = throttle::SIGN_IN.lock.num_minutes();
                    let details = serde_json::json!({ "email": typed, "source": source, "minutes": minutes });
                    audit::record(conn, &ctx, "sign_in.locked", target(), details)?;
                }
                throttle::record(conn, &from_source, throttle::SIGN_IN_SOURCE, at)?;
            }
            Ok(())
        })
        .await?;
    let (layout, signup) = public_page(&state, &session, "Sign in").await?;
    let page = SignInPage {
        layout,
        signup,
        email: shown_email,
        next: safe_next(next.as_deref()).to_owned(),
        error: SIGN_IN_FAILED,
        notice: "",
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn sign_out(
    state: web::Data<AppState>,
    session: SessionState,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = session.user() {
        let ctx = AuditContext::from_request(&req, Some(user.user_id), user.impersonator_id);
        state.db.run(move |conn| audit::record(conn, &ctx, "sign_out", Target::none(), serde_json::json!({}))).await?;
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
    let password = match state.hasher.judge(&form.password, &form.password_confirm, &personal).await? {
        Err(m) if m.contains("not the same") => {
            errors.add("password_confirm", m);
            None
        }
        other => errors.check("password", other),
    };
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
    let owner = state
        .db
        .transaction(move |conn| {
            if !tokens::consume(conn, token.id)? || users::owner_exists(conn)? {
                return Ok(None);
            }
            let admin = groups::find_builtin(conn, groups::ADMIN_KEY)?;
            let user = users::insert(
                conn,
                &users::NewUser {
                    is_owner: true,
                    password_hash: Some(hash),
                    ..users::NewUser::new(
                        email.into_inner(),
                        first.into_inner(),
                        last.into_inner(),
                        admin.id,
                        UserStatus::Active,
                    )
                },
            )?;
            users::record_sign_in(conn, user.id)?;
            audit::record(
                conn,
                &ctx.as_actor(user.id),
                "owner.created",
                Target::user(user.id, &user.email),
                serde_json::json!({ "email": user.email, "first_name": user.first_name, "last_name": user.last_name }),
            )?;
            Ok(Some(user))
        })
        .await?;
    let Some(owner) = owner else {
        return setup_refused(&state, &session, TokenState::Used).await;
    };
    session.sign_in(owner.id, &owner.security_stamp)?;
    session.success(format!("Welcome, {}. You are the owner of this portal.", owner.first_name));
    Ok(see_other("/settings"))
}
