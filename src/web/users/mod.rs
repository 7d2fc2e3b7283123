//! The Users tab: the directory and every user's lifecycle.

pub mod bulk;
pub mod export;
pub mod impersonate;
pub mod import;
pub mod lifecycle;
pub mod list;
pub mod new;
pub mod show;

use crate::auth::current_user::Acting;
use crate::db::{DbConnection, groups, users};
use crate::domain::PermissionSet;
use crate::domain::reach::{self, Action, Actor, Subject};
use crate::error::AppError;

/// A user with their group's permissions, ready for the reach rules.
pub struct Target {
    pub user: users::User,
    pub permissions: PermissionSet,
    pub group_name: String,
}

pub fn load_target(conn: &mut DbConnection, id: i64) -> Result<Target, AppError> {
    let (user, group_name, permissions) = users::find_with_group(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(Target { user, permissions, group_name })
}

/// The reach rules for the signed-in `actor` acting on `target`.
pub fn check(actor: &Acting, target: &Target, action: Action) -> Result<(), &'static str> {
    reach::check(
        &Actor { id: actor.id, is_owner: actor.is_owner, permissions: &actor.permissions },
        &Subject { id: target.user.id, is_owner: target.user.is_owner, permissions: &target.permissions },
        action,
    )
}

/// Whether `actor` may put someone into `group_id`.
pub fn check_group(
    conn: &mut DbConnection,
    actor: &Acting,
    group_id: i64,
) -> Result<Result<(), &'static str>, AppError> {
    let Some(group) = groups::find(conn, group_id)? else {
        return Ok(Err("Choose a group."));
    };
    let permissions = groups::permissions(conn, group.id, group.builtin_key.as_deref())?;
    Ok(reach::may_assign(
        &Actor { id: actor.id, is_owner: actor.is_owner, permissions: &actor.permissions },
        &permissions,
    ))
}

/// A group as a choice in a form.
pub struct GroupChoice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

/// The groups `actor` may assign, with `selected` marked.
pub fn group_choices(conn: &mut DbConnection, actor: &Acting, selected: &str) -> Result<Vec<GroupChoice>, AppError> {
    let actor_reach = Actor { id: actor.id, is_owner: actor.is_owner, permissions: &actor.permissions };
    Ok(groups::list_with_permissions(conn)?
        .into_iter()
        .filter(|(_, p)| reach::may_assign(&actor_reach, p).is_ok())
        .map(|(g, _)| GroupChoice { selected: g.id.to_string() == selected, id: g.id, name: g.name })
        .collect())
}

/// The buildings part of a form: accounts with their buildings, checked as granted.
pub struct AccountChoice {
    pub id: i64,
    pub name: String,
    pub whole: bool,
    pub buildings: Vec<BuildingChoice>,
}

pub struct BuildingChoice {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub checked: bool,
}

pub fn access_choices(
    conn: &mut DbConnection,
    access: &crate::db::user_access::Access,
) -> Result<Vec<AccountChoice>, AppError> {
    Ok(crate::db::buildings::all_by_account(conn)?
        .into_iter()
        .map(|(account, buildings)| AccountChoice {
            whole: access.accounts.contains(&account.id),
            id: account.id,
            name: account.name,
            buildings: buildings
                .into_iter()
                .map(|b| BuildingChoice {
                    checked: access.buildings.contains(&b.id),
                    address: [b.street.as_str(), b.city.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                    id: b.id,
                    name: b.name,
                })
                .collect(),
        })
        .collect())
}

/// Reads repeated `building` / `account` fields (and "every building") into an access set.
pub fn access_from_form(form: &[(String, String)], all_buildings: &[i64]) -> crate::db::user_access::Access {
    let mut access = crate::db::user_access::Access::default();
    for (key, value) in form {
        match (key.as_str(), value.parse::<i64>()) {
            ("building", Ok(id)) => {
                access.buildings.insert(id);
            }
            ("account", Ok(id)) => {
                access.accounts.insert(id);
            }
            _ => {}
        }
    }
    if form.iter().any(|(k, v)| k == "all_buildings" && v == "on") {
        access.buildings.extend(all_buildings);
    }
    access
}

/// A timestamp as people read it.
pub fn when(at: Option<chrono::NaiveDateTime>) -> String {
    at.map_or_else(|| "Never".to_owned(), |t| t.format("%-d %b %Y %H:%M").to_string())
}
