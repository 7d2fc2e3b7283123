//! Organization → Sign-in: the OpenID providers people may sign in with (settings.manage).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::current_user::ManageSettings;
use crate::auth::{Require, sealed};
use crate::db::oidc as stored;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ops::{self, oidc::ProviderForm};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::users::{GroupChoice, group_choices};
use crate::web::{render, see_other};

/// A provider as the list shows it.
pub struct Row {
    pub id: i64,
    pub name: String,
    pub issuer: String,
    pub callback: String,
    pub creates: String,
}

#[derive(Template)]
#[template(path = "organization/sign_in.html")]
struct ProvidersPage {
    layout: Layout,
    rows: Vec<Row>,
    /// The provider being changed (None: a new one).
    editing: Option<i64>,
    form: ProviderForm,
    groups: Vec<GroupChoice>,
    errors: FieldErrors,
    /// The address to register with the provider being changed.
    callback: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Form {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    scopes: String,
    email_claim: String,
    create_users: Option<String>,
    create_in_group_id: String,
    create_domains: String,
    ask_second_factor: Option<String>,
}

impl Form {
    fn into_form(self) -> ProviderForm {
        ProviderForm {
            name: self.name,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            scopes: self.scopes,
            email_claim: self.email_claim,
            create_users: self.create_users.is_some(),
            create_in_group_id: self.create_in_group_id,
            create_domains: self.create_domains,
            ask_second_factor: self.ask_second_factor.is_some(),
        }
    }
}

async fn page(
    state: &AppState,
    user: &Require<ManageSettings>,
    editing: Option<i64>,
    form: Option<ProviderForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let (providers, groups, names) = state
        .db
        .run(move |conn| {
            let providers = stored::list(conn)?;
            let names = crate::db::groups::list(conn)?.into_iter().map(|g| (g.id, g.name)).collect::<Vec<_>>();
            Ok((providers, group_choices(conn, &acting, "")?, names))
        })
        .await?;
    let current = editing.and_then(|id| providers.iter().find(|p| p.id == id));
    if editing.is_some() && current.is_none() {
        return Err(AppError::NotFound);
    }
    let form = form.or_else(|| current.map(ProviderForm::of)).unwrap_or_else(|| ProviderForm {
        scopes: "openid email profile".into(),
        email_claim: "email".into(),
        ..ProviderForm::default()
    });
    let groups = groups
        .into_iter()
        .map(|g| GroupChoice { selected: g.id.to_string() == form.create_in_group_id, ..g })
        .collect();
    let group_name = |id: Option<i64>| names.iter().find(|(g, _)| Some(*g) == id).map(|(_, n)| n.clone());
    let rows = providers
        .iter()
        .map(|p| Row {
            id: p.id,
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            callback: super::public::provider::callback_url(state, p.id),
            creates: match (p.create_users, group_name(p.create_in_group_id)) {
                (true, Some(group)) => format!("Adds people of {} to {group}", p.create_domains.replace(' ', ", ")),
                _ => "Existing users only".into(),
            },
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let callback = editing.map(|id| super::public::provider::callback_url(state, id)).unwrap_or_default();
    let title = if editing.is_some() { "Change a sign-in provider" } else { "Sign-in providers" };
    let page =
        ProvidersPage { layout: user.layout(title, Tab::Organization), rows, editing, form, groups, errors, callback };
    render(status, &page)
}

pub async fn list(state: web::Data<AppState>, user: Require<ManageSettings>) -> Result<HttpResponse, AppError> {
    page(&state, &user, None, None, FieldErrors::new()).await
}

pub async fn edit(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    page(&state, &user, Some(path.into_inner()), None, FieldErrors::new()).await
}

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    form: web::Form<Form>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner().into_form();
    let (acting, key, at) = (user.acting(), state.sealing_key.clone(), state.config.clock.now());
    let kept = form.clone();
    let made = ops::apply(&state.db, move |conn| {
        ops::oidc::create(conn, &acting, &kept, |secret| sealed::seal(&key, secret), at)
    })
    .await?;
    match made {
        Ok(id) => {
            user.session.success(format!(
                "{} is added. Register {} with it as the redirect URL.",
                form.name.trim(),
                super::public::provider::callback_url(&state, id)
            ));
            Ok(see_other("/organization/sign-in"))
        }
        Err(errors) => {
            page(&state, &user, None, Some(ProviderForm { client_secret: String::new(), ..form }), errors).await
        }
    }
}

pub async fn update(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    path: web::Path<i64>,
    form: web::Form<Form>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner().into_form();
    let (acting, key, at) = (user.acting(), state.sealing_key.clone(), state.config.clock.now());
    let kept = form.clone();
    let changed = ops::apply(&state.db, move |conn| {
        ops::oidc::update(conn, &acting, id, &kept, |secret| sealed::seal(&key, secret), at)
    })
    .await?;
    match changed {
        Ok(()) => {
            user.session.success(format!("{} is saved.", form.name.trim()));
            Ok(see_other("/organization/sign-in"))
        }
        Err(errors) => {
            page(&state, &user, Some(id), Some(ProviderForm { client_secret: String::new(), ..form }), errors).await
        }
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Require<ManageSettings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, acting) = (path.into_inner(), user.acting());
    let name = ops::apply(&state.db, move |conn| ops::oidc::delete(conn, &acting, id)).await?;
    user.session.success(format!("{name} is removed. Its users sign in with a password or a passkey."));
    Ok(see_other("/organization/sign-in"))
}
