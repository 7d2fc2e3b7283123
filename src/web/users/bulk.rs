//! Bulk actions on the selected rows of the user list: change group, grant or revoke a
//! building, disable, enable, delete, resend invites. The same rules as the single actions
//! apply to each user, in one transaction; users the actor may not act on are skipped.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;

use super::{check_group, field};
use crate::auth::Require;
use crate::auth::current_user::ManageUsers;
use crate::db::buildings;
use crate::db::schema::users as users_table;
use crate::error::AppError;
use crate::ops;
use crate::ops::users::StatusChange;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, safe_next, see_other};

/// The selected users' ids (a page holds 200 at most; more are ignored).
fn selected(form: &[(String, String)]) -> Vec<i64> {
    form.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()).take(1000).collect()
}

/// Where to go afterwards: the list view the form came from.
fn back_to(form: &[(String, String)]) -> String {
    match safe_next(Some(field(form, "return_to").as_str())) {
        path if path.starts_with("/users") => path.to_owned(),
        _ => "/users".to_owned(),
    }
}

pub async fn apply(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    // Users are shown here (names, addresses, whether one exists): seeing them needs users.view.
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let form = form.into_inner();
    let ids = selected(&form);
    let action = field(&form, "action");
    let group_id = field(&form, "group_id").parse::<i64>().ok();
    let building_id = field(&form, "building_id").parse::<i64>().ok();
    let back = back_to(&form);
    if ids.is_empty() {
        user.session.error("Select at least one user first.");
        return Ok(see_other(&back));
    }
    // Where a building action without its building goes: the page that picks one.
    let picker = {
        let mut query: Vec<(&str, String)> = vec![("action", action.clone()), ("return_to", back.clone())];
        query.extend(ids.iter().map(|id| ("ids", id.to_string())));
        format!("/users/bulk?{}", serde_urlencoded::to_string(query).map_err(|e| AppError::Internal(e.into()))?)
    };
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let outcome = ops::apply(&state.db, move |conn| {
        let change = match (action.as_str(), group_id, building_id) {
            ("change_group", None, _) => return Ok(Err("Choose the group to move them to.".to_owned())),
            ("change_group", Some(group), _) => {
                if let Some(m) = check_group(conn, &acting, group)? {
                    return Ok(Err(m.to_owned()));
                }
                Change::Group(group)
            }
            ("grant_building" | "revoke_building", _, Some(b)) if buildings::find(conn, b)?.is_some() => {
                Change::Building(b, action == "grant_building")
            }
            ("grant_building" | "revoke_building", _, _) => return Ok(Ok(None)),
            ("resend_invite", _, _) => Change::Resend,
            (other, _, _) => match StatusChange::parse(other) {
                Some(c) => Change::Status(c),
                None => return Ok(Err("Choose an action.".to_owned())),
            },
        };
        let (mut changed, mut skipped) = (0, Vec::new());
        for id in ids {
            let done = match change {
                Change::Group(g) => ops::users::change_group(conn, &acting, id, g).map(drop),
                Change::Building(b, grant) => ops::access::building(conn, &acting, id, b, grant).map(drop),
                Change::Status(c) => ops::users::change_status(conn, &acting, id, c).map(drop),
                Change::Resend => ops::users::resend_invite(conn, &acting, id, &public_url).map(drop),
            };
            match done {
                Ok(()) => changed += 1,
                Err(AppError::Refused(_) | AppError::Unfit(_) | AppError::NotFound) => skipped.push(id),
                Err(e) => return Err(e),
            }
        }
        let mut message = format!("{changed} user{} changed.", if changed == 1 { "" } else { "s" });
        if !skipped.is_empty() {
            message += &format!(
                " Skipped, not within your reach or not in a state for this: {}.",
                some_names(conn, &skipped)?
            );
        }
        Ok(Ok(Some(message)))
    })
    .await?;
    let outcome = match outcome {
        Ok(None) => return Ok(see_other(&picker)),
        Ok(Some(message)) => Ok(message),
        Err(message) => Err(message),
    };
    if user.session.outcome(outcome) {
        state.mail_queued.notify_one();
    }
    Ok(see_other(&back))
}

/// What a bulk action does to each selected user.
#[derive(Clone, Copy)]
enum Change {
    Group(i64),
    Building(i64, bool),
    Status(StatusChange),
    Resend,
}

/// Up to three of the users' names and how many more: a message that fits in a cookie however
/// many were selected.
fn some_names(conn: &mut crate::db::DbConnection, ids: &[i64]) -> Result<String, AppError> {
    const SHOWN: usize = 3;
    let names: Vec<(String, String, String)> = users_table::table
        .filter(users_table::id.eq_any(&ids[..ids.len().min(SHOWN)]))
        .order(users_table::id)
        .select((users_table::first_name, users_table::last_name, users_table::email))
        .load(conn)?;
    let mut text = names.iter().map(|(f, l, e)| format!("{f} {l} ({e})")).collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN {
        text += &format!(" and {} more", ids.len() - SHOWN);
    }
    Ok(text)
}

/// How many buildings the page that picks one lists at most.
const PICK_AT_MOST: i64 = 50;

#[derive(Template)]
#[template(path = "users/bulk_building.html")]
struct BuildingPage {
    layout: Layout,
    grant: bool,
    action: String,
    ids: Vec<i64>,
    names: Vec<String>,
    return_to: String,
    q: String,
    buildings: Vec<(i64, String, String)>,
    /// Whether more buildings match than are listed.
    more: bool,
}

/// "Grant a building" and "Revoke a building" from the list send the selected users here, where
/// the building is found (by name, address or account) and chosen; the list itself carries no
/// picker, so it stays as light with ten thousand buildings as with ten.
pub async fn building_page(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let query = query.into_inner();
    let ids = selected(&query);
    let action = field(&query, "action");
    let back = back_to(&query);
    if ids.is_empty() || !matches!(action.as_str(), "grant_building" | "revoke_building") {
        user.session.error("Select at least one user and an action first.");
        return Ok(see_other(&back));
    }
    let q = crate::web::search_text(&field(&query, "q"));
    let (names, mut buildings) = {
        let (ids, q) = (ids.clone(), q.clone());
        state
            .db
            .run(move |conn| {
                let names: Vec<(String, String)> = users_table::table
                    .filter(users_table::id.eq_any(&ids))
                    .order((users_table::last_name, users_table::first_name, users_table::id))
                    .select((users_table::first_name, users_table::last_name))
                    .load(conn)?;
                Ok((names, buildings::pick(conn, &q, PICK_AT_MOST + 1)?))
            })
            .await?
    };
    let more = buildings.len() as i64 > PICK_AT_MOST;
    buildings.truncate(PICK_AT_MOST as usize);
    let grant = action == "grant_building";
    let page = BuildingPage {
        layout: user.layout(if grant { "Grant a building" } else { "Revoke a building" }, Tab::Users),
        grant,
        action,
        ids,
        names: names.into_iter().map(|(first, last)| format!("{first} {last}")).collect(),
        return_to: back,
        q,
        buildings,
        more,
    };
    render(StatusCode::OK, &page)
}
