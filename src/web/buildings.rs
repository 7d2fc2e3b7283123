//! Accounts & Buildings: everyone sees the buildings they reach, grouped by account. With
//! `buildings.manage`: create, edit and delete accounts and buildings, and see and change who
//! reaches a building. With `buildings.edit`: edit the details of the buildings they reach.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::current_user::ManageBuildings;
use crate::auth::{CurrentUser, Require};
use crate::db::audit::{self, Target};
use crate::db::buildings::{self, Building, BuildingRow, Reach};
use crate::db::schema::{account_access, accounts, building_access, buildings as buildings_table};
use crate::db::{DbConnection, now};
use crate::domain::person_name::short_text;
use crate::domain::{Email, FieldErrors, Permission};
use crate::error::AppError;
use crate::ops;
use crate::startup::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other, urlencode};

const PER_PAGE: i64 = 50;

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
    let (rows, total) =
        state.db.run(move |conn| buildings::reachable(conn, id, all, &search, page * PER_PAGE, PER_PAGE)).await?;
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

/// A building's details as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuildingForm {
    account_id: String,
    name: String,
    street: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
}

struct Details {
    account_id: i64,
    name: String,
    street: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
}

impl BuildingForm {
    fn parse(&self, errors: &mut FieldErrors) -> Option<Details> {
        let account_id = errors.check("account_id", self.account_id.parse::<i64>().map_err(|_| "Choose an account."));
        let name = errors.check("name", short_text(&self.name, 120, true));
        let street = errors.check("street", short_text(&self.street, 200, true));
        let city = errors.check("city", short_text(&self.city, 100, true));
        let region = errors.check("region", short_text(&self.region, 100, false));
        let postal = short_text(&self.postal_code, 20, false).and_then(|p| {
            if p.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
                Ok(p)
            } else {
                Err("Use letters, digits, spaces and hyphens.".into())
            }
        });
        let postal_code = errors.check("postal_code", postal);
        let country = errors.check("country", short_text(&self.country, 60, true));
        Some(Details {
            account_id: account_id?,
            name: name?,
            street: street?,
            city: city?,
            region: region?,
            postal_code: postal_code?,
            country: country?,
        })
    }

    fn of(b: &Building) -> Self {
        BuildingForm {
            account_id: b.account_id.to_string(),
            name: b.name.clone(),
            street: b.street.clone(),
            city: b.city.clone(),
            region: b.region.clone(),
            postal_code: b.postal_code.clone(),
            country: b.country.clone(),
        }
    }
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

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    form: web::Form<BuildingForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let details = form.parse(&mut errors);
    let ctx = user.audit.clone();
    let typed = form.account_id.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some(d) = details.filter(|d| buildings::find_account(conn, d.account_id).ok().flatten().is_some())
            else {
                if errors.get("account_id").is_empty() && errors.is_empty() {
                    errors.add("account_id", "Choose an account.");
                }
                return Ok(Err((errors, account_choices(conn, &typed)?)));
            };
            let at = now();
            let id: i64 = diesel::insert_into(buildings_table::table)
                .values((
                    buildings_table::account_id.eq(d.account_id),
                    buildings_table::name.eq(&d.name),
                    buildings_table::street.eq(&d.street),
                    buildings_table::city.eq(&d.city),
                    buildings_table::region.eq(&d.region),
                    buildings_table::postal_code.eq(&d.postal_code),
                    buildings_table::country.eq(&d.country),
                    buildings_table::created_at.eq(at),
                    buildings_table::updated_at.eq(at),
                ))
                .returning(buildings_table::id)
                .get_result(conn)?;
            audit::record(
                conn,
                &ctx,
                "building.created",
                Target::new("building", id, &d.name),
                serde_json::json!({ "account_id": d.account_id, "name": d.name, "city": d.city }),
            )?;
            Ok(Ok(id))
        })
        .await?;
    match outcome {
        Ok(id) => {
            user.session.success("Building created.");
            Ok(see_other(&format!("/buildings/{id}")))
        }
        Err((errors, accounts)) => {
            let page = FormPage {
                layout: user.layout("New building", Tab::Buildings),
                id: None,
                form,
                errors,
                accounts,
                can_move: true,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Who may edit this building: a manager, or someone with buildings.edit who reaches it.
fn may_edit(conn: &mut DbConnection, user: &crate::ops::Actor, id: i64) -> Result<Building, AppError> {
    let building = buildings::find(conn, id)?.ok_or(AppError::NotFound)?;
    let p = &user.permissions;
    if p.has(Permission::BuildingsManage) {
        return Ok(building);
    }
    let reaches = p.has(Permission::BuildingsViewAll) || buildings::granted(conn, user.id, &building)?;
    if p.has(Permission::BuildingsEdit) && reaches {
        Ok(building)
    } else if reaches {
        Err(AppError::Forbidden)
    } else {
        Err(AppError::NotFound)
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
            let b = may_edit(conn, &acting, id)?;
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
    let mut form = form.into_inner();
    let acting = user.acting();
    let ctx = user.audit.clone();
    let can_move = user.can(Permission::BuildingsManage);
    let (outcome, form) = state
        .db
        .transaction(move |conn| {
            let before = may_edit(conn, &acting, id)?;
            if !can_move {
                form.account_id = before.account_id.to_string();
            }
            let mut errors = FieldErrors::new();
            let details = form.parse(&mut errors).filter(|d| buildings::find_account(conn, d.account_id).ok().flatten().is_some());
            let Some(d) = details.filter(|_| errors.is_empty()) else {
                if errors.is_empty() {
                    errors.add("account_id", "Choose an account.");
                }
                let accounts = account_choices(conn, &form.account_id)?;
                return Ok((Err((errors, accounts)), form));
            };
            diesel::update(buildings_table::table.find(id))
                .set((
                    buildings_table::account_id.eq(d.account_id),
                    buildings_table::name.eq(&d.name),
                    buildings_table::street.eq(&d.street),
                    buildings_table::city.eq(&d.city),
                    buildings_table::region.eq(&d.region),
                    buildings_table::postal_code.eq(&d.postal_code),
                    buildings_table::country.eq(&d.country),
                    buildings_table::updated_at.eq(now()),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &ctx,
                "building.updated",
                Target::new("building", id, &d.name),
                serde_json::json!({
                    "before": { "account_id": before.account_id, "name": before.name, "street": before.street, "city": before.city, "region": before.region, "postal_code": before.postal_code, "country": before.country },
                    "after": { "account_id": d.account_id, "name": d.name, "street": d.street, "city": d.city, "region": d.region, "postal_code": d.postal_code, "country": d.country },
                }),
            )?;
            Ok((Ok(()), form))
        })
        .await?;
    match outcome {
        Ok(()) => {
            user.session.success("Building saved.");
            Ok(see_other(&format!("/buildings/{id}")))
        }
        Err((errors, accounts)) => {
            let page = FormPage {
                layout: user.layout("Edit building", Tab::Buildings),
                id: Some(id),
                form,
                errors,
                accounts,
                can_move,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "buildings/delete.html")]
struct DeletePage {
    layout: Layout,
    what: String,
    name: String,
    action: String,
    cancel: String,
    grants: i64,
    buildings: i64,
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
    let ctx = user.audit.clone();
    let name = state
        .db
        .transaction(move |conn| {
            let b = buildings::find(conn, id)?.ok_or(AppError::NotFound)?;
            let grants = buildings::grants_on_building(conn, id)?;
            diesel::delete(building_access::table.filter(building_access::building_id.eq(id))).execute(conn)?;
            diesel::delete(buildings_table::table.find(id)).execute(conn)?;
            audit::record(
                conn,
                &ctx,
                "building.deleted",
                Target::new("building", id, &b.name),
                serde_json::json!({ "name": b.name, "grants_removed": grants }),
            )?;
            Ok(b.name)
        })
        .await?;
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
    let outcome = state
        .db
        .transaction(move |conn| {
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

/// Creates (no id) or renames an account; names are unique, compared case-insensitively.
async fn save_account(
    state: web::Data<AppState>,
    user: Require<ManageBuildings>,
    id: Option<i64>,
    form: AccountForm,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", short_text(&form.name, 120, true));
    let ctx = user.audit.clone();
    let outcome = match name {
        None => Err(errors),
        Some(name) => {
            state
                .db
                .transaction(move |conn| {
                    let taken = buildings::accounts(conn)?
                        .iter()
                        .any(|a| a.name.to_lowercase() == name.to_lowercase() && Some(a.id) != id);
                    if taken {
                        let mut errors = FieldErrors::new();
                        errors.add("name", "An account has this name already.");
                        return Ok(Err(errors));
                    }
                    let at = now();
                    let id = match id {
                        Some(id) => {
                            let before = buildings::find_account(conn, id)?.ok_or(AppError::NotFound)?;
                            diesel::update(accounts::table.find(id))
                                .set((accounts::name.eq(&name), accounts::updated_at.eq(at)))
                                .execute(conn)?;
                            audit::record(
                                conn,
                                &ctx,
                                "account.updated",
                                Target::new("account", id, &name),
                                serde_json::json!({ "before": { "name": before.name }, "after": { "name": name } }),
                            )?;
                            id
                        }
                        None => {
                            let id: i64 = diesel::insert_into(accounts::table)
                                .values((
                                    accounts::name.eq(&name),
                                    accounts::created_at.eq(at),
                                    accounts::updated_at.eq(at),
                                ))
                                .returning(accounts::id)
                                .get_result(conn)?;
                            audit::record(
                                conn,
                                &ctx,
                                "account.created",
                                Target::new("account", id, &name),
                                serde_json::json!({ "name": name }),
                            )?;
                            id
                        }
                    };
                    Ok(Ok(id))
                })
                .await?
        }
    };
    match outcome {
        Ok(_) => {
            user.session.success("Account saved.");
            Ok(see_other("/buildings"))
        }
        Err(errors) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage { layout: user.layout("Account", Tab::Buildings), id, account_name: form.name, errors },
        ),
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
    let ctx = user.audit.clone();
    let name = state
        .db
        .transaction(move |conn| {
            let account = buildings::find_account(conn, id)?.ok_or(AppError::NotFound)?;
            let grants = buildings::grants_on_account(conn, id)?;
            let ids: Vec<i64> = buildings_table::table
                .filter(buildings_table::account_id.eq(id))
                .select(buildings_table::id)
                .load(conn)?;
            diesel::delete(building_access::table.filter(building_access::building_id.eq_any(&ids))).execute(conn)?;
            diesel::delete(account_access::table.filter(account_access::account_id.eq(id))).execute(conn)?;
            diesel::delete(buildings_table::table.filter(buildings_table::account_id.eq(id))).execute(conn)?;
            diesel::delete(accounts::table.find(id)).execute(conn)?;
            audit::record(
                conn,
                &ctx,
                "account.deleted",
                Target::new("account", id, &account.name),
                serde_json::json!({ "name": account.name, "buildings_removed": ids.len(), "grants_removed": grants }),
            )?;
            Ok(account.name)
        })
        .await?;
    user.session.success(format!("{name} and its buildings were deleted."));
    Ok(see_other("/buildings"))
}
