//! The Users list: search, filters, sort by any column, and keyset paging that stays fast on
//! the last page of a million users. The SQL is built once per backend (placeholders and the
//! never-signed-in sentinel differ) and bound with values, never with typed-in text.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::DbConnection;
use crate::domain::UserStatus;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Email,
    Company,
    Group,
    Status,
    Buildings,
    LastSignIn,
}

impl Sort {
    pub const ALL: [Sort; 7] =
        [Sort::Name, Sort::Email, Sort::Company, Sort::Group, Sort::Status, Sort::Buildings, Sort::LastSignIn];

    pub fn key(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Email => "email",
            Sort::Company => "company",
            Sort::Group => "group",
            Sort::Status => "status",
            Sort::Buildings => "buildings",
            Sort::LastSignIn => "last_sign_in",
        }
    }

    pub fn parse(key: &str) -> Sort {
        Sort::ALL.into_iter().find(|s| s.key() == key).unwrap_or(Sort::Name)
    }

    /// The expressions rows are ordered by (then by id), and how a cursor value is compared.
    fn columns(self, pg: bool) -> Vec<(&'static str, &'static str)> {
        match self {
            Sort::Name => vec![("u.last_name", ""), ("u.first_name", "")],
            Sort::Email => vec![("u.email", "")],
            Sort::Company => vec![("u.company", "")],
            Sort::Group => vec![("g.name", "")],
            Sort::Status => vec![("u.status", "")],
            Sort::Buildings if pg => vec![("u.building_count", "bigint")],
            Sort::Buildings => vec![("u.building_count", "integer")],
            Sort::LastSignIn if pg => vec![("COALESCE(u.last_sign_in_at, '-infinity'::timestamp)", "timestamp")],
            Sort::LastSignIn => vec![("COALESCE(u.last_sign_in_at, '')", "")],
        }
    }
}

/// A position in the list: the sort values of a row and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub values: Vec<String>,
    pub id: i64,
}

impl Cursor {
    /// `id` then the values, separated by a character no one types (URL-encoded by the caller).
    pub fn encode(&self) -> String {
        let mut s = self.id.to_string();
        for v in &self.values {
            s.push('\u{1f}');
            s.push_str(v);
        }
        s
    }

    pub fn decode(raw: &str, sort: Sort) -> Option<Cursor> {
        let mut parts = raw.split('\u{1f}');
        let id = parts.next()?.parse().ok()?;
        let values: Vec<String> = parts.map(str::to_owned).collect();
        // A typed or tampered cursor must not reach a cast the database would refuse.
        let well_formed = values.len() == sort.columns(false).len()
            && match sort {
                Sort::Buildings => values[0].parse::<i64>().is_ok(),
                Sort::LastSignIn => {
                    values[0].is_empty()
                        || values[0] == "-infinity"
                        || chrono::NaiveDateTime::parse_from_str(&values[0], "%Y-%m-%d %H:%M:%S%.f").is_ok()
                }
                _ => true,
            };
        well_formed.then_some(Cursor { values, id })
    }
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub search: String,
    pub group_id: Option<i64>,
    pub status: Option<UserStatus>,
    pub show_disabled: bool,
    pub sort: Sort,
    pub descending: bool,
    pub per_page: i64,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    /// Groups whose name matches the search (resolved first: there are few groups).
    pub search_groups: Vec<i64>,
}

/// The `building_count` of a user whose group reaches every building, present and future.
pub const REACHES_ALL: i64 = 2_147_483_647;

#[derive(Debug, Clone, QueryableByName)]
pub struct ListRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub first_name: String,
    #[diesel(sql_type = Text)]
    pub last_name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub company: String,
    #[diesel(sql_type = Text)]
    pub group_name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Bool)]
    pub is_owner: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_sign_in: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub buildings: i64,
    #[diesel(sql_type = Text)]
    pub k1: String,
    #[diesel(sql_type = Text)]
    pub k2: String,
}

pub struct ListPage {
    pub rows: Vec<ListRow>,
    /// Cursors for the neighbouring pages, when there are any.
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Escapes LIKE wildcards so a search for "50%" finds "50%".
pub(crate) fn like_pattern(search: &str) -> String {
    let mut p = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub fn list(conn: &mut DbConnection, query: &ListQuery) -> Result<ListPage, AppError> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let mut binds: Vec<Bind> = Vec::new();
    let mut n = 0;
    let mut ph = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        n += 1;
        if pg { format!("${n}") } else { "?".to_owned() }
    };

    let columns = query.sort.columns(pg);
    let text_of = |expr: &str| format!("CAST({expr} AS TEXT)");
    let k1 = text_of(columns[0].0);
    let k2 = columns.get(1).map_or("''".to_owned(), |c| text_of(c.0));

    let search = query.search.trim();
    // On SQLite the trigram index (FTS5) finds substrings of three letters or more. Its rowid is
    // each user's place in the name order (`name_order`), so sorted by name it is read in that
    // order and left after a page; a search that also matches group names reads it whole.
    let trigrams = !pg && search.chars().count() >= 3;
    let by_place = trigrams && query.sort == Sort::Name && query.search_groups.is_empty();

    let last_sign_in = "CAST(u.last_sign_in_at AS TEXT)";
    let from = if by_place { "users_search s JOIN users u ON u.name_order = s.rowid" } else { "users u" };
    let mut sql = format!(
        "SELECT u.id, u.first_name, u.last_name, u.email, u.company, g.name AS group_name, u.status, u.is_owner, \
         {last_sign_in} AS last_sign_in, CAST(u.building_count AS BIGINT) AS buildings, {k1} AS k1, {k2} AS k2 \
         FROM {from} JOIN groups g ON g.id = u.group_id WHERE 1 = 1"
    );

    if !search.is_empty() {
        let mut any = Vec::new();
        if trigrams {
            let phrase = format!("\"{}\"", search.replace('"', "\"\""));
            let p = ph(&mut binds, Bind::Text(phrase));
            any.push(if by_place {
                format!("users_search MATCH {p}")
            } else {
                format!("u.name_order IN (SELECT rowid FROM users_search WHERE users_search MATCH {p})")
            });
        } else {
            // On PostgreSQL a trigram GIN index serves this LIKE; short terms scan.
            let p = ph(&mut binds, Bind::Text(like_pattern(search)));
            any.push(format!(
                "lower(u.first_name || ' ' || u.last_name || ' ' || u.email || ' ' || u.company) LIKE {p} ESCAPE '\\'"
            ));
        }
        if !query.search_groups.is_empty() {
            let ids: Vec<String> = query.search_groups.iter().map(i64::to_string).collect();
            any.push(format!("u.group_id IN ({})", ids.join(", ")));
        }
        sql += &format!(" AND ({})", any.join(" OR "));
    }
    if let Some(group_id) = query.group_id {
        let p = ph(&mut binds, Bind::Int(group_id));
        sql += &format!(" AND u.group_id = {p}");
    }
    match query.status {
        Some(status) => {
            let p = ph(&mut binds, Bind::Text(status.as_str().to_owned()));
            sql += &format!(" AND u.status = {p}");
        }
        None if !query.show_disabled => sql += " AND u.status IN ('invited', 'active')",
        None => {}
    }

    // Going back a page reads backwards from the cursor, then turns the rows around.
    let backwards = query.before.is_some() && query.after.is_none();
    let cursor = if backwards { query.before.as_ref() } else { query.after.as_ref() };
    let ascending = query.descending == backwards;
    if let (Some(cursor), true) = (cursor, by_place) {
        // The place of the last row at or before the cursor (or first at or after it, going
        // down): the cursor's own row, unless it was renamed or deleted since.
        let (op, dir, outside) = if ascending { ("<=", "DESC", "0") } else { (">=", "ASC", "4611686018427387904") };
        let (last, first) = (
            ph(&mut binds, Bind::Text(cursor.values[0].clone())),
            ph(&mut binds, Bind::Text(cursor.values[1].clone())),
        );
        let id = ph(&mut binds, Bind::Int(cursor.id));
        let cmp = if ascending { ">" } else { "<" };
        sql += &format!(
            " AND s.rowid {cmp} COALESCE((SELECT c.name_order FROM users c WHERE (c.last_name, c.first_name, c.id) {op} ({last}, {first}, {id}) \
             AND c.name_order IS NOT NULL ORDER BY c.last_name {dir}, c.first_name {dir}, c.id {dir} LIMIT 1), {outside})"
        );
    } else if let Some(cursor) = cursor {
        let mut left: Vec<String> = columns.iter().map(|c| c.0.to_owned()).collect();
        left.push("u.id".into());
        let mut right = Vec::new();
        for ((_, cast), value) in columns.iter().zip(&cursor.values) {
            let p = ph(&mut binds, Bind::Text(value.clone()));
            right.push(if cast.is_empty() { p } else { format!("CAST({p} AS {cast})") });
        }
        right.push(ph(&mut binds, Bind::Int(cursor.id)));
        let op = if ascending { ">" } else { "<" };
        sql += &format!(" AND ({}) {op} ({})", left.join(", "), right.join(", "));
    }
    let dir = if ascending { "ASC" } else { "DESC" };
    let order: Vec<String> = if by_place {
        vec![format!("s.rowid {dir}")]
    } else {
        columns.iter().map(|c| format!("{} {dir}", c.0)).chain([format!("u.id {dir}")]).collect()
    };
    let limit = ph(&mut binds, Bind::Int(query.per_page + 1));
    sql += &format!(" ORDER BY {} LIMIT {limit}", order.join(", "));

    macro_rules! run {
        ($conn:expr, $db:ty) => {{
            let mut q = diesel::sql_query(&sql).into_boxed::<$db>();
            for b in binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s),
                    Bind::Int(i) => q.bind::<BigInt, _>(i),
                };
            }
            q.load::<ListRow>($conn)?
        }};
    }
    let mut rows = match conn {
        DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite),
        DbConnection::Postgresql(c) => run!(c, diesel::pg::Pg),
    };

    let more = rows.len() as i64 > query.per_page;
    rows.truncate(query.per_page as usize);
    if backwards {
        rows.reverse();
    }
    let cursor_of = |r: &ListRow| Cursor {
        values: if columns.len() == 2 { vec![r.k1.clone(), r.k2.clone()] } else { vec![r.k1.clone()] },
        id: r.id,
    };
    let (has_next, has_previous) = if backwards { (true, more) } else { (more, cursor.is_some()) };
    Ok(ListPage {
        next: rows.last().filter(|_| has_next).map(cursor_of),
        previous: rows.first().filter(|_| has_previous).map(cursor_of),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { values: vec!["Lee".into(), "Ann".into()], id: 42 };
        assert_eq!(Cursor::decode(&c.encode(), Sort::Name), Some(c));
        assert_eq!(Cursor::decode("x", Sort::Name), None);
        assert_eq!(Cursor::decode("5\u{1f}a", Sort::Name), None);
        assert_eq!(Cursor::decode("5\u{1f}many", Sort::Buildings), None);
        assert_eq!(Cursor::decode("5\u{1f}yesterday", Sort::LastSignIn), None);
        assert!(Cursor::decode("5\u{1f}2026-11-23 10:00:00.5", Sort::LastSignIn).is_some());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern(" 50%_Off "), "%50\\%\\_off%");
    }
}
