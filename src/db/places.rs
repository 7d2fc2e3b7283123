//! Each user's place in the name order and in the email order, on SQLite: `users.name_order`,
//! an integer that sorts as (last_name, first_name, id) do, the rowid of the trigram search
//! index; and `users.email_order`, sorting as (email, id) do, the rowid of the trigram index of
//! names and emails. A search sorted by name or by email reads its index in rowid order and
//! stops after a page, instead of reading and sorting every match (migrations 000304, 000310).
//!
//! The database's triggers place a new, renamed or re-addressed user between its neighbours.
//! When the neighbours have no room left between them, the user is left unplaced (NULL, and out
//! of that index), and [`place_unplaced`], which every SQLite transaction runs before it
//! commits, respaces the rows around it; so is anyone a change made by hand left unplaced, at
//! the next transaction or start. PostgreSQL searches with its own trigram index and has no
//! such columns.

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

/// An order users are placed in, and the trigram index keyed by it.
pub(crate) struct Order {
    /// The column that holds each user's place.
    pub column: &'static str,
    /// The sorted columns but the id, which comes last.
    pub keys: &'static [&'static str],
    /// The trigger that places a new user (dropped for a bulk load).
    pub placing: &'static str,
    /// The trigram index keyed by the order, the text it holds (each word after two spaces, and
    /// the user's group and status beside it: migration 000311), and the trigger that keeps it
    /// as places change.
    pub index: &'static str,
    text: &'static str,
    keeping: &'static str,
}

/// The name order: the whole searched text.
pub(crate) const NAME: Order = Order {
    column: "name_order",
    keys: &["last_name", "first_name"],
    placing: "users_place",
    index: "users_search",
    text: super::directory::SEARCHED,
    keeping: "users_search_place",
};

/// The email order: names and emails alone.
pub(crate) const EMAIL: Order = Order {
    column: "email_order",
    keys: &["email"],
    placing: "users_email_place",
    index: "users_search_people",
    text: "first_name || ' ' || last_name || ' ' || email",
    keeping: "users_people_place",
};

const ORDERS: [&Order; 2] = [&NAME, &EMAIL];

/// What each index holds beside the text: the user's group and status ("g1. act"), which a
/// search with filters looks for too (`directory::matching`).
pub(crate) const FILTERS: &str = "'g' || group_id || '. ' || substr(status, 1, 3)";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    /// The sorted columns' values (the second, by name only).
    #[diesel(sql_type = Text)]
    k1: String,
    #[diesel(sql_type = Nullable<Text>)]
    k2: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    place: Option<i64>,
}

impl Order {
    /// What a row of this order is read as.
    fn select(&self) -> String {
        let k2 = self.keys.get(1).unwrap_or(&"NULL");
        format!("SELECT id, {} AS k1, {k2} AS k2, {} AS place FROM users", self.keys[0], self.column)
    }
}

/// Gives every unplaced user a place in each order; nothing to do on PostgreSQL.
pub fn place_unplaced(conn: &mut DbConnection) -> Result<(), AppError> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        return Ok(());
    }
    for order in ORDERS {
        let sql = format!("{} WHERE {} IS NULL ORDER BY id LIMIT ?", order.select(), order.column);
        let unplaced: Vec<Row> = diesel::sql_query(sql).bind::<BigInt, _>(RENUMBER_ABOVE as i64 + 1).load(conn)?;
        if unplaced.len() > RENUMBER_ABOVE {
            return renumber(conn);
        }
        for row in &unplaced {
            respace_around(conn, order, row)?;
        }
    }
    Ok(())
}

/// Places `row` halfway between its placed neighbours if they have room between them; if not,
/// spreads it and its nearest placed neighbours evenly over the span between the placed rows just
/// outside them, widening the window until each gets room.
fn respace_around(conn: &mut DbConnection, order: &Order, row: &Row) -> Result<(), AppError> {
    let mut reach = 0;
    loop {
        let before = neighbours(conn, order, row, "<", "DESC", reach + 1)?;
        let after = neighbours(conn, order, row, ">", "ASC", reach + 1)?;
        let low = if before.len() > reach { before[reach].place.unwrap_or(0) } else { 0 };
        let high = if after.len() > reach { after[reach].place.unwrap_or(END) } else { END };
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
            let column = order.column;
            diesel::sql_query(format!("UPDATE users SET {column} = NULL WHERE {column} > ? AND {column} < ?"))
                .bind::<BigInt, _>(low)
                .bind::<BigInt, _>(high)
                .execute(conn)?;
            for (i, id) in window.iter().enumerate() {
                diesel::sql_query(format!("UPDATE users SET {column} = ? WHERE id = ?"))
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
fn neighbours(
    conn: &mut DbConnection,
    order: &Order,
    row: &Row,
    op: &str,
    dir: &str,
    limit: usize,
) -> Result<Vec<Row>, AppError> {
    let keys = order.keys.join(", ");
    let marks = vec!["?"; order.keys.len()].join(", ");
    let sorted: Vec<String> = order.keys.iter().chain(&["id"]).map(|k| format!("{k} {dir}")).collect();
    let sql = format!(
        "{} WHERE ({keys}, id) {op} ({marks}, ?) AND {} IS NOT NULL ORDER BY {} LIMIT ?",
        order.select(),
        order.column,
        sorted.join(", ")
    );
    let query = diesel::sql_query(sql).bind::<Text, _>(&row.k1);
    Ok(match &row.k2 {
        None => query.bind::<BigInt, _>(row.id).bind::<BigInt, _>(limit as i64).load(conn)?,
        Some(k2) => query.bind::<Text, _>(k2).bind::<BigInt, _>(row.id).bind::<BigInt, _>(limit as i64).load(conn)?,
    })
}

/// Numbers everyone `SPACING` apart in each order and fills the search indexes afresh, in order:
/// for a bulk load, far faster than placing a row at a time. The indexes and the triggers that
/// keep them are dropped and made again from their own definitions meanwhile.
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
    let mut made = Vec::new();
    for order in ORDERS {
        made.push((definition(conn, order.index)?, definition(conn, order.keeping)?));
    }
    for order in ORDERS {
        conn.batch_execute(&format!("DROP TRIGGER {}; DROP TABLE {};", order.keeping, order.index))?;
    }
    // Both orders in one pass over the table.
    let columns: Vec<&str> = ORDERS.iter().map(|o| o.column).collect();
    let emptied: Vec<String> = columns.iter().map(|c| format!("{c} = NULL")).collect();
    let placed: Vec<String> = columns.iter().map(|c| format!("{c} = ranked.{c} * {SPACING}")).collect();
    let ranks: Vec<String> = ORDERS
        .iter()
        .map(|o| format!("row_number() OVER (ORDER BY {}, id) AS {}", o.keys.join(", "), o.column))
        .collect();
    conn.batch_execute(&format!(
        "UPDATE users SET {} WHERE {};
         UPDATE users SET {} FROM (SELECT id, {} FROM users) AS ranked WHERE users.id = ranked.id;",
        emptied.join(", "),
        columns.iter().map(|c| format!("{c} IS NOT NULL")).collect::<Vec<_>>().join(" OR "),
        placed.join(", "),
        ranks.join(", ")
    ))?;
    for (order, (index, keeping)) in ORDERS.into_iter().zip(made) {
        let Order { column, text, .. } = order;
        conn.batch_execute(&index)?;
        conn.batch_execute(&format!(
            "INSERT INTO {} (rowid, doc, filters) SELECT {column}, replace(' ' || {text}, ' ', '  '), {FILTERS} \
             FROM users ORDER BY {column}",
            order.index
        ))?;
        conn.batch_execute(&keeping)?;
    }
    Ok(())
}
