//! The Users tab: the directory and every user's lifecycle.

pub mod bulk;
pub mod export;
pub mod history;
pub mod impersonate;
pub mod import;
pub mod lifecycle;
pub mod list;
pub mod new;
pub mod show;

use crate::db::{DbConnection, groups};
use crate::domain::rules;
use crate::error::AppError;
use crate::ops::Actor;

/// A group as a choice in a form.
pub struct GroupChoice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

/// Whether `actor` may put a new user into `group_id`: the group's message, or None.
pub fn check_group(conn: &mut DbConnection, actor: &Actor, group_id: i64) -> Result<Option<&'static str>, AppError> {
    Ok(match groups::with_permissions(conn, group_id)? {
        None => Some("Choose a group."),
        Some((_, permissions)) => rules::may_assign(&actor.person(), &permissions).err().map(rules::Refusal::message),
    })
}

/// The groups `actor` may assign, with `selected` marked.
pub fn group_choices(conn: &mut DbConnection, actor: &Actor, selected: &str) -> Result<Vec<GroupChoice>, AppError> {
    Ok(groups::list_with_permissions(conn)?
        .into_iter()
        .filter(|(_, p)| rules::may_assign(&actor.person(), p).is_ok())
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

/// Every account with its buildings for Add New User; past `LIST_EVERY_BUILDING_UP_TO` buildings,
/// the accounts alone (whole-account grants), with any building already checked. The flag says
/// whether every building is listed.
pub fn access_choices(
    conn: &mut DbConnection,
    access: &crate::db::user_access::Access,
) -> Result<(Vec<AccountChoice>, bool), AppError> {
    use crate::db::buildings;
    if buildings::count(conn)? <= LIST_EVERY_BUILDING_UP_TO {
        return Ok((choices(buildings::all_by_account(conn)?, access), true));
    }
    let checked: Vec<i64> = access.buildings.iter().copied().collect();
    let accounts = buildings::account_ids(conn)?;
    let by_account = buildings::some_by_account(conn, &checked, &accounts)?;
    Ok((choices(by_account, access), false))
}

/// Up to this many buildings, Property Access lists every one; beyond, a user's page lists what
/// they have and what a search finds, so the page stays small with ten thousand buildings.
pub const LIST_EVERY_BUILDING_UP_TO: i64 = 300;
/// How many buildings a Property Access search shows.
const FOUND_BUILDINGS: i64 = 50;

/// What Property Access on a user's page lists: every building, or (past
/// `LIST_EVERY_BUILDING_UP_TO`) the user's grants and the buildings `search` finds. `shown_*`
/// name what the form holds, so saving changes only that.
pub struct AccessScope {
    pub every_building: bool,
    pub search: String,
    pub shown_buildings: String,
    pub shown_accounts: String,
}

pub fn access_view(
    conn: &mut DbConnection,
    access: &crate::db::user_access::Access,
    search: &str,
) -> Result<(Vec<AccountChoice>, AccessScope), AppError> {
    use crate::db::buildings;
    let search = crate::web::search_text(search);
    if buildings::count(conn)? <= LIST_EVERY_BUILDING_UP_TO {
        let accounts = choices(buildings::all_by_account(conn)?, access);
        let scope =
            AccessScope { every_building: true, search, shown_buildings: String::new(), shown_accounts: String::new() };
        return Ok((accounts, scope));
    }
    let (mut ids, mut account_ids): (Vec<i64>, Vec<i64>) =
        (access.buildings.iter().copied().collect(), access.accounts.iter().copied().collect());
    if !search.is_empty() {
        let (found, found_accounts) = buildings::search(conn, &search, FOUND_BUILDINGS)?;
        ids.extend(found);
        account_ids.extend(found_accounts);
    }
    let accounts = choices(buildings::some_by_account(conn, &ids, &account_ids)?, access);
    let join = |ids: &mut dyn Iterator<Item = i64>| ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let scope = AccessScope {
        shown_buildings: join(&mut accounts.iter().flat_map(|a| a.buildings.iter().map(|b| b.id))),
        shown_accounts: join(&mut accounts.iter().map(|a| a.id)),
        every_building: false,
        search,
    };
    Ok((accounts, scope))
}

fn choices(
    by_account: Vec<(crate::db::buildings::Account, Vec<crate::db::buildings::Building>)>,
    access: &crate::db::user_access::Access,
) -> Vec<AccountChoice> {
    by_account
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
        .collect()
}

/// A form field's value (the first, when repeated), or "" when absent.
pub fn field(form: &[(String, String)], key: &str) -> String {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// The access a Property Access form asks for: all of `wanted` when the form listed every
/// building, else `current` changed only where the form showed a checkbox (`shown_buildings`,
/// `shown_accounts`), so grants the page did not list are kept.
pub fn access_within_form(
    form: &[(String, String)],
    current: &crate::db::user_access::Access,
    wanted: crate::db::user_access::Access,
) -> crate::db::user_access::Access {
    let shown = |name: &str| -> Option<std::collections::BTreeSet<i64>> {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.split(',').filter_map(|id| id.trim().parse().ok()).collect())
    };
    let (Some(buildings), Some(accounts)) = (shown("shown_buildings"), shown("shown_accounts")) else {
        return wanted;
    };
    let every = form.iter().any(|(k, v)| k == "all_buildings" && v == "on");
    crate::db::user_access::Access {
        buildings: if every {
            wanted.buildings
        } else {
            &(&current.buildings - &buildings) | &(&wanted.buildings & &buildings)
        },
        accounts: &(&current.accounts - &accounts) | &(&wanted.accounts & &accounts),
    }
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

pub use crate::domain::when_in as when;
