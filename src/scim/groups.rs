//! `/scim/v2/Groups`: the portal's groups, their members being the users in them. A user is in
//! exactly one group: adding them to a group moves them there, and removing them from one
//! moves them to Customer, the group of self-signup. Renaming, creating and deleting need
//! `groups.manage`; membership needs `users.manage`. A group made here holds no permission
//! until someone gives it some in the Groups tab.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::filter;
use super::schemas::GROUP;
use super::{
    ListParams, ScimError, answer, base, bearer, body_json, created, get, id_of, ids, list_response, patch, plain,
    project, text,
};
use crate::db::groups::{self as groups_db, Group};
use crate::domain::{Permission, PermissionSet};
use crate::ops::groups::GroupInput;
use crate::ops::{self, api_tokens::Bearer};
use crate::state::AppState;

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
    let name = plain(&text(r, "displayName")?, "displayName", 100)?;
    if name.is_empty() {
        return Err(ScimError::invalid_value("\"displayName\" is required."));
    }
    let external_id = Some(plain(&text(r, "externalId")?, "externalId", 256)?).filter(|x| !x.is_empty());
    // In the order of their ids, as the group lists them.
    let members = ids(get(r, "members"), "members")?.into_iter().collect();
    Ok(Incoming { name, external_id, members })
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

/// The group and its members' ids.
async fn fetch(state: &AppState, id: i64) -> Result<(Group, Vec<i64>), ScimError> {
    let found = state
        .db
        .run(move |conn| match groups_db::find(conn, id)? {
            Some(g) => Ok(Some((g, ops::groups::member_ids(conn, id)?))),
            None => Ok(None),
        })
        .await?;
    found.ok_or_else(ScimError::not_found)
}

/// The group as it is now, its attributes chosen by `params`.
async fn current(state: &AppState, id: i64, params: &ListParams) -> Result<Value, ScimError> {
    let (group, members) = fetch(state, id).await?;
    let mut body = to_json(&group, Some(&members), &base(state));
    project(&mut body, params, GROUP);
    Ok(body)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    let params = ListParams::of(&req)?;
    let filter = params.filter()?;
    let (start, count) = params.window()?;
    let groups = state.db.run(groups_db::list).await?;
    let base = base(&state);
    // Groups are few: they are filtered and sorted here, on their representation.
    let mut found: Vec<Group> = groups
        .into_iter()
        .filter(|g| filter.as_ref().is_none_or(|f| filter::matches(f, &to_json(g, None, &base))))
        .collect();
    match params.sort_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("displayname") => found.sort_by_key(|g| g.name.to_lowercase()),
        _ => found.sort_by_key(|g| g.id),
    }
    if params.descending() {
        found.reverse();
    }
    let total = found.len() as i64;
    let page: Vec<Group> = found.into_iter().skip((start - 1) as usize).take(count as usize).collect();
    let wants_members = !params.excluded_attributes.as_deref().unwrap_or("").to_ascii_lowercase().contains("members");
    let ids: Vec<i64> = if wants_members { page.iter().map(|g| g.id).collect() } else { Vec::new() };
    let mut all_members = state
        .db
        .run(move |conn| ids.iter().map(|id| ops::groups::member_ids(conn, *id)).collect::<Result<Vec<_>, _>>())
        .await?
        .into_iter();
    let resources = page
        .iter()
        .map(|g| {
            let members = all_members.next();
            let mut r = to_json(g, members.as_deref(), &base);
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
    let params = ListParams::of(&req)?;
    Ok(answer(StatusCode::OK, &current(&state, id_of(&path)?, &params).await?))
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
        ops::groups::set_external_id(conn, &actor, id, inc.external_id.as_deref())?;
        ops::groups::set_members(conn, &actor, id, &inc.members)?;
        Ok(Ok(id))
    })
    .await??;
    let body = current(&state, id, &ListParams::default()).await?;
    Ok(created(&body, &format!("{}/Groups/{id}", base(&state))))
}

async fn write(
    state: &AppState,
    bearer: Bearer,
    id: i64,
    change: impl FnOnce(Value) -> Result<Incoming, ScimError> + Send + 'static,
) -> Result<HttpResponse, ScimError> {
    // The change is read first, so the token's scopes are checked against what it changes.
    let (group, members) = fetch(state, id).await?;
    let inc = change(to_json(&group, Some(&members), &base(state)))?;
    let renames = inc.name != group.name || inc.external_id != group.external_id;
    may(&bearer, renames, inc.members != members)?;
    let actor = bearer.actor;
    ops::apply(&state.db, move |conn| {
        if ops::groups::rename(conn, &actor, id, &inc.name)?.is_err() {
            return Ok(Err(ScimError::uniqueness("A group with this name exists already.")));
        }
        ops::groups::set_external_id(conn, &actor, id, inc.external_id.as_deref())?;
        ops::groups::set_members(conn, &actor, id, &inc.members)?;
        Ok(Ok(()))
    })
    .await??;
    Ok(answer(StatusCode::OK, &current(state, id, &ListParams::default()).await?))
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

/// Deletes a group, its members moved to Customer first.
pub async fn delete_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::GroupsManage)).await?;
    let id = id_of(&path)?;
    let (_, members) = fetch(&state, id).await?;
    may(&bearer, true, !members.is_empty())?;
    let actor = bearer.actor;
    ops::apply(&state.db, move |conn| {
        ops::groups::set_members(conn, &actor, id, &[])?;
        ops::groups::delete(conn, &actor, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
