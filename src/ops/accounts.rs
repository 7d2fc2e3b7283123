//! Accounts (the portfolios that own buildings): create, rename and delete them; managers only.

use diesel::prelude::*;

use super::Actor;
use super::buildings::must_manage;
use crate::db::audit::{self, Target as Event};
use crate::db::buildings as buildings_db;
use crate::db::schema::{account_access, accounts, building_access, buildings};
use crate::db::{DbConnection, now};
use crate::error::AppError;

/// Another account has the name already (compared without case).
#[derive(Debug)]
pub struct NameTaken;

fn name_taken(conn: &mut DbConnection, name: &str, except: Option<i64>) -> Result<bool, AppError> {
    let name = name.to_lowercase();
    Ok(buildings_db::accounts(conn)?.iter().any(|a| a.name.to_lowercase() == name && Some(a.id) != except))
}

/// Adds an account named `name` (already checked as a name); returns its id.
pub fn create(conn: &mut DbConnection, actor: &Actor, name: &str) -> Result<Result<i64, NameTaken>, AppError> {
    must_manage(actor)?;
    if name_taken(conn, name, None)? {
        return Ok(Err(NameTaken));
    }
    let at = now();
    let id: i64 = diesel::insert_into(accounts::table)
        .values((accounts::name.eq(name), accounts::created_at.eq(at), accounts::updated_at.eq(at)))
        .returning(accounts::id)
        .get_result(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "account.created",
        Event::new("account", id, name),
        serde_json::json!({ "name": name }),
    )?;
    Ok(Ok(id))
}

/// Renames an account.
pub fn rename(conn: &mut DbConnection, actor: &Actor, id: i64, name: &str) -> Result<Result<(), NameTaken>, AppError> {
    must_manage(actor)?;
    if name_taken(conn, name, Some(id))? {
        return Ok(Err(NameTaken));
    }
    let before = buildings_db::find_account(conn, id)?.ok_or(AppError::NotFound)?;
    diesel::update(accounts::table.find(id))
        .set((accounts::name.eq(name), accounts::updated_at.eq(now())))
        .execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "account.updated",
        Event::new("account", id, name),
        serde_json::json!({ "before": { "name": before.name }, "after": { "name": name } }),
    )?;
    Ok(Ok(()))
}

/// Deletes an account with its buildings and every grant of either; returns its name.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    must_manage(actor)?;
    let account = buildings_db::find_account(conn, id)?.ok_or(AppError::NotFound)?;
    let grants = buildings_db::grants_on_account(conn, id)?;
    let ids: Vec<i64> = buildings::table.filter(buildings::account_id.eq(id)).select(buildings::id).load(conn)?;
    diesel::delete(building_access::table.filter(building_access::building_id.eq_any(&ids))).execute(conn)?;
    diesel::delete(account_access::table.filter(account_access::account_id.eq(id))).execute(conn)?;
    diesel::delete(buildings::table.filter(buildings::account_id.eq(id))).execute(conn)?;
    diesel::delete(accounts::table.find(id)).execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "account.deleted",
        Event::new("account", id, &account.name),
        serde_json::json!({ "name": account.name, "buildings_removed": ids.len(), "grants_removed": grants }),
    )?;
    Ok(account.name)
}
