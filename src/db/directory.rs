//! The Users list: a `ListQuery` (search, group and status filters, sort, direction, the user a
//! page continues from) in, a page of rows and the users that continue it out, the same way on
//! both databases. Nothing here knows of URLs. What is indexed, the two plans (read the few users
//! found and sort them, or walk the sort's index) and how one is chosen: docs/SEARCH.md.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::DbConnection;
use super::sql::{Bind, Number, Sql, like_escaped};
use crate::domain::{Activity, UserStatus};
use crate::error::AppError;

/// Fewer users found than this are read and sorted, not walked to.
pub const FEW: i64 = 3_000;

/// A walk reads at most this many index entries a row of the page (so it finds a page when
/// one user in twenty matches, spread out) before the matches are read and sorted instead.
pub const WALK: i64 = 20;

/// A user's columns, as the list reads them (not the searched text, which SQLite computes).
const USER: &str = "u.id, u.first_name, u.last_name, u.email, u.company, u.group_id, u.status, u.is_owner, \
    u.last_sign_in_at, u.created_at, u.building_count";

/// The `building_count` of a user whose group reaches every building, present and future.
pub const REACHES_ALL: i64 = 2_147_483_647;

/// The text a search looks in, a generated column: name, email and company, lower-cased, every
/// word after two spaces, so that a word of one or two letters is looked for at a word's
/// beginning as three characters (`words`). Each database's trigram index holds it (migration
/// 000301); a new searchable column is one more term in its definition.
const TEXT: &str = "u.search_text";

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

    /// What rows are ordered by before their id, on a user aliased `{t}`.
    /// Each has an index that ends in the id (migration 000301).
    fn keys(self, pg: bool) -> &'static [&'static str] {
        match self {
            Sort::Name => &["{t}.last_name", "{t}.first_name"],
            Sort::Email => &["{t}.email"],
            Sort::Company => &["{t}.company"],
            // In the order of the Groups tab and the group filter: the built-in groups as they
            // were made (Admin first), then the others as they were added.
            Sort::Group => &["{t}.group_id"],
            Sort::Status => &["{t}.status"],
            Sort::Buildings => &["{t}.building_count"],
            // Never signed in sorts first.
            Sort::LastSignIn if pg => &["COALESCE({t}.last_sign_in_at, '-infinity'::timestamp)"],
            Sort::LastSignIn => &["COALESCE({t}.last_sign_in_at, '')"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub search: String,
    pub group_id: Option<i64>,
    pub status: Option<UserStatus>,
    /// Without a status filter, whether disabled and deleted users are listed too.
    pub show_disabled: bool,
    pub activity: Option<crate::domain::Activity>,
    pub sort: Sort,
    pub descending: bool,
    pub per_page: i64,
    /// The page after this user, or before it.
    pub after: Option<i64>,
    pub before: Option<i64>,
}

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
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_sign_in: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    pub buildings: i64,
}

pub struct ListPage {
    pub rows: Vec<ListRow>,
    /// The user each neighbouring page continues from, when there is one.
    pub next: Option<i64>,
    pub previous: Option<i64>,
}

/// The words of a search, lower-cased, as found in `TEXT`: a word of one or two letters after
/// spaces that make three characters, so it is found at a word's beginning ("li" finds Liam,
/// not Julia); a longer one anywhere.
pub fn words(search: &str) -> Vec<String> {
    search
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>().to_lowercase())
        .filter(|w| !w.is_empty())
        .map(|w| format!("{w:>3}"))
        .collect()
}

/// What a query asks, resolved: its words, and the groups whose name holds the whole search
/// (their users match it too).
struct Asked<'a> {
    query: &'a ListQuery,
    words: Vec<String>,
    named_groups: Vec<i64>,
    /// Reading backwards from `before`, to be reversed.
    backwards: bool,
    cursor: Option<i64>,
    /// Where "a while" of the activity filter begins (the organization's `dormant_days` ago).
    idle_since: chrono::NaiveDateTime,
}

impl<'a> Asked<'a> {
    fn new(conn: &mut DbConnection, query: &'a ListQuery) -> Result<Asked<'a>, AppError> {
        let backwards = query.before.is_some() && query.after.is_none();
        let needle = query.search.trim().to_lowercase();
        let groups = if needle.is_empty() { Vec::new() } else { super::groups::list(conn)? };
        let named_groups = groups.iter().filter(|g| g.name.to_lowercase().contains(&needle)).map(|g| g.id).collect();
        let dormant_days =
            if query.activity.is_some() { super::settings::Settings::load(conn)?.dormant_days } else { 0 };
        Ok(Asked {
            query,
            words: words(&query.search),
            named_groups,
            backwards,
            cursor: if backwards { query.before } else { query.after },
            idle_since: super::now() - chrono::Duration::days(dormant_days),
        })
    }

    /// Whether a user aliased `u` is listed: every condition of the query.
    fn test(&self, sql: &mut Sql, search: bool) {
        sql.push("1 = 1");
        if search && !self.words.is_empty() {
            sql.push(" AND ((");
            for (i, word) in self.words.iter().enumerate() {
                sql.push(if i == 0 { "" } else { " AND " });
                // SQLite's lower() and LIKE fold ASCII letters only: a word with others is looked
                // for in the text as Rust lower-cases it (`fold`, registered by `db::Manager`).
                if sql.pg {
                    sql.push(&format!("strpos({TEXT}, ")).bind(Bind::Text(word.clone())).push(") > 0");
                } else if word.is_ascii() {
                    let pattern = format!("%{}%", like_escaped(word));
                    sql.push(&format!("{TEXT} LIKE ")).bind(Bind::Text(pattern)).push(" ESCAPE '\\'");
                } else {
                    sql.push(&format!("instr(fold({TEXT}), ")).bind(Bind::Text(word.clone())).push(") > 0");
                }
            }
            sql.push(")");
            if !self.named_groups.is_empty() {
                sql.push(&format!(" OR u.group_id IN ({})", ids(&self.named_groups)));
            }
            sql.push(")");
        }
        if let Some(group_id) = self.query.group_id {
            sql.push(" AND u.group_id = ").bind(Bind::Int(group_id));
        }
        match self.query.status {
            Some(status) => sql.push(" AND u.status = ").bind(Bind::Text(status.as_str().into())),
            None if !self.query.show_disabled => sql.push(" AND u.status IN ('invited', 'active')"),
            None => sql,
        };
        // The moment is the portal's own, written out (never typed by anyone).
        let since = self.idle_since.format("'%Y-%m-%d %H:%M:%S'");
        match self.query.activity {
            Some(Activity::NeverSignedIn) => sql.push(" AND u.last_sign_in_at IS NULL"),
            Some(Activity::InvitationUnanswered) => {
                sql.push(&format!(" AND u.status = 'invited' AND u.created_at < {since}"))
            }
            Some(Activity::Dormant) => {
                sql.push(&format!(" AND u.status = 'active' AND COALESCE(u.last_sign_in_at, u.created_at) < {since}"))
            }
            None => sql,
        };
    }

    /// The users the query could list, found through an index of their own (`SELECT {select}`):
    /// the search's matches, else the group's users, else the status's.
    fn source(&self, sql: &mut Sql, select: &str) {
        if !self.words.is_empty() {
            self.matches(sql, select);
        } else if let Some(group_id) = self.query.group_id {
            sql.push(&format!("SELECT {select} FROM users u WHERE u.group_id = ")).bind(Bind::Int(group_id));
        } else if let Some(status) = self.query.status {
            let status = Bind::Text(status.as_str().into());
            sql.push(&format!("SELECT {select} FROM users u WHERE u.status = ")).bind(status);
        }
    }

    /// How many users the source finds (`listed`: of those the query lists; without a source,
    /// of all users), up to `at_most`. On PostgreSQL with sequential scans off: LIMIT 3,000 over
    /// the trigram index's estimate of 5,051 matches (it guesses 5% for a word) was planned as a
    /// scan of the table testing each row, 80 ms at 100k users instead of 3 ms through the index.
    fn count(&self, conn: &mut DbConnection, at_most: i64, listed: bool) -> Result<i64, AppError> {
        let mut sql = Sql::new(conn);
        sql.push("SELECT count(*) AS n FROM (");
        let sourced = !self.words.is_empty() || self.query.group_id.is_some() || self.query.status.is_some();
        match (listed, sourced) {
            (false, _) => self.source(&mut sql, "u.id"),
            (true, false) => {
                sql.push("SELECT 1 AS one FROM users u WHERE ");
                self.test(&mut sql, true);
            }
            (true, true) => {
                let text = if self.words.is_empty() { String::new() } else { format!(", {TEXT}") };
                sql.push("SELECT 1 AS one FROM (");
                self.source(&mut sql, &format!("{USER}{text}"));
                sql.push(") u WHERE ");
                self.test(&mut sql, false);
            }
        }
        sql.push(" LIMIT ").bind(Bind::Int(at_most)).push(") c");
        // (Only the trigram index is misjudged: a group's or a status's index is taken anyway.)
        let counted = match conn {
            DbConnection::Postgresql(_) if !self.words.is_empty() => conn.transaction(|conn| {
                conn.batch_execute("SET LOCAL enable_seqscan = off")?;
                let counted = sql.load::<Number>(conn);
                conn.batch_execute("SET LOCAL enable_seqscan = on")?;
                counted
            })?,
            _ => sql.load::<Number>(conn)?,
        };
        Ok(counted.first().map_or(0, |c| c.n))
    }

    /// The users the search finds, through each database's trigram index, and the users of the
    /// groups it names.
    fn matches(&self, sql: &mut Sql, select: &str) {
        // (Counted on SQLite, the index's rowids alone: they are the users' ids.)
        let counted = select == "u.id" && !sql.pg;
        if sql.pg {
            sql.push(&format!("SELECT {select} FROM users u WHERE "));
            for (i, word) in self.words.iter().enumerate() {
                let pattern = Bind::Text(format!("%{}%", like_escaped(word)));
                sql.push(if i == 0 { "" } else { " AND " }).push(&format!("{TEXT} LIKE ")).bind(pattern);
            }
        } else {
            let phrases: Vec<String> = self.words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
            let from = match counted {
                true => "SELECT s.rowid FROM users_search s".to_owned(),
                false => format!("SELECT {select} FROM users_search s JOIN users u ON u.id = s.rowid"),
            };
            sql.push(&format!("{from} WHERE users_search MATCH ")).bind(Bind::Text(phrases.join(" ")));
        }
        if !self.named_groups.is_empty() {
            sql.push(&format!(" UNION SELECT {select} FROM users u WHERE u.group_id IN ({})", ids(&self.named_groups)));
        }
    }

    /// Reads the users the source finds (MATERIALIZED: through their own index, whatever the
    /// planner guesses of them), tests them (the search's matches need no test for it) and
    /// sorts them.
    fn few(&self, conn: &mut DbConnection, limit: i64) -> Result<Vec<ListRow>, AppError> {
        let mut sql = Sql::new(conn);
        let keys = self.query.sort.keys(sql.pg);
        sql.push("WITH found AS MATERIALIZED (");
        self.source(&mut sql, USER);
        sql.push(&format!(") {COLUMNS} FROM found u WHERE "));
        self.test(&mut sql, false);
        self.past(&mut sql, keys, self.cursor);
        sql.push(&self.order_by(keys)).push(" LIMIT ").bind(Bind::Int(limit));
        sql.load(conn)
    }

    /// Reads the sort's index from the cursor on, testing each row, until a page is full: in
    /// stretches of entries, four times longer each, or (with `at_most`, entries a row of the
    /// page) one stretch, after which it gives up (None).
    fn walk(
        &self,
        conn: &mut DbConnection,
        limit: i64,
        at_most: Option<i64>,
    ) -> Result<Option<Vec<ListRow>>, AppError> {
        let (mut rows, mut from, mut stretch) = (Vec::new(), self.cursor, at_most.unwrap_or(4) * limit);
        loop {
            rows.extend(self.stretch(conn, from, stretch, limit - rows.len() as i64)?);
            if rows.len() as i64 == limit {
                return Ok(Some(rows));
            }
            match self.entry(conn, from, stretch)? {
                None => return Ok(Some(rows)),
                Some(_) if at_most.is_some() => return Ok(None),
                Some(last) => (from, stretch) = (Some(last), stretch * 4),
            }
        }
    }

    /// The entries of the sort's index after `from` (filtered by nothing but the status where
    /// the sort has an index by status first: name, last sign-in), in order: `SELECT …` naming
    /// the sort's values `k0`, `k1`, up to its `ORDER BY`.
    fn entries(&self, sql: &mut Sql, from: Option<i64>, select: &str) {
        let keys = self.query.sort.keys(sql.pg);
        let named: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{} AS k{i}", on(k, "u"))).collect();
        sql.push(&format!("SELECT {select}, {} FROM users u WHERE 1 = 1", named.join(", ")));
        if let Some(status) = self.query.status.filter(|_| matches!(self.query.sort, Sort::Name | Sort::LastSignIn)) {
            sql.push(" AND u.status = ").bind(Bind::Text(status.as_str().into()));
        }
        self.past(sql, keys, from);
        sql.push(&self.order_by(keys));
    }

    /// The rows a stretch of the sort's index holds that the query lists. The inner query reads
    /// the entries lazily: the outer one asks for its rows in their order, and stops at `limit`.
    fn stretch(
        &self,
        conn: &mut DbConnection,
        from: Option<i64>,
        stretch: i64,
        limit: i64,
    ) -> Result<Vec<ListRow>, AppError> {
        let mut sql = Sql::new(conn);
        sql.push(&format!("{COLUMNS} FROM ("));
        let text = if self.words.is_empty() { String::new() } else { format!(", {TEXT}") };
        self.entries(&mut sql, from, &format!("{USER}{text}"));
        sql.push(" LIMIT ").bind(Bind::Int(stretch)).push(") u WHERE ");
        self.test(&mut sql, true);
        let sorted = (0..self.query.sort.keys(sql.pg).len()).map(|i| format!("u.k{i} {}, ", self.direction()));
        sql.push(&format!(" ORDER BY {}u.id {} LIMIT ", sorted.collect::<String>(), self.direction()));
        sql.bind(Bind::Int(limit));
        sql.load(conn)
    }

    /// The last entry of a stretch, when it is whole.
    fn entry(&self, conn: &mut DbConnection, from: Option<i64>, stretch: i64) -> Result<Option<i64>, AppError> {
        let mut sql = Sql::new(conn);
        self.entries(&mut sql, from, "u.id AS n");
        sql.push(" LIMIT 1 OFFSET ").bind(Bind::Int(stretch - 1));
        Ok(sql.load::<Number>(conn)?.pop().map(|e| e.n))
    }

    fn direction(&self) -> &'static str {
        if self.query.descending == self.backwards { "ASC" } else { "DESC" }
    }

    /// ` AND (…) > (…)`: rows past the cursor, compared with its own values (none without one).
    fn past(&self, sql: &mut Sql, keys: &[&str], from: Option<i64>) {
        let Some(cursor) = from else { return };
        let op = if self.direction() == "ASC" { ">" } else { "<" };
        let mine: Vec<String> = keys.iter().map(|k| on(k, "u")).collect();
        sql.push(&format!(" AND ({}, u.id) {op} (", mine.join(", ")));
        for key in keys {
            let value = on(key, "c");
            sql.push(&format!("(SELECT {value} FROM users c WHERE c.id = ")).bind(Bind::Int(cursor)).push("), ");
        }
        sql.bind(Bind::Int(cursor)).push(")");
    }

    /// ` ORDER BY …, u.id`, in the direction read.
    fn order_by(&self, keys: &[&str]) -> String {
        let dir = self.direction();
        let sorted: Vec<String> = keys.iter().map(|k| format!("{} {dir}", on(k, "u"))).collect();
        format!(" ORDER BY {}, u.id {dir}", sorted.join(", "))
    }
}

/// A sort key on a user aliased `t`.
fn on(key: &str, t: &str) -> String {
    key.replace("{t}", t)
}

const COLUMNS: &str = "SELECT u.id, u.first_name, u.last_name, u.email, u.company, \
    (SELECT g.name FROM groups g WHERE g.id = u.group_id) AS group_name, u.status, u.is_owner, u.last_sign_in_at AS last_sign_in, CAST(u.building_count AS BIGINT) AS buildings";

/// How a page is read (tests take one way or the other, whatever the data): when the search,
/// group or status finds fewer than `few_below` users, they are read and sorted; otherwise the
/// sort's index is walked, for at most `walk_at_most` entries a row of the page (or to its
/// end), and the users found are read after all when that is not enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub few_below: i64,
    pub walk_at_most: Option<i64>,
}

impl Plan {
    pub const CHOSEN: Plan = Plan { few_below: FEW, walk_at_most: Some(WALK) };
}

pub fn list(conn: &mut DbConnection, query: &ListQuery) -> Result<ListPage, AppError> {
    list_by(conn, query, Plan::CHOSEN)
}

pub fn list_by(conn: &mut DbConnection, query: &ListQuery, plan: Plan) -> Result<ListPage, AppError> {
    let asked = Asked::new(conn, query)?;
    let limit = query.per_page + 1;
    let mut rows = if query.search.trim().is_empty() && query.group_id.is_none() && query.status.is_none() {
        // The whole list (or all but the disabled and deleted): walked to the end of the page.
        asked.walk(conn, limit, None)?.unwrap_or_default()
    } else if asked.count(conn, plan.few_below.clamp(0, FEW), false)? < plan.few_below {
        asked.few(conn, limit)?
    } else {
        match asked.walk(conn, limit, plan.walk_at_most)? {
            Some(rows) => rows,
            // Few matches, or many that sort together far from the cursor (a surname by name).
            None => asked.few(conn, limit)?,
        }
    };
    let more = rows.len() as i64 > query.per_page;
    rows.truncate(query.per_page as usize);
    if asked.backwards {
        rows.reverse();
    }
    let (has_next, has_previous) = if asked.backwards { (true, more) } else { (more, asked.cursor.is_some()) };
    Ok(ListPage {
        next: rows.last().filter(|_| has_next).map(|r| r.id),
        previous: rows.first().filter(|_| has_previous).map(|r| r.id),
        rows,
    })
}

/// How many users the query lists, counted to `at_most` at most.
pub fn count(conn: &mut DbConnection, query: &ListQuery, at_most: i64) -> Result<i64, AppError> {
    let asked = Asked { backwards: false, cursor: None, ..Asked::new(conn, query)? };
    asked.count(conn, at_most, true)
}

/// Ids as a list for `IN (…)`.
fn ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}
