//! Groups: the built-in ones with their permissions (read-only; Admin always holds everything),
//! and custom groups made from the permission catalogue, deleted only when empty.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;

use crate::auth::Require;
use crate::auth::current_user::ManageGroups;
use crate::db::audit::{self, Target};
use crate::db::groups::{self, Group};
use crate::db::schema::{group_permissions, groups as groups_table, users};
use crate::db::{DbConnection, now};
use crate::domain::person_name::short_text;
use crate::domain::{FieldErrors, Permission, PermissionSet};
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

struct GroupRow {
    id: i64,
    name: String,
    description: String,
    builtin: bool,
    members: i64,
    permissions: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "groups/list.html")]
struct ListPage {
    layout: Layout,
    groups: Vec<GroupRow>,
}

fn members(conn: &mut DbConnection, group_id: i64) -> Result<i64, AppError> {
    Ok(users::table
        .filter(users::group_id.eq(group_id))
        .filter(users::status.ne("deleted"))
        .count()
        .get_result(conn)?)
}

pub async fn list(state: web::Data<AppState>, user: Require<ManageGroups>) -> Result<HttpResponse, AppError> {
    let groups = state
        .db
        .run(|conn| {
            groups::list_with_permissions(conn)?
                .into_iter()
                .map(|(g, p)| {
                    Ok(GroupRow {
                        members: members(conn, g.id)?,
                        builtin: g.is_builtin(),
                        permissions: p.iter().map(Permission::key).collect(),
                        id: g.id,
                        name: g.name,
                        description: g.description,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await?;
    render(StatusCode::OK, &ListPage { layout: user.layout("Groups", Tab::Groups), groups })
}

pub struct PermissionChoice {
    pub key: &'static str,
    pub explanation: &'static str,
    pub checked: bool,
    /// The acting user can't grant what they don't hold.
    pub grantable: bool,
}

#[derive(Template)]
#[template(path = "groups/form.html")]
struct FormPage {
    layout: Layout,
    id: Option<i64>,
    builtin: bool,
    name: String,
    description: String,
    permissions: Vec<PermissionChoice>,
    errors: FieldErrors,
    members: i64,
}

fn choices(actor: &PermissionSet, checked: &BTreeSet<&str>) -> Vec<PermissionChoice> {
    Permission::ALL
        .into_iter()
        .map(|p| PermissionChoice {
            key: p.key(),
            explanation: p.explanation(),
            checked: checked.contains(p.key()),
            grantable: actor.has(p),
        })
        .collect()
}

pub async fn new(user: Require<ManageGroups>) -> Result<HttpResponse, AppError> {
    let page = FormPage {
        layout: user.layout("New group", Tab::Groups),
        id: None,
        builtin: false,
        name: String::new(),
        description: String::new(),
        permissions: choices(&user.permissions, &BTreeSet::new()),
        errors: FieldErrors::new(),
        members: 0,
    };
    render(StatusCode::OK, &page)
}

pub async fn show(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (group, permissions, count) = state
        .db
        .run(move |conn| {
            let group = groups::find(conn, id)?.ok_or(AppError::NotFound)?;
            let permissions = groups::permissions(conn, id, group.builtin_key.as_deref())?;
            let count = members(conn, id)?;
            Ok((group, permissions, count))
        })
        .await?;
    let checked: BTreeSet<&str> = permissions.iter().map(Permission::key).collect();
    let page = FormPage {
        layout: user.layout(group.name.clone(), Tab::Groups),
        id: Some(id),
        builtin: group.is_builtin(),
        permissions: choices(&user.permissions, &checked),
        name: group.name,
        description: group.description,
        errors: FieldErrors::new(),
        members: count,
    };
    render(StatusCode::OK, &page)
}

/// The form as sent: name, description and the repeated `permission` fields.
struct Sent {
    name: String,
    description: String,
    permissions: BTreeSet<String>,
}

fn sent(pairs: Vec<(String, String)>) -> Sent {
    let mut s = Sent { name: String::new(), description: String::new(), permissions: BTreeSet::new() };
    for (k, v) in pairs {
        match k.as_str() {
            "name" => s.name = v,
            "description" => s.description = v,
            "permission" => {
                s.permissions.insert(v);
            }
            _ => {}
        }
    }
    s
}

/// Parses the form; permissions must be in the catalogue and held by the actor.
fn parse(form: &Sent, actor: &PermissionSet, errors: &mut FieldErrors) -> Option<(String, String, PermissionSet)> {
    let name = errors.check("name", short_text(&form.name, 60, true));
    let description = errors.check("description", short_text(&form.description, 300, false));
    let wanted = PermissionSet::from_keys(form.permissions.iter().map(String::as_str));
    if wanted.iter().count() != form.permissions.len() {
        errors.add("permissions", "Choose permissions from the list.");
    } else if !actor.covers(&wanted) {
        errors.add("permissions", "You can't grant a permission you don't hold.");
    }
    Some((name?, description?, wanted)).filter(|_| errors.is_empty())
}

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

async fn refused(
    user: &Require<ManageGroups>,
    id: Option<i64>,
    form: Sent,
    errors: FieldErrors,
    members: i64,
) -> Result<HttpResponse, AppError> {
    let checked: BTreeSet<&str> = form.permissions.iter().map(String::as_str).collect();
    let page = FormPage {
        layout: user.layout(if id.is_some() { "Edit group" } else { "New group" }, Tab::Groups),
        id,
        builtin: false,
        permissions: choices(&user.permissions, &checked),
        name: form.name,
        description: form.description,
        errors,
        members,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form = sent(form.into_inner());
    let mut errors = FieldErrors::new();
    let Some((name, description, permissions)) = parse(&form, &user.permissions, &mut errors) else {
        return refused(&user, None, form, errors, 0).await;
    };
    let ctx = user.audit.clone();
    let created = state
        .db
        .transaction(move |conn| {
            if name_taken(conn, &name, None)? {
                return Ok(None);
            }
            let at = now();
            let id: i64 = diesel::insert_into(groups_table::table)
                .values((
                    groups_table::name.eq(&name),
                    groups_table::description.eq(&description),
                    groups_table::created_at.eq(at),
                    groups_table::updated_at.eq(at),
                ))
                .returning(groups_table::id)
                .get_result(conn)?;
            set_permissions(conn, id, &permissions)?;
            let keys: Vec<&str> = permissions.iter().map(Permission::key).collect();
            audit::record(
                conn,
                &ctx,
                "group.created",
                Target::new("group", id, &name),
                serde_json::json!({ "name": name, "permissions": keys }),
            )?;
            Ok(Some(id))
        })
        .await?;
    match created {
        Some(id) => {
            user.session.success("Group created.");
            Ok(see_other(&format!("/groups/{id}")))
        }
        None => {
            errors.add("name", "A group has this name already.");
            refused(&user, None, form, errors, 0).await
        }
    }
}

pub async fn update(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = sent(form.into_inner());
    let group: Group = state.db.run(move |conn| groups::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    if group.is_builtin() {
        user.session.error("Built-in groups keep their name and permissions. Make a custom group instead.");
        return Ok(see_other(&format!("/groups/{id}")));
    }
    let mut errors = FieldErrors::new();
    let Some((name, description, permissions)) = parse(&form, &user.permissions, &mut errors) else {
        return refused(&user, Some(id), form, errors, 0).await;
    };
    let ctx = user.audit.clone();
    let saved = state
        .db
        .transaction(move |conn| {
            if name_taken(conn, &name, Some(id))? {
                return Ok(false);
            }
            let before = groups::permissions(conn, id, None)?;
            diesel::update(groups_table::table.find(id))
                .set((groups_table::name.eq(&name), groups_table::description.eq(&description), groups_table::updated_at.eq(now())))
                .execute(conn)?;
            set_permissions(conn, id, &permissions)?;
            // Members' permissions changed: their sessions start afresh.
            diesel::update(users::table.filter(users::group_id.eq(id)))
                .set(users::security_stamp.eq(crate::db::users::new_security_stamp()))
                .execute(conn)?;
            let keys = |p: &PermissionSet| p.iter().map(Permission::key).collect::<Vec<_>>();
            audit::record(
                conn,
                &ctx,
                "group.updated",
                Target::new("group", id, &name),
                serde_json::json!({ "before": { "name": group.name, "permissions": keys(&before) }, "after": { "name": name, "permissions": keys(&permissions) } }),
            )?;
            Ok(true)
        })
        .await?;
    if !saved {
        errors.add("name", "A group has this name already.");
        return refused(&user, Some(id), form, errors, 0).await;
    }
    user.session.success("Group saved.");
    Ok(see_other(&format!("/groups/{id}")))
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let ctx = user.audit.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let group = groups::find(conn, id)?.ok_or(AppError::NotFound)?;
            if group.is_builtin() {
                return Ok(Err("Built-in groups can't be deleted.".to_owned()));
            }
            let count: i64 = users::table.filter(users::group_id.eq(id)).count().get_result(conn)?;
            if count > 0 {
                return Ok(Err(format!(
                    "{} can't be deleted: {count} user{} in it (deleted users included). Move them to another group first.",
                    group.name,
                    if count == 1 { " is" } else { "s are" }
                )));
            }
            diesel::delete(groups_table::table.find(id)).execute(conn)?;
            audit::record(conn, &ctx, "group.deleted", Target::new("group", id, &group.name), serde_json::json!({ "name": group.name }))?;
            Ok(Ok(format!("{} was deleted.", group.name)))
        })
        .await?;
    match outcome {
        Ok(m) => {
            user.session.success(m);
            Ok(see_other("/groups"))
        }
        Err(m) => {
            user.session.error(m);
            Ok(see_other(&format!("/groups/{id}")))
        }
    }
}
