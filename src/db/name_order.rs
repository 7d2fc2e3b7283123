//! Each user's place in the name order, on SQLite: `users.name_order`, an integer that sorts as
//! (last_name, first_name, id) do, and the rowid of the trigram search index. A search sorted by
//! name reads that index in rowid order and stops after a page, instead of reading and sorting
//! every match (migration 000304).
//!
//! The database's triggers place a new or renamed user between its neighbours. When the
//! neighbours have no room left between them, the user is left unplaced (NULL, and out of the
//! search index), and [`place_unplaced`], which every SQLite transaction runs before it commits,
//! respaces the rows around it; so is anyone a change made by hand left unplaced, at the next
//! transaction or start. PostgreSQL searches with its own trigram index and has no such column.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConnection;
use crate::error::AppError;

/// Places lie strictly between 0 and this.
const END: i64 = 1 << 62;
/// How far apart places are when numbered afresh, and at most when placed one by one: close,
/// since the search index stores the gaps between rowids (2^42 apart tripled its size).
const SPACING: i64 = 1024;
/// Respaced rows are left at least this far apart.
const ROOM: i64 = 256;
/// More unplaced users than this (a bulk load) are placed by numbering everyone afresh.
const RENUMBER_ABOVE: usize = 1_000;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    last_name: String,
    #[diesel(sql_type = Text)]
    first_name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    name_order: Option<i64>,
}

/// Gives every unplaced user a place; nothing to do on PostgreSQL.
pub fn place_unplaced(conn: &mut DbConnection) -> Result<(), AppError> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        return Ok(());
    }
    let unplaced: Vec<Row> = diesel::sql_query(
        "SELECT id, last_name, first_name, name_order FROM users WHERE name_order IS NULL ORDER BY id LIMIT ?",
    )
    .bind::<BigInt, _>(RENUMBER_ABOVE as i64 + 1)
    .load(conn)?;
    if unplaced.len() > RENUMBER_ABOVE {
        return renumber(conn);
    }
    for row in &unplaced {
        respace_around(conn, row)?;
    }
    Ok(())
}

/// Places `row` halfway between its placed neighbours if they have room between them; if not,
/// spreads it and its nearest placed neighbours evenly over the span between the placed rows just
/// outside them, widening the window until each gets room.
fn respace_around(conn: &mut DbConnection, row: &Row) -> Result<(), AppError> {
    let mut reach = 0;
    loop {
        let before = neighbours(conn, row, "<", "DESC", reach + 1)?;
        let after = neighbours(conn, row, ">", "ASC", reach + 1)?;
        let low = if before.len() > reach { before[reach].name_order.unwrap_or(0) } else { 0 };
        let high = if after.len() > reach { after[reach].name_order.unwrap_or(END) } else { END };
        let window: Vec<i64> = before
            .iter()
            .take(reach)
            .rev()
            .map(|r| r.id)
            .chain([row.id])
            .chain(after.iter().take(reach).map(|r| r.id))
            .collect();
        let step = ((high - low) / (window.len() as i64 + 1)).min(SPACING);
        if step >= ROOM || (low == 0 && high == END) {
            diesel::sql_query("UPDATE users SET name_order = NULL WHERE name_order > ? AND name_order < ?")
                .bind::<BigInt, _>(low)
                .bind::<BigInt, _>(high)
                .execute(conn)?;
            for (i, id) in window.iter().enumerate() {
                diesel::sql_query("UPDATE users SET name_order = ? WHERE id = ?")
                    .bind::<BigInt, _>(low + step * (i as i64 + 1))
                    .bind::<BigInt, _>(*id)
                    .execute(conn)?;
            }
            return Ok(());
        }
        reach = (reach * 4).max(8);
    }
}

/// The `limit` placed users nearest to `row` on one side, nearest first.
fn neighbours(conn: &mut DbConnection, row: &Row, op: &str, dir: &str, limit: usize) -> Result<Vec<Row>, AppError> {
    let sql = format!(
        "SELECT id, last_name, first_name, name_order FROM users \
         WHERE (last_name, first_name, id) {op} (?, ?, ?) AND name_order IS NOT NULL \
         ORDER BY last_name {dir}, first_name {dir}, id {dir} LIMIT ?"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(&row.last_name)
        .bind::<Text, _>(&row.first_name)
        .bind::<BigInt, _>(row.id)
        .bind::<BigInt, _>(limit as i64)
        .load(conn)?)
}

/// Numbers everyone `SPACING` apart in name order and fills the search indexes afresh, in order:
/// for a bulk load, far faster than placing a row at a time. The indexes and the trigger that
/// keeps them are dropped and made again from their own definitions meanwhile.
pub(crate) fn renumber(conn: &mut DbConnection) -> Result<(), AppError> {
    #[derive(QueryableByName)]
    struct Definition {
        #[diesel(sql_type = Text)]
        sql: String,
    }
    let definition = |conn: &mut DbConnection, name: &str| -> Result<String, AppError> {
        let d: Definition =
            diesel::sql_query("SELECT sql FROM sqlite_master WHERE name = ?").bind::<Text, _>(name).get_result(conn)?;
        Ok(d.sql)
    };
    // Each index and the text it holds, after a space (migration 000309): the whole searched
    // text, and the names and email alone.
    let whole = format!("' ' || {}", super::directory::SEARCHED);
    let people = "' ' || first_name || ' ' || last_name || ' ' || email".to_owned();
    let indexes = [("users_search", whole), ("users_search_people", people)];
    let trigger = definition(conn, "users_search_place")?;
    let mut made = Vec::new();
    for (index, _) in &indexes {
        made.push(definition(conn, index)?);
    }
    conn.batch_execute(
        "DROP TRIGGER users_search_place; DROP TABLE users_search; DROP TABLE users_search_people;
         UPDATE users SET name_order = NULL WHERE name_order IS NOT NULL;
         UPDATE users SET name_order = ranked.n * 1024
         FROM (SELECT id, row_number() OVER (ORDER BY last_name, first_name, id) AS n FROM users) AS ranked
         WHERE users.id = ranked.id;",
    )?;
    for ((index, text), made) in indexes.into_iter().zip(made) {
        conn.batch_execute(&made)?;
        conn.batch_execute(&format!(
            "INSERT INTO {index} (rowid, doc) SELECT name_order, {text} FROM users ORDER BY name_order"
        ))?;
    }
    conn.batch_execute(&trigger)?;
    Ok(())
}
