//! Signing in through the organization's OpenID providers: the button's form begins the flow
//! (a POST, with the CSRF token) and the provider sends the browser back to the callback.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::oidc::{self, Problem};
use crate::auth::session::{ProviderFlow, SecondStep};
use crate::auth::{SessionState, client, sealed, secret};
use crate::db::audit::AuditContext;
use crate::db::oidc::{self as stored, Provider};
use crate::error::AppError;
use crate::ops;
use crate::ops::oidc::Outcome;
use crate::state::AppState;
use crate::web::layout::Layout;
use crate::web::{render, safe_next, see_other};

/// How long the provider may take to send the browser back.
const FLOW_SECONDS: i64 = 600;

#[derive(Template)]
#[template(path = "public/link_problem.html")]
struct ProblemPage {
    layout: Layout,
    heading: String,
    message: String,
}

/// The address a provider sends the browser back to (registered with the provider).
pub fn callback_url(state: &AppState, id: i64) -> String {
    format!("{}/sign-in/oidc/{id}/callback", state.config.public_url.trim_end_matches('/'))
}

/// A provider that can't be reached (or is set up wrong): a page saying so, never a 500.
async fn unreachable(
    state: &AppState,
    session: &SessionState,
    provider: &Provider,
    problem: &str,
) -> Result<HttpResponse, AppError> {
    tracing::warn!(provider = %provider.name, problem, "an OpenID provider could not be used");
    let layout = super::sign_in::public_layout(state, session, "Sign-in unavailable").await?;
    let page = ProblemPage {
        layout,
        heading: format!("{} can't be reached", provider.name),
        message: format!(
            "{} did not answer as it should, so it can't sign you in right now. Try again in a few minutes, or \
             sign in with your password.",
            provider.name
        ),
    };
    render(StatusCode::SERVICE_UNAVAILABLE, &page)
}

async fn provider(state: &AppState, id: i64) -> Result<Provider, AppError> {
    state.db.run(move |c| stored::find(c, id)).await?.ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct StartForm {
    next: Option<String>,
}

pub async fn start(
    state: web::Data<AppState>,
    session: SessionState,
    path: web::Path<i64>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, AppError> {
    let provider = provider(&state, path.into_inner()).await?;
    let Some(client_secret) = sealed::open(&state.sealing_key, &provider.client_secret_sealed) else {
        return unreachable(&state, &session, &provider, "its client secret was sealed with another key").await;
    };
    let redirect = callback_url(&state, provider.id);
    match oidc::start(&state.providers_http, &provider, &client_secret, &redirect).await {
        Ok(started) => {
            session.begin_provider_flow(&ProviderFlow {
                provider_id: provider.id,
                state: started.state,
                nonce: started.nonce,
                verifier: started.verifier,
                at: state.config.clock.timestamp(),
                next: safe_next(form.next.as_deref()).to_owned(),
            })?;
            Ok(see_other(&started.url))
        }
        Err(problem) => unreachable(&state, &session, &provider, &problem.to_string()).await,
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back to the sign-in page with `message`.
fn refused(session: &SessionState, message: impl Into<String>) -> HttpResponse {
    session.error(message);
    see_other("/sign-in")
}

pub async fn callback(
    state: web::Data<AppState>,
    session: SessionState,
    req: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let provider = provider(&state, path.into_inner()).await?;
    let now = state.config.clock.timestamp();
    let again = "That sign-in can't go on. Sign in again.";
    // The flow is taken whatever follows: a callback is answered once.
    let Some(flow) =
        session.take_provider_flow().filter(|f| f.provider_id == provider.id && now - f.at <= FLOW_SECONDS)
    else {
        return Ok(refused(&session, again));
    };
    if query.error.is_some() {
        return Ok(refused(&session, format!("{} did not sign you in.", provider.name)));
    }
    let (Some(code), Some(sent)) = (query.code.as_deref(), query.state.as_deref()) else {
        return Ok(refused(&session, again));
    };
    if !secret::constant_time_eq(sent.as_bytes(), flow.state.as_bytes()) {
        return Ok(refused(&session, again));
    }
    let Some(client_secret) = sealed::open(&state.sealing_key, &provider.client_secret_sealed) else {
        return unreachable(&state, &session, &provider, "its client secret was sealed with another key").await;
    };
    let redirect = callback_url(&state, provider.id);
    let who = match oidc::finish(&state.providers_http, &provider, &client_secret, &redirect, code, &flow).await {
        Ok(who) => who,
        Err(Problem::Unreachable(p)) => return unreachable(&state, &session, &provider, &p).await,
        Err(Problem::Refused(why)) => {
            tracing::info!(provider = %provider.name, why, "a provider's answer was refused");
            return Ok(refused(&session, format!("{}'s answer could not sign you in. Sign in again.", provider.name)));
        }
    };
    let ctx = AuditContext::from_request(&req, None, None);
    let source = client::source_key(client::of_request(&req));
    let at = state.config.clock.now();
    let outcome = {
        let provider = provider.clone();
        ops::apply(&state.db, move |conn| ops::oidc::finish_sign_in(conn, &ctx, &provider, &who, source, at)).await?
    };
    match outcome {
        Outcome::In { id, stamp, ask_code: true } => {
            session.await_second_step(SecondStep {
                user_id: id,
                stamp,
                at: now,
                next: flow.next,
                before: Vec::new(),
            })?;
            Ok(see_other("/sign-in/code"))
        }
        Outcome::In { id, stamp, .. } => {
            crate::web::begin_session_via(&state, &session, &req, id, &stamp, Some(provider.id)).await?;
            Ok(see_other(safe_next(Some(&flow.next))))
        }
        Outcome::Refused => {
            state.metrics.sign_in_failures.inc();
            Ok(refused(
                &session,
                format!(
                    "{} vouched for you, but no active account here matches it. Ask an administrator to add you, \
                     or sign in with your password.",
                    provider.name
                ),
            ))
        }
        Outcome::Locked => {
            Ok(refused(&session, "Too many failed sign-ins from your network. Try again in 15 minutes."))
        }
    }
}
