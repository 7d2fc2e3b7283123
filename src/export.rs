//! The user list as CSV, written in chunks so a million users stream out in little memory.
//! Cells that a spreadsheet would run as a formula are neutralised.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::directory::{self, ListQuery};
use crate::db::schema::{groups, users};
use crate::error::AppError;

const HEADER: [&str; 13] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "title",
    "job_function",
    "company",
    "group",
    "status",
    "owner",
    "last_sign_in_at",
    "created_at",
];
const CHUNK: i64 = 2000;

/// A cell a spreadsheet would read as a formula gets a leading apostrophe.
pub fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// A user as exported, fields in `HEADER`'s order.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Row {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    phone: String,
    title: String,
    job_function: String,
    company: String,
    #[diesel(select_expression = groups::name)]
    group: String,
    status: String,
    is_owner: bool,
    last_sign_in_at: Option<chrono::NaiveDateTime>,
    created_at: chrono::NaiveDateTime,
}

fn encode(rows: &[Row], header: bool) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 160));
    let err = |e: csv::Error| AppError::Internal(e.into());
    if header {
        w.write_record(HEADER).map_err(err)?;
    }
    for r in rows {
        let at = |t: &chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        w.write_record([
            r.id.to_string(),
            cell(&r.email),
            cell(&r.first_name),
            cell(&r.last_name),
            cell(&r.phone),
            cell(&r.title),
            cell(&r.job_function),
            cell(&r.company),
            cell(&r.group),
            r.status.clone(),
            r.is_owner.to_string(),
            r.last_sign_in_at.as_ref().map(at).unwrap_or_default(),
            at(&r.created_at),
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// Every user, deleted ones included, by id; `sink` gets each chunk and returns false to stop
/// (the client went away). Returns how many users were written.
pub fn all_users(conn: &mut DbConnection, mut sink: impl FnMut(Vec<u8>) -> bool) -> Result<u64, AppError> {
    let mut after = 0i64;
    let mut written = 0u64;
    let mut header = true;
    loop {
        let rows: Vec<Row> = users::table
            .inner_join(groups::table)
            .filter(users::id.gt(after))
            .order(users::id)
            .limit(CHUNK)
            .select(Row::as_select())
            .load(conn)?;
        if rows.is_empty() && !header {
            return Ok(written);
        }
        if !sink(encode(&rows, header)?) {
            return Ok(written);
        }
        header = false;
        written += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() as i64 == CHUNK => after = last.id,
            _ => return Ok(written),
        }
    }
}

/// Just the users a list view shows (its search and filters), in its order.
pub fn results(
    conn: &mut DbConnection,
    query: &ListQuery,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64, AppError> {
    let mut query = ListQuery { per_page: CHUNK, after: None, before: None, ..query.clone() };
    let mut written = 0u64;
    let mut header = true;
    loop {
        let page = directory::list(conn, &query)?;
        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        let mut rows: Vec<Row> = users::table
            .inner_join(groups::table)
            .filter(users::id.eq_any(&ids))
            .select(Row::as_select())
            .load(conn)?;
        // Back into the list's order (a position per id: chunks are thousands of rows).
        let position: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        rows.sort_by_key(|r| position.get(&r.id).copied());
        if !sink(encode(&rows, header)?) {
            return Ok(written);
        }
        header = false;
        written += rows.len() as u64;
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => return Ok(written),
        }
    }
}
