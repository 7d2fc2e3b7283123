//! Bulk actions on the selected rows of the user list: change group, grant or revoke a
//! building, disable, enable, delete, resend invites. The same rules as the single actions
//! apply to each user, in one transaction; users the actor may not act on are skipped.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;

use super::{check, check_group, field, load_target};
use crate::auth::Require;
use crate::auth::current_user::ManageUsers;
use crate::db::audit::{self, Target};
use crate::db::schema::{building_access, users as users_table};
use crate::db::{buildings, now, users};
use crate::domain::UserStatus;
use crate::domain::reach::Action;
use crate::error::AppError;
use crate::invites::{self, InviteOptions};
use crate::startup::AppState;
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
    let ctx = user.audit.clone();
    let public_url = state.config.public_url.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let rule = match action.as_str() {
                "change_group" => Action::ChangeGroup,
                "grant_building" | "revoke_building" => Action::ChangeAccess,
                "disable" => Action::Disable,
                "enable" => Action::Enable,
                "delete" => Action::Delete,
                "resend_invite" => Action::ResendInvite,
                _ => return Ok(Err("Choose an action.".to_owned())),
            };
            if action == "change_group" {
                let Some(group_id) = group_id else { return Ok(Err("Choose the group to move them to.".to_owned())) };
                if let Err(m) = check_group(conn, &acting, group_id)? {
                    return Ok(Err(m.to_owned()));
                }
            }
            let building = match building_id {
                Some(id) => buildings::find(conn, id)?,
                None => None,
            };
            if action.ends_with("_building") && building.is_none() {
                return Ok(Ok(None));
            }
            let (mut changed, mut skipped) = (0, Vec::new());
            for id in ids {
                let Ok(target) = load_target(conn, id) else { continue };
                let status = target.user.status();
                let fits = match action.as_str() {
                    "disable" => matches!(status, UserStatus::Active | UserStatus::Invited),
                    "enable" => status == UserStatus::Disabled,
                    "delete" => status != UserStatus::Deleted,
                    "resend_invite" => status == UserStatus::Invited,
                    _ => status != UserStatus::Deleted,
                };
                if check(&acting, &target, rule).is_err() || !fits {
                    skipped.push(target.user.email.clone());
                    continue;
                }
                let target_ref = Target::user(id, &target.user.email);
                match action.as_str() {
                    "change_group" => {
                        let group_id = group_id.unwrap_or_default();
                        diesel::update(users_table::table.find(id))
                            .set((
                                users_table::group_id.eq(group_id),
                                users_table::security_stamp.eq(users::new_security_stamp()),
                                users_table::version.eq(users_table::version + 1),
                                users_table::updated_at.eq(now()),
                            ))
                            .execute(conn)?;
                        audit::record(conn, &ctx, "user.updated", target_ref, serde_json::json!({ "before": { "group_id": target.user.group_id }, "after": { "group_id": group_id }, "bulk": true }))?;
                    }
                    "grant_building" => {
                        let b = building.as_ref().map(|b| b.id).unwrap_or_default();
                        let exists: bool = diesel::select(diesel::dsl::exists(building_access::table.find((id, b)))).get_result(conn)?;
                        if !exists {
                            diesel::insert_into(building_access::table)
                                .values((building_access::user_id.eq(id), building_access::building_id.eq(b), building_access::granted_by.eq(acting.id), building_access::granted_at.eq(now())))
                                .execute(conn)?;
                            audit::record(conn, &ctx, "user.access_changed", target_ref, serde_json::json!({ "buildings_added": [b], "bulk": true }))?;
                        }
                    }
                    "revoke_building" => {
                        let b = building.as_ref().map(|b| b.id).unwrap_or_default();
                        if diesel::delete(building_access::table.find((id, b))).execute(conn)? > 0 {
                            audit::record(conn, &ctx, "user.access_changed", target_ref, serde_json::json!({ "buildings_removed": [b], "bulk": true }))?;
                        }
                    }
                    "resend_invite" => {
                        invites::send(conn, &ctx, &public_url, id, &InviteOptions::default())?;
                    }
                    _ => {
                        let to = match action.as_str() {
                            "disable" => UserStatus::Disabled,
                            "delete" => UserStatus::Deleted,
                            _ if target.user.password_hash.is_some() => UserStatus::Active,
                            _ => UserStatus::Invited,
                        };
                        users::set_status(conn, id, to)?;
                        let name = format!("user.{}", if action == "enable" { "enable" } else { action.as_str() });
                        audit::record(conn, &ctx, &name, target_ref, serde_json::json!({ "before": { "status": target.user.status }, "after": { "status": to.as_str() }, "bulk": true }))?;
                    }
                }
                changed += 1;
            }
            let mut message = format!("{changed} user{} changed.", if changed == 1 { "" } else { "s" });
            if !skipped.is_empty() {
                message += &format!(" Skipped (not within your reach, or not in a state for this): {}.", skipped.join(", "));
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
    let query = query.into_inner();
    let ids = selected(&query);
    let action = field(&query, "action");
    let back = back_to(&query);
    if ids.is_empty() || !matches!(action.as_str(), "grant_building" | "revoke_building") {
        user.session.error("Select at least one user and an action first.");
        return Ok(see_other(&back));
    }
    let q = field(&query, "q").trim().chars().take(100).collect::<String>();
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
