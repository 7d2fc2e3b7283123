//! Accounts, on the Accounts & Buildings tab: create, rename and delete them (`buildings.manage`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::current_user::ManageBuildings;
use crate::auth::{CurrentUser, Require};
use crate::db::buildings;
use crate::db::schema::buildings as buildings_table;
use crate::domain::FieldErrors;
use crate::domain::person_name::short_text;
use crate::error::AppError;
use crate::ops;
use crate::ops::accounts::NameTaken;
use crate::state::AppState;
use crate::web::buildings::DeletePage;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

#[derive(Template)]
#[template(path = "buildings/account_form.html")]
struct AccountPage {
    layout: Layout,
    id: Option<i64>,
    account_name: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    name: String,
}

pub async fn new_account(user: Require<ManageBuildings>) -> Result<HttpResponse, AppError> {
    render(
        StatusCode::OK,
        &AccountPage {
            layout: user.layout("New account", Tab::Buildings),
            id: None,
            account_name: String::new(),
            errors: FieldErrors::new(),
        },
    )
}

pub async fn edit_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let account = state.db.run(move |conn| buildings::find_account(conn, id)).await?.ok_or(AppError::NotFound)?;
    render(
        StatusCode::OK,
        &AccountPage {
            layout: user.layout(account.name.clone(), Tab::Buildings),
            id: Some(id),
            account_name: account.name,
            errors: FieldErrors::new(),
        },
    )
}

/// The form again, with what was wrong beside its field.
fn refused(
    user: &CurrentUser,
    id: Option<i64>,
    form: AccountForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &AccountPage { layout: user.layout("Account", Tab::Buildings), id, account_name: form.name, errors },
    )
}

/// Creates (no id) or renames an account; names are unique, compared case-insensitively.
async fn save_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    id: Option<i64>,
    form: AccountForm,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::new();
    let Some(name) = errors.check("name", short_text(&form.name, 120, true)) else {
        return refused(&user, id, form, errors);
    };
    let acting = user.acting();
    let saved = ops::apply(&state.db, move |conn| match id {
        Some(id) => ops::accounts::rename(conn, &acting, id, &name),
        None => ops::accounts::create(conn, &acting, &name).map(|created| created.map(|_| ())),
    })
    .await?;
    match saved {
        Ok(()) => {
            user.session.success("Account saved.");
            Ok(see_other("/buildings"))
        }
        Err(NameTaken) => {
            errors.add("name", "An account has this name already.");
            refused(&user, id, form, errors)
        }
    }
}

pub async fn create_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    save_account(state, user, None, form.into_inner()).await
}

pub async fn update_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    save_account(state, user, Some(path.into_inner()), form.into_inner()).await
}

pub async fn confirm_delete_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (account, grants, count) = state
        .db
        .run(move |conn| {
            let account = buildings::find_account(conn, id)?.ok_or(AppError::NotFound)?;
            let count: i64 =
                buildings_table::table.filter(buildings_table::account_id.eq(id)).count().get_result(conn)?;
            Ok((account, buildings::grants_on_account(conn, id)?, count))
        })
        .await?;
    let page = DeletePage {
        layout: user.layout(format!("Delete {}", account.name), Tab::Buildings),
        what: "account".into(),
        name: account.name,
        action: format!("/accounts/{id}/delete"),
        cancel: "/buildings".into(),
        grants,
        buildings: count,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let name = ops::apply(&state.db, move |conn| ops::accounts::delete(conn, &acting, id)).await?;
    user.session.success(format!("{name} and its buildings were deleted."));
    Ok(see_other("/buildings"))
}
