//! Buildings: create, edit and delete them, under the same rules whichever door asks.

use diesel::prelude::*;
use serde::Deserialize;

use super::Actor;
use crate::db::audit::{self, Target as Event};
use crate::db::buildings::{self as buildings_db, Building};
use crate::db::schema::{building_access, buildings};
use crate::db::{DbConnection, now};
use crate::domain::person_name::short_text;
use crate::domain::{FieldErrors, Permission};
use crate::error::AppError;

/// A building's details as typed, kept so a refused form shows them again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuildingForm {
    pub account_id: String,
    pub name: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

/// A building's details, parsed: what a create inserts and an edit sets.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = buildings)]
pub struct Details {
    pub account_id: i64,
    pub name: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl BuildingForm {
    pub fn parse(&self, errors: &mut FieldErrors) -> Option<Details> {
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

    /// The form as the building is saved now.
    pub fn of(b: &Building) -> Self {
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

/// Nothing was saved: the messages beside the fields, and the form as it was judged (for who
/// may not move the building, with its own account).
pub struct Rejected {
    pub form: BuildingForm,
    pub errors: FieldErrors,
}

/// Accounts and buildings are changed by managers only.
pub fn must_manage(actor: &Actor) -> Result<(), AppError> {
    if actor.permissions.has(Permission::BuildingsManage) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// The form's details when every field is valid and the account exists.
fn details(
    conn: &mut DbConnection,
    form: &BuildingForm,
    errors: &mut FieldErrors,
) -> Result<Option<Details>, AppError> {
    let Some(d) = form.parse(errors) else {
        return Ok(None);
    };
    if buildings_db::find_account(conn, d.account_id)?.is_none() {
        errors.add("account_id", "Choose an account.");
        return Ok(None);
    }
    Ok(Some(d))
}

/// Adds a building; returns its id.
pub fn create(conn: &mut DbConnection, actor: &Actor, form: BuildingForm) -> Result<Result<i64, Rejected>, AppError> {
    must_manage(actor)?;
    let mut errors = FieldErrors::new();
    let Some(d) = details(conn, &form, &mut errors)? else {
        return Ok(Err(Rejected { form, errors }));
    };
    let at = now();
    let id: i64 = diesel::insert_into(buildings::table)
        .values((&d, buildings::created_at.eq(at), buildings::updated_at.eq(at)))
        .returning(buildings::id)
        .get_result(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "building.created",
        Event::new("building", id, &d.name),
        serde_json::json!({ "account_id": d.account_id, "name": d.name, "city": d.city }),
    )?;
    Ok(Ok(id))
}

/// The building, if the actor may edit it: a manager, or someone with `buildings.edit` who
/// reaches it. Someone who reaches it without the permission is forbidden; to anyone else it
/// does not exist.
pub fn may_edit(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Building, AppError> {
    let building = buildings_db::find(conn, id)?.ok_or(AppError::NotFound)?;
    let p = &actor.permissions;
    if p.has(Permission::BuildingsManage) {
        return Ok(building);
    }
    let reaches = p.has(Permission::BuildingsViewAll) || buildings_db::granted(conn, actor.id, &building)?;
    if p.has(Permission::BuildingsEdit) && reaches {
        Ok(building)
    } else if reaches {
        Err(AppError::Forbidden)
    } else {
        Err(AppError::NotFound)
    }
}

/// Saves a building's details. For an actor who may not move it, the building keeps its account
/// whatever the form says (their page does not even send the field).
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    mut form: BuildingForm,
) -> Result<Result<(), Rejected>, AppError> {
    let before = may_edit(conn, actor, id)?;
    if !actor.permissions.has(Permission::BuildingsManage) {
        form.account_id = before.account_id.to_string();
    }
    let mut errors = FieldErrors::new();
    let Some(d) = details(conn, &form, &mut errors)? else {
        return Ok(Err(Rejected { form, errors }));
    };
    diesel::update(buildings::table.find(id)).set((&d, buildings::updated_at.eq(now()))).execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "building.updated",
        Event::new("building", id, &d.name),
        serde_json::json!({
            "before": { "account_id": before.account_id, "name": before.name, "street": before.street, "city": before.city, "region": before.region, "postal_code": before.postal_code, "country": before.country },
            "after": { "account_id": d.account_id, "name": d.name, "street": d.street, "city": d.city, "region": d.region, "postal_code": d.postal_code, "country": d.country },
        }),
    )?;
    Ok(Ok(()))
}

/// Deletes a building and the direct grants of it; returns its name.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    must_manage(actor)?;
    let b = buildings_db::find(conn, id)?.ok_or(AppError::NotFound)?;
    let grants = buildings_db::grants_on_building(conn, id)?;
    diesel::delete(building_access::table.filter(building_access::building_id.eq(id))).execute(conn)?;
    diesel::delete(buildings::table.find(id)).execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "building.deleted",
        Event::new("building", id, &b.name),
        serde_json::json!({ "name": b.name, "grants_removed": grants }),
    )?;
    Ok(b.name)
}
