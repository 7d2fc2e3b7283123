//! Groups: the built-in ones with their permissions (read-only; Admin always holds everything),
//! and custom groups made from the permission catalogue, deleted only when empty.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::ManageGroups;
use crate::db::DbConnection;
use crate::db::groups;
use crate::db::schema::users;
use crate::domain::person_name::short_text;
use crate::domain::rules::Refusal;
use crate::domain::{FieldErrors, Permission, PermissionSet};
use crate::error::AppError;
use crate::ops;
use crate::ops::groups::{GroupInput, NameTaken};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{flash_outcome, render, see_other};

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
    /// Not `name`: the form helper's own parameter of that name would hide it.
    group_name: String,
    description: String,
    permissions: Vec<PermissionChoice>,
    errors: FieldErrors,
    members: i64,
    /// The group's two-step requirement and who has not met it (a group that exists).
    two_step: Option<TwoStepView>,
    /// The sign-in providers members may be held to: (id, name, chosen); none for a new group.
    providers: Vec<(i64, String, bool)>,
}

/// What the group page says of two-step sign-in.
pub struct TwoStepView {
    required: bool,
    days: String,
    /// When members without it are sent to set it up, in the viewer's time zone.
    due: String,
    error: String,
    unenrolled_count: i64,
    /// (id, name, email) of the first of them.
    unenrolled: Vec<(i64, String, String)>,
}

/// The view of the group's requirement, with the first 50 members who have not met it.
async fn two_step_view(
    state: &AppState,
    user: &Require<ManageGroups>,
    group: &groups::Group,
    days: Option<String>,
    error: String,
) -> Result<TwoStepView, AppError> {
    let id = group.id;
    let (count, some) = state.db.run(move |conn| crate::ops::groups::without_two_step(conn, id, 50)).await?;
    Ok(TwoStepView {
        required: group.two_step_required_at.is_some(),
        days: days.unwrap_or_else(|| group.two_step_grace_days.to_string()),
        due: group.two_step_due().map(|d| crate::domain::when_in(Some(d), user.time_zone)).unwrap_or_default(),
        error,
        unenrolled_count: count,
        // Who they are is for those who may see users; the others see how many.
        unenrolled: match user.can(Permission::UsersView) {
            true => some.into_iter().map(|u| (u.id, u.full_name(), u.email)).collect(),
            false => Vec::new(),
        },
    })
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
        group_name: String::new(),
        description: String::new(),
        permissions: choices(&user.permissions, &BTreeSet::new()),
        errors: FieldErrors::new(),
        members: 0,
        two_step: None,
        providers: Vec::new(),
    };
    render(StatusCode::OK, &page)
}

pub async fn show(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let group = state.db.run(move |conn| groups::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let two_step = two_step_view(&state, &user, &group, None, String::new()).await?;
    group_page(&state, &user, group, Some(two_step), StatusCode::OK).await
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
fn parse(form: &Sent, actor: &PermissionSet, errors: &mut FieldErrors) -> Option<GroupInput> {
    let name = errors.check("name", short_text(&form.name, 60, true));
    let description = errors.check("description", short_text(&form.description, 300, false));
    let wanted = PermissionSet::from_keys(form.permissions.iter().map(String::as_str));
    if wanted.iter().count() != form.permissions.len() {
        errors.add("permissions", "Choose permissions from the list.");
    } else if !actor.covers(&wanted) {
        errors.add("permissions", "You can't grant a permission you don't hold.");
    }
    let input = GroupInput { name: name?, description: description?, permissions: wanted };
    Some(input).filter(|_| errors.is_empty())
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
        group_name: form.name,
        description: form.description,
        errors,
        members,
        two_step: None,
        providers: Vec::new(),
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
    let Some(input) = parse(&form, &user.permissions, &mut errors) else {
        return refused(&user, None, form, errors, 0).await;
    };
    let acting = user.acting();
    let created = ops::apply(&state.db, move |conn| ops::groups::create(conn, &acting, &input)).await;
    match created {
        Ok(Ok(id)) => {
            user.session.success("Group created.");
            Ok(see_other(&format!("/groups/{id}")))
        }
        Ok(Err(NameTaken)) => {
            errors.add("name", "A group has this name already.");
            refused(&user, None, form, errors, 0).await
        }
        Err(AppError::Refused(refusal)) => {
            errors.add("permissions", refusal.message());
            refused(&user, None, form, errors, 0).await
        }
        Err(e) => Err(e),
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
    let mut errors = FieldErrors::new();
    let Some(input) = parse(&form, &user.permissions, &mut errors) else {
        return refused(&user, Some(id), form, errors, 0).await;
    };
    let acting = user.acting();
    let saved = ops::apply(&state.db, move |conn| ops::groups::update(conn, &acting, id, &input)).await;
    match saved {
        Ok(Ok(())) => {
            user.session.success("Group saved.");
            Ok(see_other(&format!("/groups/{id}")))
        }
        Ok(Err(NameTaken)) => {
            errors.add("name", "A group has this name already.");
            refused(&user, Some(id), form, errors, 0).await
        }
        Err(AppError::Refused(Refusal::BuiltinGroup)) => {
            user.session.error(Refusal::BuiltinGroup.message());
            Ok(see_other(&format!("/groups/{id}")))
        }
        Err(AppError::Refused(refusal)) => {
            errors.add("permissions", refusal.message());
            refused(&user, Some(id), form, errors, 0).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "groups/delete.html")]
struct DeletePage {
    layout: Layout,
    id: i64,
    name: String,
    members: i64,
}

/// Asks before a custom group is deleted (the page works without the script's confirm).
pub async fn confirm_delete(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (group, members) = state
        .db
        .run(move |conn| {
            let group = groups::find(conn, id)?.filter(|g| !g.is_builtin()).ok_or(AppError::NotFound)?;
            Ok((group, members(conn, id)?))
        })
        .await?;
    let page = DeletePage {
        layout: user.layout(format!("Delete {}", group.name), Tab::Groups),
        id,
        name: group.name,
        members,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| ops::groups::delete(conn, &acting, id))
        .await
        .map(|name| format!("{name} was deleted."));
    if flash_outcome(&user.session, outcome)? {
        Ok(see_other("/groups"))
    } else {
        Ok(see_other(&format!("/groups/{id}")))
    }
}

#[derive(Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    provider: String,
}

/// POST `/groups/{id}/sign-in`: hold the members to a sign-in provider, or let them sign in any way.
pub async fn require_provider(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
    form: web::Form<ProviderForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let provider = match form.provider.trim() {
        "" => None,
        p => Some(p.parse::<i64>().map_err(|_| AppError::NotFound)?),
    };
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| ops::groups::require_provider(conn, &acting, id, provider))
        .await
        .map(|()| match provider {
            Some(_) => {
                "Members of this group now sign in through the provider; their password and passkey alone are refused."
                    .to_owned()
            }
            None => "Members of this group may sign in any way they have.".to_owned(),
        });
    flash_outcome(&user.session, outcome)?;
    Ok(see_other(&format!("/groups/{id}")))
}

#[derive(Deserialize)]
pub struct TwoStepForm {
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    days: String,
}

/// POST `/groups/{id}/two-step`: require two-step sign-in of the members, or stop.
pub async fn require_two_step(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
    form: web::Form<TwoStepForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let TwoStepForm { required, days } = form.into_inner();
    let required = required.is_some();
    // Shown again as typed, but for control characters (which make it no number either).
    let typed: String = days.trim().chars().filter(|c| !c.is_control()).take(20).collect();
    let Some(days) = days.trim().parse::<i32>().ok().filter(|d| (0..=90).contains(d)) else {
        let group = state.db.run(move |conn| groups::find(conn, id)).await?.ok_or(AppError::NotFound)?;
        let view = two_step_view(&state, &user, &group, Some(typed), "Give 0 to 90 days.".into()).await?;
        return group_page(&state, &user, group, Some(view), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let acting = user.acting();
    let outcome = crate::ops::apply(&state.db, move |conn| {
        crate::ops::groups::require_two_step(conn, &acting, id, required, days)
    })
    .await
    .map(|mailed| match (required, mailed) {
        (false, _) => "Members of this group may choose whether to use two-step sign-in.".to_owned(),
        (true, 0) => format!("Two-step sign-in is required, with {days} days to set it up."),
        (true, n) => {
            format!("Two-step sign-in is required, with {days} days to set it up; {n} members were told by mail.")
        }
    });
    if crate::web::flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/groups/{id}")))
}

/// POST `/groups/{id}/two-step/remind`: one more mail to each member who has not set it up.
pub async fn remind_two_step(
    state: web::Data<AppState>,
    user: Require<ManageGroups>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = crate::ops::apply(&state.db, move |conn| crate::ops::groups::remind_two_step(conn, &acting, id))
        .await
        .map(|n| format!("Reminded {n} members by mail."));
    if crate::web::flash_outcome(&user.session, outcome)? {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&format!("/groups/{id}")))
}

/// The group's page with this view of its requirement.
async fn group_page(
    state: &AppState,
    user: &Require<ManageGroups>,
    group: groups::Group,
    two_step: Option<TwoStepView>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (id, key) = (group.id, group.builtin_key.clone());
    let (permissions, count, providers) = state
        .db
        .run(move |conn| {
            Ok((groups::permissions(conn, id, key.as_deref())?, members(conn, id)?, crate::db::oidc::list(conn)?))
        })
        .await?;
    let providers = providers.into_iter().map(|p| (p.id, p.name, Some(p.id) == group.sign_in_provider_id)).collect();
    let checked: BTreeSet<&str> = permissions.iter().map(Permission::key).collect();
    let page = FormPage {
        layout: user.layout(group.name.clone(), Tab::Groups),
        id: Some(id),
        builtin: group.is_builtin(),
        permissions: choices(&user.permissions, &checked),
        group_name: group.name,
        description: group.description,
        errors: FieldErrors::new(),
        members: count,
        two_step,
        providers,
    };
    render(status, &page)
}
