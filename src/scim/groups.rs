//! `/scim/v2/Groups`: the portal's groups, their members being the users in them. A user is in
//! exactly one group: adding them to a group moves them there, and removing them from one
//! moves them to Customer, the group of self-signup. Renaming, creating and deleting need
//! `groups.manage`; membership needs `users.manage`. A group made here holds no permission
//! until someone gives it some in the Groups tab.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::filter;
use super::schemas::GROUP;
use super::{ListParams, ScimError, answer, base, bearer, body_json, list_response, patch, project};
use crate::db::groups::{self as groups_db, Group};
use crate::db::schema::{groups, users};
use crate::db::{DbConnection, now};
use crate::domain::{Permission, PermissionSet};
use crate::error::AppError;
use crate::ops::groups::GroupInput;
use crate::ops::{self, Actor, api_tokens::Bearer};
use crate::state::AppState;

fn members(conn: &mut DbConnection, id: i64) -> Result<Vec<i64>, AppError> {
    Ok(users::table
        .filter(users::group_id.eq(id))
        .filter(users::status.ne("deleted"))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

fn to_json(g: &Group, members: Option<&[i64]>, base: &str) -> Value {
    let mut r = json!({
        "schemas": [GROUP],
        "id": g.id.to_string(),
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": g.created_at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "lastModified": g.updated_at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "location": format!("{base}/Groups/{}", g.id),
            "version": format!("W/\"{}\"", g.updated_at.and_utc().timestamp_micros()),
        },
    });
    if let Some(x) = &g.external_id {
        r["externalId"] = x.as_str().into();
    }
    if let Some(m) = members.filter(|m| !m.is_empty()) {
        let list: Vec<Value> = m
            .iter()
            .map(|id| json!({ "value": id.to_string(), "$ref": format!("{base}/Users/{id}"), "type": "User" }))
            .collect();
        r["members"] = list.into();
    }
    r
}

/// What a request asks a group to be.
struct Incoming {
    name: String,
    external_id: Option<String>,
    members: Vec<i64>,
}

fn incoming(r: &Value) -> Result<Incoming, ScimError> {
    let get =
        |name: &str| r.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v));
    let name = match get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return Err(ScimError::invalid_value("\"displayName\" is required.")),
    };
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ScimError::invalid_value("\"displayName\" is at most 100 characters of plain text."));
    }
    let external_id = match get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.chars().count() <= 256 && !s.chars().any(char::is_control) => {
            Some(s.trim().to_owned())
        }
        Some(_) => return Err(ScimError::invalid_value("\"externalId\" is at most 256 characters of plain text.")),
    };
    let bad = || ScimError::invalid_value("\"members\" is a list of {\"value\": user id}.");
    let members = match get("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut ids = Vec::new();
            for i in items {
                let v =
                    i.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value"))).map(|(_, v)| v);
                let id = match v {
                    Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad())?,
                    Some(Value::Number(n)) => n.as_i64().ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids
        }
        Some(_) => return Err(bad()),
    };
    Ok(Incoming { name, external_id, members })
}

fn customer(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(groups_db::find_builtin(conn, "customer")?.id)
}

/// Moves each user into the group, and each member no longer listed to Customer.
fn set_members(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    wanted: &[i64],
) -> Result<Result<(), ScimError>, AppError> {
    let current = members(conn, id)?;
    let leaving: Vec<i64> = current.iter().copied().filter(|m| !wanted.contains(m)).collect();
    if !leaving.is_empty() {
        let fallback = customer(conn)?;
        if fallback == id {
            return Ok(Err(ScimError::mutability("A user is always in one group: add them to another group instead.")));
        }
        for m in leaving {
            ops::users::change_group(conn, actor, m, fallback)?;
        }
    }
    for m in wanted.iter().filter(|m| !current.contains(m)) {
        match crate::scim::users::load(conn, *m)? {
            Some(_) => {
                ops::users::change_group(conn, actor, *m, id)?;
            }
            None => return Ok(Err(ScimError::invalid_value(&format!("members: there is no user {m}.")))),
        }
    }
    Ok(Ok(()))
}

fn save_external_id(conn: &mut DbConnection, id: i64, external_id: &Option<String>) -> Result<(), AppError> {
    let saved: Option<String> = groups::table.find(id).select(groups::external_id).first(conn)?;
    if saved != *external_id {
        diesel::update(groups::table.find(id))
            .set((groups::external_id.eq(external_id), groups::updated_at.eq(now())))
            .execute(conn)?;
    }
    Ok(())
}

/// What the token must hold for a change: `groups.manage` for the group itself, `users.manage`
/// for its members.
fn may(bearer: &Bearer, renames: bool, moves: bool) -> Result<(), ScimError> {
    let lacks =
        (renames && !bearer.allows(Permission::GroupsManage)) || (moves && !bearer.allows(Permission::UsersManage));
    if lacks {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            Some("insufficientScope"),
            "This token's scopes do not allow this change.",
        ));
    }
    Ok(())
}

fn id_of(path: &str) -> Result<i64, ScimError> {
    path.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(ScimError::not_found)
}

async fn respond(
    state: &AppState,
    id: i64,
    status: StatusCode,
    params: Option<ListParams>,
) -> Result<HttpResponse, ScimError> {
    let found = state
        .db
        .run(move |conn| match groups_db::find(conn, id)? {
            Some(g) => Ok(Some((members(conn, id)?, g))),
            None => Ok(None),
        })
        .await?;
    let (m, g) = found.ok_or_else(ScimError::not_found)?;
    let mut body = to_json(&g, Some(&m), &base(state));
    if let Some(p) = &params {
        project(&mut body, p, GROUP);
    }
    let mut res = answer(status, &body);
    if status == StatusCode::CREATED {
        let location = format!("{}/Groups/{id}", base(state));
        res.headers_mut().insert(header::LOCATION, location.parse().map_err(|_| ScimError::not_found())?);
    }
    Ok(res)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    let params = web::Query::<ListParams>::from_query(req.query_string())
        .map_err(|_| ScimError::invalid_value("The query string is not understood."))?
        .into_inner();
    let filter = match params.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(filter::parse(f).map_err(|e| ScimError::invalid_filter(&e))?),
        None => None,
    };
    let (start, count) = params.window()?;
    let groups = state.db.run(groups_db::list).await?;
    let base = base(&state);
    // Groups are few: they are filtered and sorted here, on their representation.
    let mut found: Vec<(Group, Value)> = groups
        .into_iter()
        .map(|g| {
            let r = to_json(&g, None, &base);
            (g, r)
        })
        .filter(|(_, r)| filter.as_ref().is_none_or(|f| filter::matches(f, r)))
        .collect();
    match params.sort_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("displayname") => found.sort_by_key(|(g, _)| g.name.to_lowercase()),
        _ => found.sort_by_key(|(g, _)| g.id),
    }
    if params.descending() {
        found.reverse();
    }
    let total = found.len() as i64;
    let page: Vec<Group> = found.into_iter().skip((start - 1) as usize).take(count as usize).map(|(g, _)| g).collect();
    let wants_members = !params.excluded_attributes.as_deref().unwrap_or("").to_ascii_lowercase().contains("members");
    let ids: Vec<i64> = page.iter().map(|g| g.id).collect();
    let all_members = if wants_members {
        state.db.run(move |conn| ids.iter().map(|id| members(conn, *id)).collect::<Result<Vec<_>, _>>()).await?
    } else {
        vec![Vec::new(); page.len()]
    };
    let resources = page
        .iter()
        .zip(all_members)
        .map(|(g, m)| {
            let mut r = to_json(g, wants_members.then_some(&m[..]), &base);
            project(&mut r, &params, GROUP);
            r
        })
        .collect();
    Ok(list_response(total, start, resources))
}

pub async fn get_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    let params = web::Query::<ListParams>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    respond(&state, id_of(&path)?, StatusCode::OK, Some(params)).await
}

pub async fn create_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::GroupsManage)).await?;
    let inc = incoming(&body_json(&body)?)?;
    may(&bearer, true, !inc.members.is_empty())?;
    let actor = bearer.actor;
    let id = ops::apply(&state.db, move |conn| {
        let input =
            GroupInput { name: inc.name.clone(), description: String::new(), permissions: PermissionSet::default() };
        let Ok(id) = ops::groups::create(conn, &actor, &input)? else {
            return Ok(Err(ScimError::uniqueness("A group with this name exists already.")));
        };
        save_external_id(conn, id, &inc.external_id)?;
        if let Err(e) = set_members(conn, &actor, id, &inc.members)? {
            return Err(AppError::BadRequest(e.to_string()));
        }
        Ok(Ok(id))
    })
    .await??;
    respond(&state, id, StatusCode::CREATED, None).await
}

async fn write(
    state: &AppState,
    bearer: Bearer,
    id: i64,
    change: impl FnOnce(Value) -> Result<Incoming, ScimError> + Send + 'static,
) -> Result<HttpResponse, ScimError> {
    let base = base(state);
    let actor = bearer.actor.clone();
    // The change is read first, so the token's scopes are checked against what it changes.
    let (current, current_members) = state
        .db
        .run(move |conn| match groups_db::find(conn, id)? {
            Some(g) => Ok(Some((members(conn, id)?, g))),
            None => Ok(None),
        })
        .await?
        .map(|(m, g)| (g, m))
        .ok_or_else(ScimError::not_found)?;
    let inc = change(to_json(&current, Some(&current_members), &base))?;
    let renames = inc.name != current.name || inc.external_id != current.external_id;
    let moves = inc.members != current_members;
    may(&bearer, renames, moves)?;
    ops::apply(&state.db, move |conn| {
        let (group, permissions) = groups_db::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
        if inc.name != group.name {
            let input = GroupInput { name: inc.name.clone(), description: group.description.clone(), permissions };
            if ops::groups::update(conn, &actor, id, &input)?.is_err() {
                return Ok(Err(ScimError::uniqueness("A group with this name exists already.")));
            }
        }
        save_external_id(conn, id, &inc.external_id)?;
        if let Err(e) = set_members(conn, &actor, id, &inc.members)? {
            return Err(AppError::BadRequest(e.to_string()));
        }
        Ok(Ok(()))
    })
    .await??;
    respond(state, id, StatusCode::OK, None).await
}

pub async fn replace_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, None).await?;
    let id = id_of(&path)?;
    let inc = incoming(&body_json(&body)?)?;
    write(&state, bearer, id, move |_| Ok(inc)).await
}

pub async fn patch_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, None).await?;
    let id = id_of(&path)?;
    let ops = patch::operations(&body_json(&body)?)?;
    write(&state, bearer, id, move |mut r| {
        patch::apply(&mut r, &ops, GROUP, &[])?;
        incoming(&r)
    })
    .await
}

pub async fn delete_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::GroupsManage)).await?;
    let id = id_of(&path)?;
    let has_members = !state.db.run(move |conn| members(conn, id)).await?.is_empty();
    may(&bearer, true, has_members)?;
    let actor = bearer.actor;
    ops::apply(&state.db, move |conn| {
        groups_db::find(conn, id)?.ok_or(AppError::NotFound)?;
        if let Err(e) = set_members(conn, &actor, id, &[])? {
            return Err(AppError::BadRequest(e.to_string()));
        }
        ops::groups::delete(conn, &actor, id)?;
        Ok(Ok::<(), ScimError>(()))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
