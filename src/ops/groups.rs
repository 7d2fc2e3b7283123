//! Custom groups: create, change and delete. Changing a group's permissions is acting on every
//! member of it, so the rules look at the members too; built-in groups never change.

use diesel::prelude::*;

use super::Actor;
use crate::db::audit::{self, Target as Event};
use crate::db::groups::{self, Group};
use crate::db::schema::{group_permissions, groups as groups_table, users};
use crate::db::{DbConnection, now, users as users_db};
use crate::domain::rules::{self, Person};
use crate::domain::{Permission, PermissionSet};
use crate::error::AppError;

/// A group as a form gives it, parsed.
pub struct GroupInput {
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
}

/// Another group has the name already (compared without case).
#[derive(Debug)]
pub struct NameTaken;

fn name_taken(conn: &mut DbConnection, name: &str, except: Option<i64>) -> Result<bool, AppError> {
    Ok(groups::list(conn)?.iter().any(|g| g.name.to_lowercase() == name.to_lowercase() && Some(g.id) != except))
}

fn set_permissions(conn: &mut DbConnection, id: i64, permissions: &PermissionSet) -> Result<(), AppError> {
    diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(id))).execute(conn)?;
    for p in permissions.iter() {
        diesel::insert_into(group_permissions::table)
            .values((group_permissions::group_id.eq(id), group_permissions::permission.eq(p.key())))
            .execute(conn)?;
    }
    Ok(())
}

fn keys(p: &PermissionSet) -> Vec<&'static str> {
    p.iter().map(Permission::key).collect()
}

/// Whether the actor may change `group` (from `before` to `after`), judged with its members.
fn may_change(
    conn: &mut DbConnection,
    actor: &Actor,
    group: Option<&Group>,
    before: Option<&PermissionSet>,
    after: &PermissionSet,
) -> Result<(), AppError> {
    let members: Vec<(i64, bool)> = match group {
        Some(g) => users::table
            .filter(users::group_id.eq(g.id))
            .filter(users::status.ne("deleted"))
            .select((users::id, users::is_owner))
            .load(conn)?,
        None => Vec::new(),
    };
    let empty = PermissionSet::default();
    let people: Vec<Person<'_>> =
        members.iter().map(|&(id, is_owner)| Person { id, is_owner, permissions: before.unwrap_or(&empty) }).collect();
    let builtin = group.is_some_and(Group::is_builtin);
    rules::may_edit_group(&actor.person(), builtin, before, after, &people).map_err(AppError::Refused)
}

pub fn create(conn: &mut DbConnection, actor: &Actor, input: &GroupInput) -> Result<Result<i64, NameTaken>, AppError> {
    may_change(conn, actor, None, None, &input.permissions)?;
    if name_taken(conn, &input.name, None)? {
        return Ok(Err(NameTaken));
    }
    let at = now();
    let id: i64 = diesel::insert_into(groups_table::table)
        .values((
            groups_table::name.eq(&input.name),
            groups_table::description.eq(&input.description),
            groups_table::created_at.eq(at),
            groups_table::updated_at.eq(at),
        ))
        .returning(groups_table::id)
        .get_result(conn)?;
    set_permissions(conn, id, &input.permissions)?;
    audit::record(
        conn,
        &actor.audit,
        "group.created",
        Event::new("group", id, &input.name),
        serde_json::json!({ "name": input.name, "permissions": keys(&input.permissions) }),
    )?;
    Ok(Ok(id))
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    input: &GroupInput,
) -> Result<Result<(), NameTaken>, AppError> {
    let (group, before) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    may_change(conn, actor, Some(&group), Some(&before), &input.permissions)?;
    if name_taken(conn, &input.name, Some(id))? {
        return Ok(Err(NameTaken));
    }
    diesel::update(groups_table::table.find(id))
        .set((
            groups_table::name.eq(&input.name),
            groups_table::description.eq(&input.description),
            groups_table::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if before != input.permissions {
        set_permissions(conn, id, &input.permissions)?;
        // Members' permissions changed: their sessions start afresh.
        diesel::update(users::table.filter(users::group_id.eq(id)))
            .set(users::security_stamp.eq(users_db::new_security_stamp()))
            .execute(conn)?;
    }
    audit::record(
        conn,
        &actor.audit,
        "group.updated",
        Event::new("group", id, &input.name),
        serde_json::json!({
            "before": { "name": group.name, "permissions": keys(&before) },
            "after": { "name": input.name, "permissions": keys(&input.permissions) },
        }),
    )?;
    Ok(Ok(()))
}

/// Deletes an empty custom group; returns its name.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    let (group, before) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    may_change(conn, actor, Some(&group), Some(&before), &before)?;
    let count: i64 = users::table.filter(users::group_id.eq(id)).count().get_result(conn)?;
    if count > 0 {
        return Err(AppError::Unfit(format!(
            "{} can't be deleted: {count} user{} in it (deleted users included). Move them to another group first.",
            group.name,
            if count == 1 { " is" } else { "s are" }
        )));
    }
    diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(id))).execute(conn)?;
    diesel::delete(groups_table::table.find(id)).execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "group.deleted",
        Event::new("group", id, &group.name),
        serde_json::json!({ "name": group.name, "permissions": keys(&before) }),
    )?;
    Ok(group.name)
}
