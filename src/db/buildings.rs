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

pub fn building_ids(conn: &mut DbConnection) -> Result<Vec<i64>, AppError> {
    Ok(buildings::table.select(buildings::id).load(conn)?)
}

pub fn account_ids(conn: &mut DbConnection) -> Result<Vec<i64>, AppError> {
    Ok(accounts::table.select(accounts::id).load(conn)?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(buildings::table.count().get_result(conn)?)
}
