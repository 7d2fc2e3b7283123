//! Accounts & Buildings: everyone sees the buildings they reach, grouped by account. With
//! `buildings.manage`: create, edit and delete buildings (accounts: `web::accounts`), and see and
//! change who reaches a building. With `buildings.edit`: edit the details of the buildings they
//! reach.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::current_user::ManageBuildings;
use crate::auth::{CurrentUser, Require};
use crate::db::DbConnection;
use crate::db::buildings::{self, Building, BuildingRow, Reach};
use crate::domain::{Email, FieldErrors, Permission};
use crate::error::AppError;
use crate::ops;
use crate::ops::buildings::{BuildingForm, Rejected};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other, urlencode};

const PER_PAGE: i64 = 50;
/// How many accounts without buildings the first page names.
const EMPTY_ACCOUNTS_SHOWN: i64 = 50;

struct AccountGroup {
    id: i64,
    name: String,
    buildings: Vec<BuildingView>,
}

struct BuildingView {
    id: i64,
    name: String,
    address: String,
}

#[derive(Template)]
#[template(path = "buildings/list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    groups: Vec<AccountGroup>,
    /// Accounts without a building yet (id, name).
    empty: Vec<(i64, String)>,
    total: i64,
    reaches_all: bool,
    can_manage: bool,
    next_href: Option<String>,
    previous_href: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListParams {
    q: String,
    page: i64,
}

fn address(b: &BuildingRow) -> String {
    [b.street.as_str(), b.city.as_str(), b.region.as_str(), b.postal_code.as_str(), b.country.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let q = crate::web::search_text(&params.q);
    // Past the last page there is nothing; a page number so large its offset would overflow
    // is the same.
    let page = params.page.clamp(0, i64::MAX / PER_PAGE - 1);
    let all = user.can(Permission::BuildingsViewAll);
    let (id, search) = (user.id, q.clone());
    let (rows, total, empty) = state
        .db
        .run(move |conn| {
            let (rows, total) = buildings::reachable(conn, id, all, &search, page * PER_PAGE, PER_PAGE)?;
            // Accounts nobody can reach through a building yet: on the first page, for those who
            // see every building.
            let empty = match all && page == 0 {
                true => buildings::empty_accounts(conn, &search, EMPTY_ACCOUNTS_SHOWN)?,
                false => Vec::new(),
            };
            Ok((rows, total, empty))
        })
        .await?;
    let mut groups: Vec<AccountGroup> = Vec::new();
    for b in &rows {
        if groups.last().is_none_or(|g| g.name != b.account_name) {
            groups.push(AccountGroup { id: b.account_id, name: b.account_name.clone(), buildings: Vec::new() });
        }
        if let Some(g) = groups.last_mut() {
            g.buildings.push(BuildingView { id: b.id, name: b.name.clone(), address: address(b) });
        }
    }
    let href = |p: i64| format!("/buildings?q={}&page={p}", urlencode(&q));
    let list_page = ListPage {
        layout: user.layout("Accounts & Buildings", Tab::Buildings),
        next_href: ((page + 1) * PER_PAGE < total).then(|| href(page + 1)),
        previous_href: (page > 0).then(|| href(page - 1)),
        groups,
        empty,
        total,
        reaches_all: all,
        can_manage: user.can(Permission::BuildingsManage),
        q,
    };
    render(StatusCode::OK, &list_page)
}

/// The building, if this user may see it: everyone with view_all, else only what they reach.
fn visible(conn: &mut DbConnection, user_id: i64, all: bool, id: i64) -> Result<Building, AppError> {
    let building = buildings::find(conn, id)?.ok_or(AppError::NotFound)?;
    if all || buildings::granted(conn, user_id, &building)? { Ok(building) } else { Err(AppError::NotFound) }
}

#[derive(Template)]
#[template(path = "buildings/show.html")]
struct ShowPage {
    layout: Layout,
    b: Building,
    account: String,
    can_edit: bool,
    can_manage: bool,
    reach: Vec<Reach>,
    grant_email: String,
}

pub async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (uid, all, manage) = (user.id, user.can(Permission::BuildingsViewAll), user.can(Permission::BuildingsManage));
    let (b, account, reach) = state
        .db
        .run(move |conn| {
            let b = visible(conn, uid, all, id)?;
            let account = buildings::find_account(conn, b.account_id)?.map(|a| a.name).unwrap_or_default();
            let reach = if manage { buildings::who_reaches(conn, &b)? } else { Vec::new() };
            Ok((b, account, reach))
        })
        .await?;
    let page = ShowPage {
        layout: user.layout(b.name.clone(), Tab::Buildings),
        can_edit: user.can(Permission::BuildingsManage) || user.can(Permission::BuildingsEdit),
        can_manage: manage,
        b,
        account,
        reach,
        grant_email: String::new(),
    };
    render(StatusCode::OK, &page)
}

pub struct AccountChoice {
    id: i64,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "buildings/form.html")]
struct FormPage {
    layout: Layout,
    id: Option<i64>,
    form: BuildingForm,
    errors: FieldErrors,
    accounts: Vec<AccountChoice>,
    /// Only a manager moves a building to another account.
    can_move: bool,
}

fn account_choices(conn: &mut DbConnection, selected: &str) -> Result<Vec<AccountChoice>, AppError> {
    Ok(buildings::accounts(conn)?
        .into_iter()
        .map(|a| AccountChoice { selected: a.id.to_string() == selected, id: a.id, name: a.name })
        .collect())
}

pub async fn new(state: web::Data<AppState>, user: Require<ManageBuildings>) -> Result<HttpResponse, AppError> {
    let accounts = state.db.run(|conn| account_choices(conn, "")).await?;
    let page = FormPage {
        layout: user.layout("New building", Tab::Buildings),
        id: None,
        form: BuildingForm::default(),
        errors: FieldErrors::new(),
        accounts,
        can_move: true,
    };
    render(StatusCode::OK, &page)
}

/// The form again, with the messages beside its fields.
async fn refused(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: Option<i64>,
    Rejected { form, errors }: Rejected,
) -> Result<HttpResponse, AppError> {
    let selected = form.account_id.clone();
    let accounts = state.db.run(move |conn| account_choices(conn, &selected)).await?;
    let page = FormPage {
        layout: user.layout(if id.is_some() { "Edit building" } else { "New building" }, Tab::Buildings),
        id,
        form,
        errors,
        accounts,
        can_move: user.can(Permission::BuildingsManage),
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    form: web::Form<BuildingForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let acting = user.acting();
    match ops::apply(&state.db, move |conn| ops::buildings::create(conn, &acting, form)).await? {
        Ok(id) => {
            user.session.success("Building created.");
            Ok(see_other(&format!("/buildings/{id}")))
        }
        Err(rejected) => refused(&state, &user, None, rejected).await,
    }
}

pub async fn edit(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let (b, accounts) = state
        .db
        .run(move |conn| {
            let b = ops::buildings::may_edit(conn, &acting, id)?;
            let accounts = account_choices(conn, &b.account_id.to_string())?;
            Ok((b, accounts))
        })
        .await?;
    let page = FormPage {
        layout: user.layout(format!("Edit {}", b.name), Tab::Buildings),
        id: Some(id),
        form: BuildingForm::of(&b),
        errors: FieldErrors::new(),
        accounts,
        can_move: user.can(Permission::BuildingsManage),
    };
    render(StatusCode::OK, &page)
}

pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    form: web::Form<BuildingForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let acting = user.acting();
    match ops::apply(&state.db, move |conn| ops::buildings::update(conn, &acting, id, form)).await? {
        Ok(()) => {
            user.session.success("Building saved.");
            Ok(see_other(&format!("/buildings/{id}")))
        }
        Err(rejected) => refused(&state, &user, Some(id), rejected).await,
    }
}

#[derive(Template)]
#[template(path = "buildings/delete.html")]
pub(super) struct DeletePage {
    pub(super) layout: Layout,
    pub(super) what: String,
    pub(super) name: String,
    pub(super) action: String,
    pub(super) cancel: String,
    pub(super) grants: i64,
    pub(super) buildings: i64,
}

pub async fn confirm_delete(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (b, grants) = state
        .db
        .run(move |conn| {
            let b = buildings::find(conn, id)?.ok_or(AppError::NotFound)?;
            Ok((b, buildings::grants_on_building(conn, id)?))
        })
        .await?;
    let page = DeletePage {
        layout: user.layout(format!("Delete {}", b.name), Tab::Buildings),
        what: "building".into(),
        name: b.name,
        action: format!("/buildings/{id}/delete"),
        cancel: format!("/buildings/{id}"),
        grants,
        buildings: 0,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let name = ops::apply(&state.db, move |conn| ops::buildings::delete(conn, &acting, id)).await?;
    user.session.success(format!("{name} was deleted."));
    Ok(see_other("/buildings"))
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    revoke: Option<i64>,
}

/// Grants a user the building (by email) or revokes a user's direct grant.
pub async fn access(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    path: web::Path<i64>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| {
        let b = buildings::find(conn, id)?.ok_or(AppError::NotFound)?;
        if let Some(user_id) = form.revoke {
            ops::access::building(conn, &acting, user_id, id, false)?;
            return Ok(format!("Access to {} removed.", b.name));
        }
        // One answer for an address without an account and one beyond the actor's reach:
        // this form tells nobody who has an account.
        let refused = || AppError::Unfit(format!("You can't grant {} to that address.", b.name));
        let email = Email::parse(&form.email).map_err(|_| refused())?;
        let target = crate::db::users::find_by_email(conn, email.as_str())?.ok_or_else(refused)?;
        match ops::access::building(conn, &acting, target.id, id, true) {
            Ok(_) => Ok(format!("{} can reach {}.", target.full_name(), b.name)),
            Err(AppError::Refused(_) | AppError::NotFound) => Err(refused()),
            Err(e) => Err(e),
        }
    })
    .await;
    crate::web::flash_outcome(&user.session, outcome)?;
    Ok(see_other(&format!("/buildings/{id}")))
}
