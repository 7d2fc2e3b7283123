//! Accounts and their buildings, as the Users tab needs them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{accounts, buildings};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = buildings)]
pub struct Building {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every account with its buildings, both by name.
pub fn all_by_account(conn: &mut DbConnection) -> Result<Vec<(Account, Vec<Building>)>, AppError> {
    let accounts: Vec<Account> = accounts::table.order((accounts::name, accounts::id)).load(conn)?;
    let mut buildings: Vec<Building> = buildings::table.order((buildings::name, buildings::id)).load(conn)?;
    Ok(accounts
        .into_iter()
        .map(|a| {
            let (mine, rest): (Vec<_>, Vec<_>) = buildings.drain(..).partition(|b| b.account_id == a.id);
            buildings = rest;
            (a, mine)
        })
        .collect())
}

/// Part of `all_by_account`: the buildings among `ids` under their accounts, plus the accounts
/// among `account_ids` (with only those of their buildings that are in `ids`), both by name.
pub fn some_by_account(
    conn: &mut DbConnection,
    ids: &[i64],
    account_ids: &[i64],
) -> Result<Vec<(Account, Vec<Building>)>, AppError> {
    let buildings: Vec<Building> =
        buildings::table.filter(buildings::id.eq_any(ids)).order((buildings::name, buildings::id)).load(conn)?;
    let mut wanted: Vec<i64> = buildings.iter().map(|b| b.account_id).chain(account_ids.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let accounts: Vec<Account> =
        accounts::table.filter(accounts::id.eq_any(&wanted)).order((accounts::name, accounts::id)).load(conn)?;
    Ok(accounts
        .into_iter()
        .map(|a| {
            let mine = buildings.iter().filter(|b| b.account_id == a.id).cloned().collect();
            (a, mine)
        })
        .collect())
}

/// A building (joined with its account) whose name, street, city or account name holds `pattern`.
macro_rules! building_matches {
    ($pattern:expr) => {
        super::lower(buildings::name)
            .like(&$pattern)
            .escape('\\')
            .or(super::lower(buildings::city).like(&$pattern).escape('\\'))
            .or(super::lower(buildings::street).like(&$pattern).escape('\\'))
            .or(super::lower(accounts::name).like(&$pattern).escape('\\'))
    };
}

/// Up to `limit` buildings whose name, address or account matches `search`, and the accounts
/// whose name matches it.
pub fn search(conn: &mut DbConnection, search: &str, limit: i64) -> Result<(Vec<i64>, Vec<i64>), AppError> {
    use super::lower;
    let pattern = super::sql::like_pattern(search);
    let buildings = buildings::table
        .inner_join(accounts::table)
        .filter(building_matches!(pattern))
        .order((accounts::name, buildings::name, buildings::id))
        .limit(limit)
        .select(buildings::id)
        .load(conn)?;
    let accounts = accounts::table
        .filter(lower(accounts::name).like(&pattern).escape('\\'))
        .order((accounts::name, accounts::id))
        .limit(limit)
        .select(accounts::id)
        .load(conn)?;
    Ok((buildings, accounts))
}

/// Up to `limit` accounts that have no building yet, whose name holds `search`, by name: (id, name).
pub fn empty_accounts(conn: &mut DbConnection, search: &str, limit: i64) -> Result<Vec<(i64, String)>, AppError> {
    use super::lower;
    let pattern = super::sql::like_pattern(search);
    let with_buildings = buildings::table.select(buildings::account_id);
    Ok(accounts::table
        .filter(diesel::dsl::not(accounts::id.eq_any(with_buildings)))
        .filter(lower(accounts::name).like(&pattern).escape('\\'))
        .order((accounts::name, accounts::id))
        .limit(limit)
        .select((accounts::id, accounts::name))
        .load(conn)?)
}

/// Up to `limit` buildings matching `search` (all when it is empty) as (id, account name,
/// building name), by account then name: for a picker.
pub fn pick(conn: &mut DbConnection, search: &str, limit: i64) -> Result<Vec<(i64, String, String)>, AppError> {
    let pattern = super::sql::like_pattern(search);
    let mut query = buildings::table
        .inner_join(accounts::table)
        .order((accounts::name, buildings::name, buildings::id))
        .select((buildings::id, accounts::name, buildings::name))
        .limit(limit)
        .into_boxed();
    if !search.trim().is_empty() {
        query = query.filter(building_matches!(pattern));
    }
    Ok(query.load(conn)?)
}

pub fn building_ids(conn: &mut DbConnection) -> Result<Vec<i64>, AppError> {
    Ok(buildings::table.select(buildings::id).load(conn)?)
}

pub fn account_ids(conn: &mut DbConnection) -> Result<Vec<i64>, AppError> {
    Ok(accounts::table.select(accounts::id).load(conn)?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(buildings::table.count().get_result(conn)?)
}

/// How many buildings one account has.
pub fn count_of_account(conn: &mut DbConnection, account_id: i64) -> Result<i64, AppError> {
    Ok(buildings::table.filter(buildings::account_id.eq(account_id)).count().get_result(conn)?)
}

/// A building with its account's name, for the lists.
#[derive(Debug, Clone, Queryable)]
pub struct BuildingRow {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub name: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

/// The buildings a user reaches (`all` when their group reaches every building), filtered by
/// a search over name, address and account, ordered by account then name; a page at a time.
pub fn reachable(
    conn: &mut DbConnection,
    user_id: i64,
    all: bool,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<BuildingRow>, i64), AppError> {
    use super::schema::{account_access, building_access};
    let pattern = super::sql::like_pattern(search);
    let direct =
        building_access::table.filter(building_access::user_id.eq(user_id)).select(building_access::building_id);
    let whole = account_access::table.filter(account_access::user_id.eq(user_id)).select(account_access::account_id);
    macro_rules! base {
        () => {
            buildings::table.inner_join(accounts::table).filter(building_matches!(pattern))
        };
    }
    let reach = buildings::id.eq_any(direct).or(buildings::account_id.eq_any(whole));
    // Everything matches for a user who reaches all; otherwise what they were granted.
    let mut rows = base!().into_boxed();
    let mut count = base!().into_boxed();
    if !all {
        rows = rows.filter(reach);
        count = count.filter(reach);
    }
    let rows = rows
        .order((accounts::name, buildings::name, buildings::id))
        .offset(offset)
        .limit(limit)
        .select((
            buildings::id,
            buildings::account_id,
            accounts::name,
            buildings::name,
            buildings::street,
            buildings::city,
            buildings::region,
            buildings::postal_code,
            buildings::country,
        ))
        .load(conn)?;
    let total = count.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Building>, AppError> {
    Ok(buildings::table.find(id).first(conn).optional()?)
}

pub fn find_account(conn: &mut DbConnection, id: i64) -> Result<Option<Account>, AppError> {
    Ok(accounts::table.find(id).first(conn).optional()?)
}

pub fn accounts(conn: &mut DbConnection) -> Result<Vec<Account>, AppError> {
    Ok(accounts::table.order((accounts::name, accounts::id)).load(conn)?)
}

/// Whether the user reaches the building through a direct or whole-account grant.
pub fn granted(conn: &mut DbConnection, user_id: i64, building: &Building) -> Result<bool, AppError> {
    use super::schema::{account_access, building_access};
    let direct: bool =
        diesel::select(diesel::dsl::exists(building_access::table.find((user_id, building.id)))).get_result(conn)?;
    let whole: bool = diesel::select(diesel::dsl::exists(account_access::table.find((user_id, building.account_id))))
        .get_result(conn)?;
    Ok(direct || whole)
}

/// Who reaches a building and why.
#[derive(Debug, Clone)]
pub struct Reach {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub why: &'static str,
    /// The last day the grant holds, when it ends by itself.
    pub ends_on: Option<chrono::NaiveDate>,
}

pub fn who_reaches(conn: &mut DbConnection, building: &Building) -> Result<Vec<Reach>, AppError> {
    use super::schema::{account_access, building_access, group_permissions, groups, users};
    let mut out: Vec<Reach> = Vec::new();
    type Row = (i64, String, String, String, Option<chrono::NaiveDate>);
    let person = |(id, first, last, email, ends_on): Row, why| Reach {
        user_id: id,
        name: format!("{first} {last}"),
        email,
        why,
        ends_on,
    };
    let cols = (users::id, users::first_name, users::last_name, users::email);
    let active = users::status.ne("deleted");
    let direct: Vec<Row> = users::table
        .inner_join(building_access::table.on(building_access::user_id.eq(users::id)))
        .filter(building_access::building_id.eq(building.id))
        .filter(active)
        .select((users::id, users::first_name, users::last_name, users::email, building_access::ends_on))
        .load(conn)?;
    out.extend(direct.into_iter().map(|r| person(r, "direct grant")));
    let whole: Vec<Row> = users::table
        .inner_join(account_access::table.on(account_access::user_id.eq(users::id)))
        .filter(account_access::account_id.eq(building.account_id))
        .filter(users::status.ne("deleted"))
        .select((users::id, users::first_name, users::last_name, users::email, account_access::ends_on))
        .load(conn)?;
    out.extend(whole.into_iter().map(|r| person(r, "whole account")));
    let admin_groups: Vec<i64> = groups::table
        .left_join(group_permissions::table)
        .filter(groups::builtin_key.eq("admin").or(group_permissions::permission.eq("buildings.view_all")))
        .select(groups::id)
        .distinct()
        .load(conn)?;
    let admins: Vec<(i64, String, String, String)> = users::table
        .filter(users::group_id.eq_any(admin_groups))
        .filter(users::status.ne("deleted"))
        .order(users::id)
        .limit(200)
        .select(cols)
        .load(conn)?;
    out.extend(
        admins.into_iter().map(|(id, first, last, email)| {
            person((id, first, last, email, None), "their group reaches every building")
        }),
    );
    Ok(out)
}

/// Grants (direct and whole-account) that go with a building or an account when it is deleted.
pub fn grants_on_building(conn: &mut DbConnection, id: i64) -> Result<i64, AppError> {
    use super::schema::building_access;
    Ok(building_access::table.filter(building_access::building_id.eq(id)).count().get_result(conn)?)
}

pub fn grants_on_account(conn: &mut DbConnection, id: i64) -> Result<i64, AppError> {
    use super::schema::{account_access, building_access};
    let whole: i64 = account_access::table.filter(account_access::account_id.eq(id)).count().get_result(conn)?;
    let direct: i64 = building_access::table
        .inner_join(buildings::table)
        .filter(buildings::account_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(whole + direct)
}
