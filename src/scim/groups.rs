//! `/scim/v2/Groups`: the portal's groups, their members being the users in them. A user is in
//! exactly one group: adding them to a group moves them there, and removing them from one
//! moves them to Customer, the group of self-signup. Renaming, creating and deleting need
//! `groups.manage`; membership needs `users.manage`. A group made here holds no permission
//! until someone gives it some in the Groups tab.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::filter;
use super::schemas::GROUP;
use super::{
    ListParams, ScimError, answer, base, bearer, body_json, created, etag, get, id_of, ids, if_match, list_response,
    patch, plain, project, text, timestamp,
};
use crate::db::groups::{self as groups_db, Group};
use crate::domain::{Permission, PermissionSet};
use crate::error::AppError;
use crate::ops::groups::GroupInput;
use crate::ops::{self, api_tokens::Bearer};
use crate::state::AppState;

/// The group's version: when it last changed, members included, in microseconds.
fn version(g: &Group) -> String {
    g.updated_at.and_utc().timestamp_micros().to_string()
}

fn to_json(g: &Group, members: Option<&[i64]>, base: &str) -> Value {
    let mut r = json!({
        "schemas": [GROUP],
        "id": g.id.to_string(),
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": timestamp(g.created_at),
            "lastModified": timestamp(g.updated_at),
            "location": format!("{base}/Groups/{}", g.id),
            "version": etag(version(g)),
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

/// What the token's scopes allow of a change: `groups.manage` for the group itself,
/// `users.manage` for its members.
struct Scopes {
    groups: bool,
    users: bool,
}

impl Scopes {
    fn of(bearer: &Bearer) -> Scopes {
        Scopes { groups: bearer.allows(Permission::GroupsManage), users: bearer.allows(Permission::UsersManage) }
    }

    fn allow(&self, renames: bool, moves: bool) -> Result<(), ScimError> {
        if (renames && !self.groups) || (moves && !self.users) {
            return Err(ScimError::new(
                StatusCode::FORBIDDEN,
                Some("insufficientScope"),
                "This token's scopes do not allow this change.",
            ));
        }
        Ok(())
    }
}

/// The group, and its members' ids when `with_members` (Customer may hold nearly every user).
async fn fetch(state: &AppState, id: i64, with_members: bool) -> Result<(Group, Vec<i64>), ScimError> {
    let found = state
        .db
        .run(move |conn| match groups_db::find(conn, id)? {
            Some(g) if with_members => Ok(Some((g, ops::groups::member_ids(conn, id)?))),
            Some(g) => Ok(Some((g, Vec::new()))),
            None => Ok(None),
        })
        .await?;
    found.ok_or_else(ScimError::not_found)
}

/// The answer with the group as it is now, its attributes chosen by `params`, its version as
/// the ETag; a 201 with its `Location` when `made`.
async fn respond(state: &AppState, id: i64, params: &ListParams, made: bool) -> Result<HttpResponse, ScimError> {
    let (group, members) = fetch(state, id, !params.leaves_out("members", GROUP)).await?;
    let mut body = to_json(&group, Some(&members), &base(state));
    project(&mut body, params, GROUP);
    let mut res =
        if made { created(&body, &format!("{}/Groups/{id}", base(state))) } else { answer(StatusCode::OK, &body) };
    res.headers_mut().insert(header::ETAG, etag(version(&group)).parse().expect("a valid header"));
    Ok(res)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    let params = ListParams::of(&req)?;
    let filter = params.filter()?;
    let (start, count) = params.window()?;
    // Groups are few: they are filtered and sorted here, on their representation (with their
    // members only when the filter names them).
    let with_members = filter.as_ref().is_some_and(|f| f.names("members"));
    let (groups, members) = state
        .db
        .run(move |conn| {
            let groups = groups_db::list(conn)?;
            let ids: Vec<i64> = if with_members { groups.iter().map(|g| g.id).collect() } else { Vec::new() };
            Ok((groups, ops::groups::members_of(conn, &ids)?))
        })
        .await?;
    let of = |g: &Group| -> Vec<i64> { members.iter().filter(|(group, _)| *group == g.id).map(|(_, u)| *u).collect() };
    let base = base(&state);
    let mut found: Vec<Group> = groups
        .into_iter()
        .filter(|g| {
            filter
                .as_ref()
                .is_none_or(|f| filter::matches(f, &to_json(g, with_members.then(|| of(g)).as_deref(), &base)))
        })
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
    let ids: Vec<i64> =
        if params.leaves_out("members", GROUP) { Vec::new() } else { page.iter().map(|g| g.id).collect() };
    let members = state.db.run(move |conn| ops::groups::members_of(conn, &ids)).await?;
    let of = |g: &Group| -> Vec<i64> { members.iter().filter(|(group, _)| *group == g.id).map(|(_, u)| *u).collect() };
    let resources = page
        .iter()
        .map(|g| {
            let mut r = to_json(g, Some(&of(g)), &base);
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
    respond(&state, id_of(&path)?, &params, false).await
}

pub async fn create_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::GroupsManage)).await?;
    let inc = incoming(&body_json(&body)?)?;
    Scopes::of(&bearer).allow(true, !inc.members.is_empty())?;
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
    respond(&state, id, &ListParams::default(), true).await
}

/// Makes the group what `change` says of its representation, all in one transaction: the
/// token's scopes are judged on what changes there, not on an earlier read.
async fn write(
    state: &AppState,
    bearer: Bearer,
    id: i64,
    if_match: Option<String>,
    change: impl FnOnce(Value) -> Result<Incoming, ScimError> + Send + 'static,
) -> Result<HttpResponse, ScimError> {
    let (base, scopes, actor) = (base(state), Scopes::of(&bearer), bearer.actor);
    ops::apply(&state.db, move |conn| {
        let group = groups_db::find(conn, id)?.ok_or(AppError::NotFound)?;
        if if_match.as_ref().is_some_and(|v| *v != version(&group)) {
            return Ok(Err(ScimError::stale()));
        }
        let members = ops::groups::member_ids(conn, id)?;
        let inc = match change(to_json(&group, Some(&members), &base)) {
            Ok(inc) => inc,
            Err(e) => return Ok(Err(e)),
        };
        let renames = inc.name != group.name || inc.external_id != group.external_id;
        if let Err(e) = scopes.allow(renames, inc.members != members) {
            return Ok(Err(e));
        }
        if ops::groups::rename(conn, &actor, id, &inc.name)?.is_err() {
            return Ok(Err(ScimError::uniqueness("A group with this name exists already.")));
        }
        ops::groups::set_external_id(conn, &actor, id, inc.external_id.as_deref())?;
        ops::groups::set_members(conn, &actor, id, &inc.members)?;
        Ok(Ok(()))
    })
    .await??;
    respond(state, id, &ListParams::default(), false).await
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
    write(&state, bearer, id, if_match(&req), move |_| Ok(inc)).await
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
    write(&state, bearer, id, if_match(&req), move |mut r| {
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
    let (scopes, actor) = (Scopes::of(&bearer), bearer.actor);
    ops::apply(&state.db, move |conn| {
        if let Err(e) = scopes.allow(true, !ops::groups::member_ids(conn, id)?.is_empty()) {
            return Ok(Err(e));
        }
        ops::groups::delete_with_members(conn, &actor, id)?;
        Ok(Ok(()))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
