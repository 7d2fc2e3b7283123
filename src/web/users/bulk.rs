//! Bulk actions on the selected rows of the user list: change group, grant or revoke a
//! building, disable, enable, delete, restore, resend invites. The same rules as the single
//! actions apply to each user, in one transaction; users the actor may not act on are skipped.
//! An action that deletes, disables, moves people to another group or needs a building first
//! shows a page naming each selected person (name and email), where it is confirmed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;

use super::{GroupChoice, check_group, field, group_choices};
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

/// How many users one bulk action takes at most (a page holds 200; more ids are ignored).
const AT_MOST: usize = 1000;

/// The selected users' ids, each once.
fn selected(form: &[(String, String)]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for id in form.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()) {
        if !ids.contains(&id) && ids.len() < AT_MOST {
            ids.push(id);
        }
    }
    ids
}

/// Where to go afterwards: the list view the form came from.
fn back_to(form: &[(String, String)]) -> String {
    match safe_next(Some(field(form, "return_to").as_str())) {
        path if path.starts_with("/users") => path.to_owned(),
        _ => "/users".to_owned(),
    }
}

/// The list view with these users still ticked, for a refusal that changed nothing.
fn back_with_selection(back: &str, ids: &[i64]) -> String {
    if ids.is_empty() {
        return back.to_owned();
    }
    let ticked = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let joint = if back.contains('?') { '&' } else { '?' };
    format!("{back}{joint}selected={ticked}")
}

/// What a bulk action does to each selected user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Group,
    Building {
        grant: bool,
    },
    Status(StatusChange),
    Resend,
    /// Withdraws the open invitations of the selected users.
    Revoke,
}

impl Action {
    fn parse(key: &str) -> Option<Action> {
        match key {
            "change_group" => Some(Action::Group),
            "grant_building" => Some(Action::Building { grant: true }),
            "revoke_building" => Some(Action::Building { grant: false }),
            "resend_invite" => Some(Action::Resend),
            "revoke_invite" => Some(Action::Revoke),
            other => StatusChange::parse(other).map(Action::Status),
        }
    }

    /// Whether it is confirmed on a page naming everyone first: what is hard to see undone.
    fn asks_first(self) -> bool {
        matches!(
            self,
            Action::Group
                | Action::Building { .. }
                | Action::Status(StatusChange::Delete | StatusChange::Disable | StatusChange::Restore)
        )
    }

    /// The confirmation page's title and button, for `n` users.
    fn question(self, n: usize) -> (&'static str, String) {
        let people = if n == 1 { "1 user".to_owned() } else { format!("{n} users") };
        match self {
            Action::Group => ("Change group", format!("Move {people}")),
            Action::Building { grant: true } => ("Grant a building", "Grant".to_owned()),
            Action::Building { grant: false } => ("Revoke a building", "Revoke".to_owned()),
            Action::Status(StatusChange::Delete) => ("Delete users", format!("Delete {people}")),
            Action::Status(StatusChange::Disable) => ("Disable users", format!("Disable {people}")),
            Action::Status(StatusChange::Restore) => ("Restore users", format!("Restore {people}")),
            Action::Status(StatusChange::Enable) => ("Enable users", format!("Enable {people}")),
            Action::Resend => ("Resend invites", format!("Resend to {people}")),
            Action::Revoke => ("Revoke invitations", format!("Revoke the invitations of {people}")),
        }
    }
}

/// Names for a message: "Ava Okafor", "Ava Okafor and Bo Li", "Ava Okafor, Bo Li and 3 others".
fn people(conn: &mut crate::db::DbConnection, ids: &[i64]) -> Result<String, AppError> {
    const SHOWN: usize = 3;
    let shown = if ids.len() > SHOWN { SHOWN - 1 } else { ids.len() };
    let names: Vec<String> = users_table::table
        .filter(users_table::id.eq_any(&ids[..shown]))
        .order(users_table::id)
        .select((users_table::first_name, users_table::last_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(f, l)| format!("{f} {l}").trim().to_owned())
        .collect();
    let others = ids.len() - names.len();
    Ok(match (names.as_slice(), others) {
        ([], _) => String::new(),
        ([one], 0) => one.clone(),
        (names, 0) => format!("{} and {}", names[..names.len() - 1].join(", "), names[names.len() - 1]),
        (names, others) => format!("{} and {others} other{}", names.join(", "), if others == 1 { "" } else { "s" }),
    })
}

/// The query string of the confirmation page for this selection.
fn confirmation(action: &str, ids: &[i64], back: &str) -> Result<String, AppError> {
    let mut query: Vec<(&str, String)> = vec![("action", action.to_owned()), ("return_to", back.to_owned())];
    query.extend(ids.iter().map(|id| ("ids", id.to_string())));
    let query = serde_urlencoded::to_string(query).map_err(|e| AppError::Internal(e.into()))?;
    Ok(format!("/users/bulk?{query}"))
}

/// Up to this many users, a delete's or disable's message links to its undo for the same users.
const UNDO_AT_MOST: usize = 50;
/// The longest undo link kept in the session cookie (which holds 4 KB in all).
const UNDO_LINK_AT_MOST: usize = 1_000;

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
    let key = field(&form, "action");
    let group_id = field(&form, "group_id").parse::<i64>().ok();
    let building_id = field(&form, "building_id").parse::<i64>().ok();
    let back = back_to(&form);
    if ids.is_empty() {
        user.session.error("Select at least one user first.");
        return Ok(see_other(&back));
    }
    let Some(action) = Action::parse(&key) else {
        user.session.error("Choose an action for the selected users.");
        return Ok(see_other(&back_with_selection(&back, &ids)));
    };
    let ready = match action {
        Action::Group => group_id.is_some(),
        Action::Building { .. } => building_id.is_some(),
        _ => true,
    };
    if action.asks_first() && (field(&form, "confirm") != "1" || !ready) {
        return Ok(see_other(&confirmation(&key, &ids, &back)?));
    }
    let ends_on = match (action, super::end_date(&field(&form, "ends_on"))) {
        (Action::Building { grant: true }, Ok(day)) => day,
        (Action::Building { grant: true }, Err(e)) => {
            crate::web::flash_outcome(&user.session, Err::<String, _>(e))?;
            return Ok(see_other(&confirmation(&key, &ids, &back)?));
        }
        _ => None,
    };
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let refused_back = back_with_selection(&back, &ids);
    let at = crate::db::now();
    let outcome = ops::apply(&state.db, move |conn| {
        // Refused before anyone is changed: each grant would otherwise be written, then its end refused.
        if let Some(day) = ends_on
            && day < ops::access_ends::today(&crate::db::settings::Settings::load(conn)?, at)
        {
            return Ok(Err("An end date from today on (the last day access holds).".to_owned()));
        }
        let done: &str = match (action, group_id, building_id) {
            (Action::Group, Some(group), _) => {
                if let Some(m) = check_group(conn, &acting, group)? {
                    return Ok(Err(m.to_owned()));
                }
                "Moved"
            }
            (Action::Building { .. }, _, Some(b)) if buildings::find(conn, b)?.is_none() => {
                return Ok(Err("That building no longer exists.".to_owned()));
            }
            (Action::Building { grant: true }, _, Some(_)) => "Granted the building to",
            (Action::Building { grant: false }, _, Some(_)) => "Revoked the building from",
            (Action::Status(StatusChange::Disable), _, _) => "Disabled",
            (Action::Status(StatusChange::Enable), _, _) => "Enabled",
            (Action::Status(StatusChange::Delete), _, _) => "Deleted",
            (Action::Status(StatusChange::Restore), _, _) => "Restored",
            (Action::Resend, _, _) => "Sent a new invitation to",
            (Action::Revoke, _, _) => "Revoked the invitations of",
            _ => return Ok(Err("Choose the group or building first.".to_owned())),
        };
        let (mut changed, mut skipped) = (Vec::new(), Vec::new());
        for &id in &ids {
            let result = match action {
                Action::Group => ops::users::change_group(conn, &acting, id, group_id.unwrap_or_default()).map(drop),
                Action::Building { grant } => {
                    let building = building_id.unwrap_or_default();
                    ops::access::building(conn, &acting, id, building, grant).and_then(|_| match ends_on {
                        Some(day) if grant => {
                            let ends = [(crate::db::user_access::Grant::Building(building), Some(day))];
                            ops::access_ends::set_grant_ends(conn, &acting, id, &ends, at).map(drop)
                        }
                        _ => Ok(()),
                    })
                }
                Action::Status(c) => ops::users::change_status(conn, &acting, id, c).map(drop),
                Action::Resend => ops::users::resend_invite(conn, &acting, id, &public_url).map(drop),
                Action::Revoke => ops::users::revoke_open_invites(conn, &acting, id).map(drop),
            };
            match result {
                Ok(()) => changed.push(id),
                Err(AppError::Refused(_) | AppError::Unfit(_) | AppError::NotFound) => skipped.push(id),
                Err(e) => return Err(e),
            }
        }
        let mut message = match changed.is_empty() {
            true => "Nobody was changed.".to_owned(),
            false => format!("{done} {}.", people(conn, &changed)?),
        };
        if action == Action::Group && !changed.is_empty() {
            let group = crate::db::groups::find(conn, group_id.unwrap_or_default())?.map(|g| g.name);
            message = format!("Moved {} to {}.", people(conn, &changed)?, group.unwrap_or_default());
        }
        if !skipped.is_empty() {
            message +=
                &format!(" Skipped, not within your reach or not in a state for this: {}.", people(conn, &skipped)?);
        }
        Ok(Ok((message, changed)))
    })
    .await?;
    match outcome {
        Ok((message, changed)) => {
            let undo = match action {
                Action::Status(StatusChange::Delete) => Some(("restore", "Restore them")),
                Action::Status(StatusChange::Disable) => Some(("enable", "Enable them")),
                _ => None,
            };
            match undo {
                // (A link too long for the session cookie is left out: the list still shows them.)
                Some((key, label)) if !changed.is_empty() && changed.len() <= UNDO_AT_MOST => {
                    match confirmation(key, &changed, &back)? {
                        href if href.len() <= UNDO_LINK_AT_MOST => user.session.success_with_link(message, href, label),
                        _ => user.session.success(message),
                    }
                }
                _ => user.session.success(message),
            }
            if action == Action::Resend && !changed.is_empty() {
                state.mail_queued.notify_one();
            }
            Ok(see_other(&back))
        }
        Err(refusal) => {
            user.session.error(refusal);
            Ok(see_other(&refused_back))
        }
    }
}

/// How many buildings the page that picks one lists at most.
const PICK_AT_MOST: i64 = 50;

/// What a building search found: (id, account, name) of each, and whether more matched.
type BuildingSearch = (String, Vec<(i64, String, String)>, bool);

/// A selected user as the confirmation page names them.
struct Person {
    name: String,
    email: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "users/bulk.html")]
struct ConfirmPage {
    layout: Layout,
    action: String,
    heading: &'static str,
    button: String,
    ids: Vec<i64>,
    people: Vec<Person>,
    return_to: String,
    cancel_href: String,
    /// For a change of group: the groups this administrator may assign.
    groups: Option<Vec<GroupChoice>>,
    /// For a building: the search and the buildings it finds.
    building_search: Option<BuildingSearch>,
    delete: bool,
}

/// The page that names each selected user and confirms the action (with, for a change of group
/// or a building, the group or the building to choose): the list itself carries no building
/// picker, so it stays as light with ten thousand buildings as with ten.
pub async fn confirm_page(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let query = query.into_inner();
    let ids = selected(&query);
    let key = field(&query, "action");
    let back = back_to(&query);
    let Some(action) = Action::parse(&key).filter(|_| !ids.is_empty()) else {
        user.session.error("Select at least one user and an action first.");
        return Ok(see_other(&back_with_selection(&back, &ids)));
    };
    let q = crate::web::search_text(&field(&query, "q"));
    let acting = user.acting();
    let (people, groups, found) = {
        let (ids, q) = (ids.clone(), q.clone());
        state
            .db
            .run(move |conn| {
                let people: Vec<(String, String, String, String)> = users_table::table
                    .filter(users_table::id.eq_any(&ids))
                    .order((users_table::last_name, users_table::first_name, users_table::id))
                    .select((users_table::first_name, users_table::last_name, users_table::email, users_table::status))
                    .load(conn)?;
                // No group is chosen in advance: a link cannot prepare a move for one click.
                let groups = match action {
                    Action::Group => Some(group_choices(conn, &acting, "")?),
                    _ => None,
                };
                let found = match action {
                    Action::Building { .. } => Some(buildings::pick(conn, &q, PICK_AT_MOST + 1)?),
                    _ => None,
                };
                Ok((people, groups, found))
            })
            .await?
    };
    let people: Vec<Person> = people
        .into_iter()
        .map(|(first, last, email, status)| Person {
            name: format!("{first} {last}").trim().to_owned(),
            email,
            status: crate::domain::UserStatus::parse(&status).map_or("", crate::domain::UserStatus::label),
        })
        .collect();
    let (heading, button) = action.question(people.len());
    let page = ConfirmPage {
        layout: user.layout(heading, Tab::Users),
        action: key,
        heading,
        button,
        ids,
        people,
        cancel_href: back_with_selection(&back, &selected(&query)),
        return_to: back,
        groups,
        building_search: found.map(|mut found| {
            let more = found.len() as i64 > PICK_AT_MOST;
            found.truncate(PICK_AT_MOST as usize);
            (q, found, more)
        }),
        delete: action == Action::Status(StatusChange::Delete),
    };
    render(StatusCode::OK, &page)
}
