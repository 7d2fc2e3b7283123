//! Property access seen from a user: direct building grants and whole-account grants.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use diesel::prelude::*;

use super::schema::{account_access, building_access};
use super::{DbConnection, now};
use crate::error::AppError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub buildings: BTreeSet<i64>,
    pub accounts: BTreeSet<i64>,
}

pub fn of_user(conn: &mut DbConnection, user_id: i64) -> Result<Access, AppError> {
    let buildings: Vec<i64> = building_access::table
        .filter(building_access::user_id.eq(user_id))
        .select(building_access::building_id)
        .load(conn)?;
    let accounts: Vec<i64> = account_access::table
        .filter(account_access::user_id.eq(user_id))
        .select(account_access::account_id)
        .load(conn)?;
    Ok(Access { buildings: buildings.into_iter().collect(), accounts: accounts.into_iter().collect() })
}

/// What changed when access was set.
#[derive(Debug, Default, serde::Serialize)]
pub struct AccessChange {
    pub buildings_added: Vec<i64>,
    pub buildings_removed: Vec<i64>,
    pub accounts_added: Vec<i64>,
    pub accounts_removed: Vec<i64>,
}

impl AccessChange {
    pub fn is_empty(&self) -> bool {
        self.buildings_added.is_empty()
            && self.buildings_removed.is_empty()
            && self.accounts_added.is_empty()
            && self.accounts_removed.is_empty()
    }
}

/// Makes the user's access exactly `wanted` (ids that no longer exist are ignored).
pub fn set(conn: &mut DbConnection, user_id: i64, wanted: &Access, granted_by: i64) -> Result<AccessChange, AppError> {
    use super::schema::{accounts, buildings};
    // Only the wanted ids are looked up: a user given nothing costs no query here.
    let existing_buildings: BTreeSet<i64> = match wanted.buildings.is_empty() {
        true => BTreeSet::new(),
        false => buildings::table
            .filter(buildings::id.eq_any(&wanted.buildings))
            .select(buildings::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect(),
    };
    let existing_accounts: BTreeSet<i64> = match wanted.accounts.is_empty() {
        true => BTreeSet::new(),
        false => accounts::table
            .filter(accounts::id.eq_any(&wanted.accounts))
            .select(accounts::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect(),
    };
    let current = of_user(conn, user_id)?;
    let at = now();
    let mut change = AccessChange::default();
    for id in wanted.buildings.intersection(&existing_buildings) {
        if !current.buildings.contains(id) {
            diesel::insert_into(building_access::table)
                .values((
                    building_access::user_id.eq(user_id),
                    building_access::building_id.eq(id),
                    building_access::granted_by.eq(granted_by),
                    building_access::granted_at.eq(at),
                ))
                .execute(conn)?;
            change.buildings_added.push(*id);
        }
    }
    for id in current.buildings.difference(&wanted.buildings) {
        diesel::delete(building_access::table.find((user_id, id))).execute(conn)?;
        change.buildings_removed.push(*id);
    }
    for id in wanted.accounts.intersection(&existing_accounts) {
        if !current.accounts.contains(id) {
            diesel::insert_into(account_access::table)
                .values((
                    account_access::user_id.eq(user_id),
                    account_access::account_id.eq(id),
                    account_access::granted_by.eq(granted_by),
                    account_access::granted_at.eq(at),
                ))
                .execute(conn)?;
            change.accounts_added.push(*id);
        }
    }
    for id in current.accounts.difference(&wanted.accounts) {
        diesel::delete(account_access::table.find((user_id, id))).execute(conn)?;
        change.accounts_removed.push(*id);
    }
    Ok(change)
}

/// The last days of a user's grants that end by themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ends {
    pub buildings: BTreeMap<i64, NaiveDate>,
    pub accounts: BTreeMap<i64, NaiveDate>,
}

pub fn ends_of(conn: &mut DbConnection, user_id: i64) -> Result<Ends, AppError> {
    let buildings: Vec<(i64, Option<NaiveDate>)> = building_access::table
        .filter(building_access::user_id.eq(user_id))
        .filter(building_access::ends_on.is_not_null())
        .select((building_access::building_id, building_access::ends_on))
        .load(conn)?;
    let accounts: Vec<(i64, Option<NaiveDate>)> = account_access::table
        .filter(account_access::user_id.eq(user_id))
        .filter(account_access::ends_on.is_not_null())
        .select((account_access::account_id, account_access::ends_on))
        .load(conn)?;
    let known = |rows: Vec<(i64, Option<NaiveDate>)>| rows.into_iter().filter_map(|(id, d)| Some((id, d?))).collect();
    Ok(Ends { buildings: known(buildings), accounts: known(accounts) })
}

/// A grant, by what it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Building(i64),
    Account(i64),
}

/// Sets the last day of a grant the user has (None: it holds until revoked); a new day is warned
/// of afresh. Whether it changed (false too when there is no such grant).
pub fn set_end(
    conn: &mut DbConnection,
    user_id: i64,
    grant: Grant,
    ends_on: Option<NaiveDate>,
) -> Result<bool, AppError> {
    let current: Option<Option<NaiveDate>> = match grant {
        Grant::Building(id) => {
            building_access::table.find((user_id, id)).select(building_access::ends_on).first(conn).optional()?
        }
        Grant::Account(id) => {
            account_access::table.find((user_id, id)).select(account_access::ends_on).first(conn).optional()?
        }
    };
    if current.is_none_or(|day| day == ends_on) {
        return Ok(false);
    }
    let changed = match grant {
        Grant::Building(id) => diesel::update(building_access::table.find((user_id, id)))
            .set((building_access::ends_on.eq(ends_on), building_access::end_warned.eq(false)))
            .execute(conn)?,
        Grant::Account(id) => diesel::update(account_access::table.find((user_id, id)))
            .set((account_access::ends_on.eq(ends_on), account_access::end_warned.eq(false)))
            .execute(conn)?,
    };
    Ok(changed == 1)
}
