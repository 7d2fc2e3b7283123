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

use crate::db::user_access::{Ends, Grant};
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
    /// The whole-account grant's last day ("YYYY-MM-DD"), or "".
    pub ends_on: String,
    /// Every building the account has (more than `buildings` when only some are listed).
    pub building_count: i64,
    pub buildings: Vec<BuildingChoice>,
}

impl AccountChoice {
    /// Whether the user has the whole account or any of its listed buildings.
    pub fn has_grants(&self) -> bool {
        self.whole || self.buildings.iter().any(|b| b.checked)
    }

    /// The listed buildings granted one by one.
    pub fn granted(&self) -> Vec<&BuildingChoice> {
        self.buildings.iter().filter(|b| b.checked).collect()
    }

    /// The listed buildings not granted.
    pub fn others(&self) -> Vec<&BuildingChoice> {
        self.buildings.iter().filter(|b| !b.checked).collect()
    }
}

pub struct BuildingChoice {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub checked: bool,
    /// The grant's last day ("YYYY-MM-DD"), or "".
    pub ends_on: String,
}

/// Every account with its buildings for Add New User; past `LIST_EVERY_BUILDING_UP_TO` buildings,
/// the accounts alone (whole-account grants), with any building already checked.
pub fn access_choices(
    conn: &mut DbConnection,
    access: &crate::db::user_access::Access,
) -> Result<(Vec<AccountChoice>, AccessScope), AppError> {
    use crate::db::buildings;
    let every_building = buildings::count(conn)? <= LIST_EVERY_BUILDING_UP_TO;
    let accounts = if every_building {
        let all = buildings::all_by_account(conn)?;
        choices(conn, all, access, &Ends::default(), true)?
    } else {
        let checked: Vec<i64> = access.buildings.iter().copied().collect();
        let accounts = buildings::account_ids(conn)?;
        let by_account = buildings::some_by_account(conn, &checked, &accounts)?;
        choices(conn, by_account, access, &Ends::default(), false)?
    };
    let scope = AccessScope::listing(&accounts, every_building, String::new(), false);
    Ok((accounts, scope))
}

/// Up to this many buildings, Property Access lists every one; beyond, a user's page lists what
/// they have and what a search finds, so the page stays small with ten thousand buildings.
pub const LIST_EVERY_BUILDING_UP_TO: i64 = 300;
/// How many buildings a Property Access search shows.
const FOUND_BUILDINGS: i64 = 50;

/// What Property Access lists: every building, or the user's grants and the buildings `search`
/// finds (always past `LIST_EVERY_BUILDING_UP_TO`). `shown_*` name what the form holds, so saving
/// changes only that.
pub struct AccessScope {
    pub every_building: bool,
    pub search: String,
    /// Whether the page offers a search (a user's page; Add New User filters in the browser).
    pub searchable: bool,
    pub shown_buildings: String,
    pub shown_accounts: String,
    /// What is granted, in a sentence.
    pub summary: String,
    /// Whether anything listed is granted.
    pub granted_any: bool,
    /// The end date typed for new grants, kept when a form is sent back.
    pub ends_new: String,
}

impl AccessScope {
    fn listing(accounts: &[AccountChoice], every_building: bool, search: String, searchable: bool) -> AccessScope {
        let join = |ids: &mut dyn Iterator<Item = i64>| ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let (shown_buildings, shown_accounts) = if every_building {
            (String::new(), String::new())
        } else {
            (
                join(&mut accounts.iter().flat_map(|a| a.buildings.iter().map(|b| b.id))),
                join(&mut accounts.iter().map(|a| a.id)),
            )
        };
        AccessScope {
            every_building,
            search,
            searchable,
            shown_buildings,
            shown_accounts,
            summary: summary(accounts),
            granted_any: accounts.iter().any(AccountChoice::has_grants),
            ends_new: String::new(),
        }
    }
}

/// "Granted: the whole of Harbor (12 buildings, and any added later) and 2 more buildings."
fn summary(accounts: &[AccountChoice]) -> String {
    let whole: Vec<&AccountChoice> = accounts.iter().filter(|a| a.whole).collect();
    let single: usize = accounts.iter().filter(|a| !a.whole).map(|a| a.granted().len()).sum();
    let buildings = |n: i64| if n == 1 { "1 building".to_owned() } else { format!("{n} buildings") };
    let whole_part = match whole.as_slice() {
        [] => None,
        [one] => Some(format!("the whole of {} ({}, and any added later)", one.name, buildings(one.building_count))),
        many => Some(format!(
            "{} whole accounts ({}, and any added later)",
            many.len(),
            buildings(many.iter().map(|a| a.building_count).sum())
        )),
    };
    match (whole_part, single) {
        (None, 0) => "Nothing granted yet.".to_owned(),
        (None, n) => format!("Granted: {}.", buildings(n as i64)),
        (Some(w), 0) => format!("Granted: {w}."),
        (Some(w), 1) => format!("Granted: {w} and 1 more building."),
        (Some(w), n) => format!("Granted: {w} and {n} more buildings."),
    }
}

pub fn access_view(
    conn: &mut DbConnection,
    access: &crate::db::user_access::Access,
    ends: &Ends,
    search: &str,
) -> Result<(Vec<AccountChoice>, AccessScope), AppError> {
    use crate::db::buildings;
    let search = crate::web::search_text(search);
    if search.is_empty() && buildings::count(conn)? <= LIST_EVERY_BUILDING_UP_TO {
        let all = buildings::all_by_account(conn)?;
        let accounts = choices(conn, all, access, ends, true)?;
        let scope = AccessScope::listing(&accounts, true, search, true);
        return Ok((accounts, scope));
    }
    let (mut ids, mut account_ids): (Vec<i64>, Vec<i64>) =
        (access.buildings.iter().copied().collect(), access.accounts.iter().copied().collect());
    if !search.is_empty() {
        let (found, found_accounts) = buildings::search(conn, &search, FOUND_BUILDINGS)?;
        ids.extend(found);
        account_ids.extend(found_accounts);
    }
    let listed = buildings::some_by_account(conn, &ids, &account_ids)?;
    let accounts = choices(conn, listed, access, ends, false)?;
    let scope = AccessScope::listing(&accounts, false, search, true);
    Ok((accounts, scope))
}

/// The accounts as choices; `complete` says each comes with every one of its buildings, else
/// a whole account's buildings are counted.
fn choices(
    conn: &mut DbConnection,
    by_account: Vec<(crate::db::buildings::Account, Vec<crate::db::buildings::Building>)>,
    access: &crate::db::user_access::Access,
    ends: &Ends,
    complete: bool,
) -> Result<Vec<AccountChoice>, AppError> {
    let day = |d: Option<&chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut accounts = Vec::with_capacity(by_account.len());
    for (account, buildings) in by_account {
        let whole = access.accounts.contains(&account.id);
        let building_count = if complete || !whole {
            buildings.len() as i64
        } else {
            crate::db::buildings::count_of_account(conn, account.id)?
        };
        accounts.push(AccountChoice {
            whole,
            ends_on: day(ends.accounts.get(&account.id)),
            building_count,
            id: account.id,
            name: account.name,
            buildings: buildings
                .into_iter()
                .map(|b| BuildingChoice {
                    checked: access.buildings.contains(&b.id),
                    ends_on: day(ends.buildings.get(&b.id)),
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
        });
    }
    Ok(accounts)
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

/// A typed end date: empty for none.
pub fn end_date(typed: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    match typed.trim() {
        "" => Ok(None),
        typed => chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::Unfit("An end date like 2026-12-31 (the last day access holds).".into())),
    }
}

/// The end dates a Property Access form sets: each listed grant's own (`ends_building_ID`,
/// `ends_account_ID`) while it stays granted, and `ends_new` for what the form grants anew.
pub fn ends_from_form(
    form: &[(String, String)],
    current: &crate::db::user_access::Access,
    wanted: &crate::db::user_access::Access,
) -> Result<Vec<(Grant, Option<chrono::NaiveDate>)>, AppError> {
    let mut ends = Vec::new();
    for (key, value) in form {
        let grant = if let Some(id) = key.strip_prefix("ends_building_").and_then(|id| id.parse().ok()) {
            Grant::Building(id)
        } else if let Some(id) = key.strip_prefix("ends_account_").and_then(|id| id.parse().ok()) {
            Grant::Account(id)
        } else {
            continue;
        };
        let kept = match grant {
            Grant::Building(id) => wanted.buildings.contains(&id) && current.buildings.contains(&id),
            Grant::Account(id) => wanted.accounts.contains(&id) && current.accounts.contains(&id),
        };
        if kept {
            ends.push((grant, end_date(value)?));
        }
    }
    if let Some(day) = end_date(&field(form, "ends_new"))? {
        let new_buildings = wanted.buildings.difference(&current.buildings).map(|id| Grant::Building(*id));
        let new_accounts = wanted.accounts.difference(&current.accounts).map(|id| Grant::Account(*id));
        ends.extend(new_buildings.chain(new_accounts).map(|grant| (grant, Some(day))));
    }
    Ok(ends)
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
