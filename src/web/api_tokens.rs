//! The API tokens tab: make a token for other software (its secret shown once), see them with
//! their maker, scopes, dates and last use, and revoke them. Administrators see every token.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::Require;
use crate::auth::current_user::ManageApi;
use crate::db::audit::person_label;
use crate::domain::{FieldErrors, when_in};
use crate::error::AppError;
use crate::ops;
use crate::ops::api_tokens::TokenForm;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{flash_outcome, render, see_other};

struct Row {
    id: i64,
    name: String,
    maker: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    state: &'static str,
    live: bool,
}

struct Scope {
    key: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
struct Page {
    layout: Layout,
    rows: Vec<Row>,
    all: bool,
    form: TokenForm,
    scopes: Vec<Scope>,
    errors: FieldErrors,
    /// The secret of the token just made: shown once, never again.
    secret: Option<(String, String)>,
    scim_url: String,
}

async fn page(
    state: &AppState,
    user: &Require<ManageApi>,
    form: TokenForm,
    errors: FieldErrors,
    secret: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let all = ops::api_tokens::sees_all(&acting);
    let offered = ops::api_tokens::offered(&acting.permissions);
    let tokens = state.db.run(move |conn| ops::api_tokens::visible(conn, &acting)).await?;
    let (zone, now) = (user.time_zone, state.config.clock.now());
    let rows = tokens
        .into_iter()
        .map(|(t, first, last, email)| {
            let state = if t.revoked_at.is_some() {
                "Revoked"
            } else if t.expires_at <= now {
                "Expired"
            } else {
                "Active"
            };
            let last_used = match (&t.last_used_at, &t.last_used_ip) {
                (None, _) => "Never".to_owned(),
                (Some(at), Some(ip)) => format!("{} from {ip}", when_in(Some(*at), zone)),
                (Some(at), None) => when_in(Some(*at), zone),
            };
            Row {
                id: t.id,
                name: t.name.clone(),
                maker: person_label(&first, &last, &email),
                scopes: t.scopes().collect::<Vec<_>>().join(", "),
                created: when_in(Some(t.created_at), zone),
                expires: t.expires_at.date().to_string(),
                last_used,
                live: state == "Active",
                state,
            }
        })
        .collect();
    let expires_on = if form.expires_on.is_empty() {
        (now.date() + chrono::Duration::days(90)).to_string()
    } else {
        form.expires_on.clone()
    };
    let checked = |k: &str| {
        if form.scopes.is_empty() {
            k == "scim" || k == "users.view" || k == "users.manage"
        } else {
            form.scopes.iter().any(|s| s == k)
        }
    };
    let scopes = offered.into_iter().map(|key| Scope { key, checked: checked(key) }).collect();
    let form = TokenForm { expires_on, ..form };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = Page {
        layout: user.layout("API tokens", Tab::Api),
        rows,
        all,
        form,
        scopes,
        errors,
        secret,
        scim_url: format!("{}/scim/v2", state.config.public_url),
    };
    render(status, &page)
}

pub async fn list(state: web::Data<AppState>, user: Require<ManageApi>) -> Result<HttpResponse, AppError> {
    page(&state, &user, TokenForm::default(), FieldErrors::new(), None).await
}

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageApi>,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut form = TokenForm::default();
    for (k, v) in body.into_inner() {
        match k.as_str() {
            "name" => form.name = v,
            "expires_on" => form.expires_on = v,
            "scope" if form.scopes.len() < 64 => form.scopes.push(v),
            _ => {}
        }
    }
    let acting = user.acting();
    let now = state.config.clock.now();
    let typed = form.clone();
    let made =
        ops::apply(&state.db, move |conn| ops::api_tokens::create(conn, &acting, &typed, now.date(), now)).await?;
    match made {
        Ok((_, secret)) => {
            let name = form.name.trim().to_owned();
            page(&state, &user, TokenForm::default(), FieldErrors::new(), Some((name, secret))).await
        }
        Err(errors) => page(&state, &user, form, errors, None).await,
    }
}

pub async fn revoke(
    state: web::Data<AppState>,
    user: Require<ManageApi>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, acting, now) = (path.into_inner(), user.acting(), state.config.clock.now());
    let outcome = ops::apply(&state.db, move |conn| ops::api_tokens::revoke(conn, &acting, id, now)).await.map(|t| {
        format!("The token \u{201c}{}\u{201d} was revoked: software using it is refused from now on.", t.name)
    });
    flash_outcome(&user.session, outcome)?;
    Ok(see_other("/api-tokens"))
}
