//! Property access seen from a user: direct building grants and whole-account grants.

use std::collections::BTreeSet;

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
    let existing_buildings: BTreeSet<i64> = super::buildings::building_ids(conn)?.into_iter().collect();
    let existing_accounts: BTreeSet<i64> = super::buildings::account_ids(conn)?.into_iter().collect();
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
