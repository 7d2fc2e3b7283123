//! The Users list: search, filters, sort by any column, and keyset paging that stays fast on
//! the last page of a million users. The SQL is built once per backend (placeholders and the
//! never-signed-in sentinel differ) and bound with values, never with typed-in text.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::{DbConnection, places};
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

    /// The SQLite index a walk of this sort reads (see `Plan::Walk`).
    fn index(self) -> &'static str {
        match self {
            Sort::Email => "users_email_sort",
            Sort::Company => "users_company",
            Sort::Buildings => "users_building_count",
            Sort::Status => "users_status_sort",
            Sort::Group => "users_group_sort",
            Sort::Name => "users_name",
            Sort::LastSignIn => "users_sign_in_sort",
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
        // No control character (PostgreSQL takes no NUL in text) and no year it can't store.
        let well_formed = values.len() == sort.columns(false).len()
            && values.iter().all(|v| !v.chars().any(char::is_control))
            && match sort {
                Sort::Buildings => values[0].parse::<i64>().is_ok(),
                Sort::LastSignIn => {
                    use chrono::Datelike;
                    values[0].is_empty()
                        || values[0] == "-infinity"
                        || chrono::NaiveDateTime::parse_from_str(&values[0], "%Y-%m-%d %H:%M:%S%.f")
                            .is_ok_and(|t| (1..=9999).contains(&t.year()))
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
    /// Which of its users a read takes (set by `list` itself, which reads some searches in
    /// parts).
    pub part: Part,
}

/// Part of a list: all of it; the users of some groups, or of the others; the users of some
/// companies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    All,
    Groups(Vec<i64>),
    OtherGroups(Vec<i64>),
    Companies(Vec<String>),
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

/// Values bound to a statement, and their placeholders.
struct Params {
    pg: bool,
    binds: Vec<Bind>,
}

impl Params {
    fn push(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        if self.pg { format!("${}", self.binds.len()) } else { "?".to_owned() }
    }
}

/// The text of a user a search looks in (the trigram index holds the same, migration 000304).
pub(crate) const SEARCHED: &str = "first_name || ' ' || last_name || ' ' || email || ' ' || company";

/// Escapes LIKE wildcards so a search for "50%" finds "50%".
pub(crate) fn like_pattern(search: &str) -> String {
    format!("%{}%", like_escaped(search.trim()))
}

/// A text lower-cased, its LIKE wildcards escaped.
fn like_escaped(text: &str) -> String {
    let mut p = String::new();
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

/// Whether a word of a search is looked for at the beginning of a word ("Wu", "Li": one or two
/// letters, too short for the trigram index, and found inside most users' text anyway) rather
/// than anywhere.
fn short(word: &str) -> bool {
    word.chars().count() < 3
}

/// The LIKE patterns that find a word of a search in a lower-cased text.
fn word_patterns(word: &str) -> Vec<String> {
    let word = like_escaped(word);
    if short(&word) { vec![format!("{word}%"), format!("% {word}%")] } else { vec![format!("%{word}%")] }
}

/// Whether a lower-cased text holds a (lower-cased) word of a search, as `word_patterns` finds it.
fn holds(text: &str, word: &str) -> bool {
    if short(word) { text.starts_with(word) || text.contains(&format!(" {word}")) } else { text.contains(word) }
}

/// How a page of a search is read on SQLite, where the trigram indexes (FTS5) find substrings of
/// three letters or more. Their rowids are each user's place in the name order (`name_order`)
/// and in the email order (`email_order`, the index of names and emails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// The database's own plan: no trigram search (PostgreSQL, or none), filters that leave few
    /// users, or a company's users, read by their own index.
    Plain,
    /// Sorted by name or by email: the trigram index keyed by that order (the whole text by
    /// name; names and emails by email) is read in order and left after a page.
    Place,
    /// Every match is read, then sorted: cheap when there are few. On PostgreSQL, a search
    /// with a word the trigram index serves: its matches are read through that index first
    /// (PostgreSQL would otherwise walk the sort's index and test each row, slow when the
    /// matches sort together, as a surname's do by name).
    Matches,
    /// As `Matches`, with the matches' places already read (few: bound as a list): all the
    /// search finds, or those outside the companies it names (read apart, sorted by company).
    Found,
    /// Many matches, or filters that leave many users: the sort's own index is walked from the
    /// cursor (named, so the planner cannot prefer another), each entry tested against the search
    /// and the filters, until a page is found. Matches that sort together far from the cursor (a
    /// company's users, sorted by company, when the search also finds many others) make it long:
    /// 0.14 µs an entry, the whole index at worst.
    Walk,
}

/// The comparison of a row's sort values and id with a position: rows after it (`>`), before
/// it (`<`), or up to it (`<=`, `>=`).
fn keyset(columns: &[(&str, &str)], position: &Cursor, op: &str, params: &mut Params) -> String {
    let mut left: Vec<String> = columns.iter().map(|c| c.0.to_owned()).collect();
    left.push("u.id".into());
    let mut right = Vec::new();
    for ((_, cast), value) in columns.iter().zip(&position.values) {
        let p = params.push(Bind::Text(value.clone()));
        right.push(if cast.is_empty() { p } else { format!("CAST({p} AS {cast})") });
    }
    right.push(params.push(Bind::Int(position.id)));
    format!("({}) {op} ({})", left.join(", "), right.join(", "))
}

fn load<
    T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
        + diesel::deserialize::QueryableByName<diesel::pg::Pg>
        + 'static,
>(
    conn: &mut DbConnection,
    sql: &str,
    binds: Vec<Bind>,
) -> Result<Vec<T>, AppError> {
    macro_rules! run {
        ($conn:expr, $db:ty) => {{
            let mut q = diesel::sql_query(sql).into_boxed::<$db>();
            for b in binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s),
                    Bind::Int(i) => q.bind::<BigInt, _>(i),
                };
            }
            q.load::<T>($conn)?
        }};
    }
    Ok(match conn {
        DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite),
        DbConnection::Postgresql(c) => run!(c, diesel::pg::Pg),
    })
}

pub fn list(conn: &mut DbConnection, query: &ListQuery) -> Result<ListPage, AppError> {
    Ok(rows(conn, query)?.into_page(query))
}

fn rows(conn: &mut DbConnection, query: &ListQuery) -> Result<Read, AppError> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let search = query.search.trim();
    // A search matches users in whose name, email and company every word of it is found (a word
    // of one or two letters, at the beginning of a word). SQLite's trigram index finds them all
    // (see `term`), and the group and status the list is filtered by.
    let trigrams = !pg && !search.is_empty();
    // A search that also matches group names takes in users the index does not find. Sorted by
    // another column, a walk tests their group as it goes (it is in the walked index); sorted by
    // group (where they sort together) or by name (which is not walked), the users of those
    // groups, every one a match, are read on their own, the others the search finds apart, and
    // the two merged.
    if trigrams && !query.search_groups.is_empty() && matches!(query.sort, Sort::Group | Sort::Name) {
        let searched = query.search_groups.clone();
        let others =
            ListQuery { search_groups: Vec::new(), part: Part::OtherGroups(searched.clone()), ..query.clone() };
        let whole = ListQuery { search: String::new(), part: Part::Groups(searched), ..others.clone() };
        return Ok(rows(conn, &whole)?.merge(rows(conn, &others)?, query));
    }
    // Sorted by a column the search looks in, its matches can sort together far from the cursor,
    // where a walk would pass most of the list before it reached them. Sorted by company, a company's
    // users are read alone, in order, and merged with the few others the search finds.
    if trigrams && search.is_ascii() && query.search_groups.is_empty() && query.part == Part::All {
        if query.sort == Sort::Company
            && let Some(read) = companies(conn, query)?
        {
            return Ok(read);
        }
        // Sorted by email (Elena's emails, then Lena's, for "lena"), the index of names and
        // emails is read in email order, unless a company's name holds a word of the search
        // (that index has no companies).
        if query.sort == Sort::Email {
            let words: Vec<String> = search.split_whitespace().map(str::to_ascii_lowercase).collect();
            let held = |name: &String| words.iter().any(|w| holds(&name.to_ascii_lowercase(), w));
            if company_names(conn)?.is_some_and(|names| !names.iter().any(held)) {
                return read(conn, query, Plan::Place, "");
            }
        }
    }
    let mut found = String::new();
    // Filtered by group (or by status, but for the name and the last sign-in: they have indexes
    // by status of their own), the sort's index is walked and the filters tested in each entry,
    // unless the filters leave few users.
    let by_filters = query.group_id.is_some()
        || matches!(query.part, Part::Groups(_))
        || query.status.is_some() && !matches!(query.sort, Sort::Name | Sort::LastSignIn);
    let plan = match query.sort {
        _ if matches!(query.part, Part::Companies(_)) => Plan::Plain,
        _ if !pg && search.is_empty() && by_filters => {
            let enough = enough(conn)?;
            if filtered(conn, query, enough)? < enough { Plan::Plain } else { Plan::Walk }
        }
        // (PostgreSQL's trigram index serves words of two letters or more.)
        _ if pg
            && search.split_whitespace().any(|w| w.chars().count() >= 2)
            && query.search_groups.is_empty()
            && few_expected(conn, search, query.sort)? =>
        {
            Plan::Matches
        }
        _ if !trigrams => Plan::Plain,
        Sort::Name => Plan::Place,
        _ if !query.search_groups.is_empty() => Plan::Walk,
        _ => match matches(conn, query)? {
            Some(few) => {
                found = few;
                Plan::Found
            }
            None => Plan::Walk,
        },
    };
    read(conn, query, plan, &found)
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Whether PostgreSQL expects a search to match few enough users that its matches are best read
/// through the trigram index and sorted (`Plan::Matches`): fewer than one in twenty, or one in
/// five when sorted by a column the search looks in, where matches can sort together (a
/// company's name by company: 110 ms walked, 30 ms read, at 100k). Past that, reading them costs
/// more than walking the sort's index, where matches come often ("example", in every user's
/// email: 2.4 ms walked, 204 ms read).
fn few_expected(conn: &mut DbConnection, search: &str, sort: Sort) -> Result<bool, AppError> {
    #[derive(QueryableByName)]
    struct Explained {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    let mut params = Params { pg: true, binds: Vec::new() };
    let sql = format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM users WHERE {}", like(search, &mut params));
    let explained: Vec<Explained> = load(conn, &sql, params.binds)?;
    let expected = explained
        .first()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.plan).ok())
        .and_then(|plan| plan[0]["Plan"]["Plan Rows"].as_f64())
        .unwrap_or(0.0);
    let users: Number =
        diesel::sql_query("SELECT CAST(GREATEST(reltuples, 0) AS BIGINT) AS n FROM pg_class WHERE relname = 'users'")
            .get_result(conn)?;
    let share = if matches!(sort, Sort::Name | Sort::Email | Sort::Company) { 5.0 } else { 20.0 };
    Ok(expected * share < users.n as f64 || users.n == 0)
}

/// How many matches make a walk pay. A walked entry holds what the search and the filters look
/// at (migration 000307); a match read and sorted costs about twenty times as much (2.8 µs
/// against 0.14 µs). A walk of about page × N / matches entries, a third more for the rows the
/// filters leave out, pays once the matches outnumber about 2 √N.
fn enough(conn: &mut DbConnection) -> Result<i64, AppError> {
    let users: Number = diesel::sql_query("SELECT COALESCE(MAX(id), 0) AS n FROM users").get_result(conn)?;
    Ok((2.0 * (users.n as f64).sqrt()).max(200.0) as i64)
}

/// How many users the part and the group and status filters leave, counted up to `at_most`.
fn filtered(conn: &mut DbConnection, query: &ListQuery, at_most: i64) -> Result<i64, AppError> {
    let mut params = Params { pg: false, binds: Vec::new() };
    let mut sql = "SELECT count(*) AS n FROM (SELECT 1 FROM users u WHERE 1 = 1".to_owned();
    for condition in filters(query, "u", "u.group_id", &mut params) {
        sql += &format!(" AND {condition}");
    }
    sql += &format!(" LIMIT {})", params.push(Bind::Int(at_most)));
    Ok(load::<Number>(conn, &sql, params.binds)?.remove(0).n)
}

/// The companies' names in order, one index seek each: a few hundred at most, or none (a
/// company per user or so).
fn company_names(conn: &mut DbConnection) -> Result<Option<Vec<String>>, AppError> {
    #[derive(QueryableByName)]
    struct Company {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let companies: Vec<Company> = load(
        conn,
        "WITH RECURSIVE c(name, n) AS (SELECT min(company), 1 FROM users UNION ALL \
         SELECT (SELECT company FROM users WHERE company > c.name ORDER BY company LIMIT 1), n + 1 \
         FROM c WHERE c.name IS NOT NULL AND n <= 500) SELECT name FROM c WHERE name IS NOT NULL",
        vec![],
    )?;
    Ok((companies.len() <= 500).then(|| companies.into_iter().map(|c| c.name).collect()))
}

/// Sorted by company, a search that every word of some companies' names holds: those
/// companies' users, all matches, read alone in order, merged with the others the search finds.
/// Someone else has a word of it that their company's name lacks in their name or email, where
/// the second trigram index finds them at once. None when no company's name holds the search,
/// or those others are too many to read apart.
fn companies(conn: &mut DbConnection, query: &ListQuery) -> Result<Option<Read>, AppError> {
    #[derive(QueryableByName)]
    struct Others {
        #[diesel(sql_type = BigInt)]
        seen: i64,
        #[diesel(sql_type = Text)]
        places: String,
    }
    let search = query.search.trim();
    let words: Vec<String> = search.split_whitespace().map(str::to_ascii_lowercase).collect();
    let Some(companies) = company_names(conn)? else { return Ok(None) };
    let named: Vec<String> =
        companies.into_iter().filter(|name| words.iter().all(|w| holds(&name.to_ascii_lowercase(), w))).collect();
    if named.is_empty() {
        return Ok(None);
    }
    // Those with a word in their name or email (up to `enough`), and of them the places of the
    // matches outside the companies.
    let enough = enough(conn)?;
    // (Values are pushed in the order they appear.)
    let mut params = Params { pg: false, binds: Vec::new() };
    let match_all = like(search, &mut params);
    let names: Vec<String> = named.iter().map(|n| params.push(Bind::Text(n.clone()))).collect();
    let candidates: Vec<String> = words
        .iter()
        .map(|w| {
            let word = params.push(Bind::Text(term(w)));
            let people = places::EMAIL.index;
            format!("SELECT rowid AS place FROM {people} WHERE {people} MATCH {word}")
        })
        .collect();
    let limit = params.push(Bind::Int(enough));
    let sql = format!(
        "SELECT count(*) AS seen, json_group_array(u.name_order) FILTER (WHERE {match_all} AND u.company NOT IN ({})) \
         AS places FROM (SELECT place FROM ({}) LIMIT {limit}) c JOIN users u ON u.{} = c.place",
        names.join(", "),
        candidates.join(" UNION "),
        places::EMAIL.column
    );
    let others: Others = load(conn, &sql, params.binds)?.remove(0);
    if others.seen >= enough {
        return Ok(None);
    }
    let whole = rows(conn, &ListQuery { search: String::new(), part: Part::Companies(named), ..query.clone() })?;
    if others.places == "[]" {
        return Ok(Some(whole));
    }
    Ok(Some(whole.merge(read(conn, query, Plan::Found, &others.places)?, query)))
}

/// The places of the users the search matches (a JSON array), if there are too few for a walk
/// to pay; none if there are more (read up to that many, no further).
fn matches(conn: &mut DbConnection, query: &ListQuery) -> Result<Option<String>, AppError> {
    #[derive(QueryableByName)]
    struct Places {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Text)]
        places: String,
    }
    let enough = enough(conn)?;
    let found: Places = load(
        conn,
        "SELECT count(*) AS n, json_group_array(rowid) AS places \
         FROM (SELECT rowid FROM users_search WHERE users_search MATCH ? LIMIT ?)",
        vec![Bind::Text(matching(query)), Bind::Int(enough)],
    )?
    .remove(0);
    Ok((found.n < enough).then_some(found.places))
}

/// The index entries a walk reads, from the cursor on (`FROM … WHERE …`), and the keys they are
/// ordered by (then by id). Sorted by group, each group's entries are read in turn, the groups
/// in name order.
fn walk(query: &ListQuery, params: &mut Params) -> (String, Vec<&'static str>) {
    let (cursor, ascending) = direction(query);
    let index = query.sort.index();
    if query.sort == Sort::Group {
        let mut within = Vec::new();
        if let Some(group_id) = query.group_id {
            within.push(format!("g2.id = {}", params.push(Bind::Int(group_id))));
        }
        if let Some(c) = cursor {
            within.push(after_in_group("g2", c, ascending, params));
        }
        match &query.part {
            Part::Groups(ids) => within.push(format!("g2.id IN ({})", list_of(ids))),
            Part::OtherGroups(ids) => within.push(format!("g2.id NOT IN ({})", list_of(ids))),
            _ => {}
        }
        let filter = if within.is_empty() { String::new() } else { format!(" WHERE {}", within.join(" AND ")) };
        let from = format!("groups g2 CROSS JOIN users u INDEXED BY {index} ON u.group_id = g2.id{filter}");
        return (from, vec!["g2.name"]);
    }
    let columns = query.sort.columns(false);
    let after = cursor.map_or(String::new(), |c| {
        format!(" WHERE {}", keyset(&columns, c, if ascending { ">" } else { "<" }, params))
    });
    (format!("users u INDEXED BY {index}{after}"), columns.iter().map(|c| c.0).collect())
}

/// Every word of a search found in a user's text. On PostgreSQL a trigram GIN index serves
/// words of two letters or more (of two, at a word's beginning).
fn like(search: &str, params: &mut Params) -> String {
    like_in(&format!("lower({SEARCHED})"), search, params)
}

/// Every word of a search found in a lower-cased text (a walked entry's copy of a user's).
fn like_in(text: &str, search: &str, params: &mut Params) -> String {
    let words: Vec<String> = search
        .split_whitespace()
        .map(|word| {
            let found: Vec<String> = word_patterns(word)
                .into_iter()
                .map(|p| format!("{text} LIKE {} ESCAPE '\\'", params.push(Bind::Text(p))))
                .collect();
            format!("({})", found.join(" OR "))
        })
        .collect();
    words.join(" AND ")
}

/// Sorted by group (groups, aliased `g`, read in name order, each one's users by id): the
/// cursor's group from its user on, then the groups after it, each whole. A range of the index
/// in every group, where a comparison of (name, id) would read each group from its start.
fn after_in_group(g: &str, cursor: &Cursor, ascending: bool, params: &mut Params) -> String {
    let (op, whole) = if ascending { (">", "0") } else { ("<", "9223372036854775807") };
    let name = params.push(Bind::Text(cursor.values[0].clone()));
    let same = params.push(Bind::Text(cursor.values[0].clone()));
    let id = params.push(Bind::Int(cursor.id));
    format!("{g}.name {op}= {name} AND u.id {op} CASE WHEN {g}.name = {same} THEN {id} ELSE {whole} END")
}

/// The conditions of the part a read takes and of its group and status filters, on a row aliased
/// `row` whose group is `group` (read group by group, the group's own id). A company's users are
/// never walked: they are tested on the user's row.
fn filters(query: &ListQuery, row: &str, group: &str, params: &mut Params) -> Vec<String> {
    let mut conditions = Vec::new();
    match &query.part {
        Part::All => {}
        Part::Groups(ids) => conditions.push(format!("{group} IN ({})", list_of(ids))),
        Part::OtherGroups(ids) => conditions.push(format!("{group} NOT IN ({})", list_of(ids))),
        Part::Companies(names) => {
            let names: Vec<String> = names.iter().map(|n| params.push(Bind::Text(n.clone()))).collect();
            conditions.push(format!("u.company IN ({})", names.join(", ")));
        }
    }
    if let Some(group_id) = query.group_id {
        conditions.push(format!("{row}.group_id = {}", params.push(Bind::Int(group_id))));
    }
    if let Some(status) = query.status {
        conditions.push(format!("{row}.status = {}", params.push(Bind::Text(status.as_str().to_owned()))));
    }
    conditions
}

/// The order a search sorted by name or by email reads its trigram index in (`Plan::Place`).
fn place_order(sort: Sort) -> &'static places::Order {
    if sort == Sort::Email { &places::EMAIL } else { &places::NAME }
}

/// Ids as a list for `IN (…)`.
fn list_of(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// A search word as a query of the trigram index's text: quoted; one of fewer than three letters
/// after as many spaces as make three, found at a word's beginning (each word there follows two
/// spaces, migration 000311).
fn term(word: &str) -> String {
    format!("doc : \"{}\"", format!("{word:>3}").replace('"', "\"\""))
}

/// The trigram index's query for a list: every word of its search (in any order), and the group
/// and status it is filtered by, which each entry holds beside the text as `places::FILTERS`
/// writes them ("g1. act").
fn matching(query: &ListQuery) -> String {
    let mut terms: Vec<String> = query.search.split_whitespace().map(term).collect();
    if let Some(group_id) = query.group_id {
        terms.push(format!("filters : \"g{group_id}.\""));
    }
    if let Some(status) = query.status {
        terms.push(format!("filters : \"{}\"", &status.as_str()[..3]));
    }
    terms.join(" ")
}

/// The cursor to read from, and whether rows are read in ascending order (going back a page
/// reads backwards from the cursor).
fn direction(query: &ListQuery) -> (Option<&Cursor>, bool) {
    let backwards = query.before.is_some() && query.after.is_none();
    let cursor = if backwards { query.before.as_ref() } else { query.after.as_ref() };
    (cursor, query.descending == backwards)
}

/// Rows as read, one more than a page when there is more.
struct Read {
    rows: Vec<ListRow>,
    columns: usize,
}

impl Read {
    /// Two reads of different users, in the same order, as one.
    fn merge(self, other: Read, query: &ListQuery) -> Read {
        let (_, ascending) = direction(query);
        let mut rows = self.rows;
        rows.extend(other.rows);
        // Sort values as SQLite compares them: text byte by byte, a count as a number.
        let count = |r: &ListRow| if query.sort == Sort::Buildings { r.k1.parse().unwrap_or(0) } else { 0 };
        rows.sort_by(|a, b| {
            let order = (count(a), &a.k1, &a.k2, a.id).cmp(&(count(b), &b.k1, &b.k2, b.id));
            if ascending { order } else { order.reverse() }
        });
        rows.truncate(query.per_page as usize + 1);
        Read { rows, columns: self.columns }
    }

    fn into_page(self, query: &ListQuery) -> ListPage {
        let Read { mut rows, columns } = self;
        let backwards = query.before.is_some() && query.after.is_none();
        let (cursor, _) = direction(query);
        let more = rows.len() as i64 > query.per_page;
        rows.truncate(query.per_page as usize);
        if backwards {
            rows.reverse();
        }
        let cursor_of = |r: &ListRow| Cursor {
            values: if columns == 2 { vec![r.k1.clone(), r.k2.clone()] } else { vec![r.k1.clone()] },
            id: r.id,
        };
        let (has_next, has_previous) = if backwards { (true, more) } else { (more, cursor.is_some()) };
        ListPage {
            next: rows.last().filter(|_| has_next).map(cursor_of),
            previous: rows.first().filter(|_| has_previous).map(cursor_of),
            rows,
        }
    }
}

fn read(conn: &mut DbConnection, query: &ListQuery, plan: Plan, found: &str) -> Result<Read, AppError> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let (sql, binds) = statement(pg, query, plan, found);
    Ok(Read { rows: load(conn, &sql, binds)?, columns: query.sort.columns(pg).len() })
}

/// The SQL that reads a page by a plan, and its values.
fn statement(pg: bool, query: &ListQuery, plan: Plan, found: &str) -> (String, Vec<Bind>) {
    let mut params = Params { pg, binds: Vec::new() };
    let columns = query.sort.columns(pg);
    let text_of = |expr: &str| format!("CAST({expr} AS TEXT)");
    let k1 = text_of(columns[0].0);
    let k2 = columns.get(1).map_or("''".to_owned(), |c| text_of(c.0));

    let last_sign_in = "CAST(u.last_sign_in_at AS TEXT)";
    let search = query.search.trim();
    let mut with = String::new();
    // Sorted by group, the groups in name order, each one's users by id: no sort (SQLite).
    let by_groups = plan == Plan::Plain && !pg && query.sort == Sort::Group;
    let from = match plan {
        Plan::Matches if pg => {
            with = format!("WITH found AS MATERIALIZED (SELECT * FROM users WHERE {}) ", like(search, &mut params));
            "found u".to_owned()
        }
        Plan::Place => {
            let order = place_order(query.sort);
            format!("{} s JOIN users u ON u.{} = s.rowid", order.index, order.column)
        }
        // The walk reads the index alone and stays outermost (CROSS JOIN): rows are read for
        // the entries that match, and come in the walk's order.
        Plan::Walk => {
            let (walked, keys) = walk(query, &mut params);
            let keys: Vec<String> = keys.iter().enumerate().map(|(i, key)| format!("{key} AS k{i}")).collect();
            // (The searched text only when the name is not walked: its index has none.)
            let searched = if query.sort == Sort::Name { "''" } else { &format!("lower({SEARCHED})") };
            format!(
                "(SELECT u.id, u.name_order, u.group_id AS group_id, u.status AS status, {searched} AS searched, {} \
                 FROM {walked}) w CROSS JOIN users u ON u.id = w.id",
                keys.join(", ")
            )
        }
        // The few places drive the read (CROSS JOIN keeps them outermost): the planner would
        // otherwise walk the sort's index for them, not knowing how few they are.
        Plan::Found => {
            let list = params.push(Bind::Text(found.to_owned()));
            format!("json_each({list}) AS f CROSS JOIN users u")
        }
        Plan::Plain if by_groups => {
            format!("groups g CROSS JOIN users u INDEXED BY {} ON u.group_id = g.id", query.sort.index())
        }
        Plan::Plain | Plan::Matches => "users u".to_owned(),
    };
    let groups = if by_groups { "" } else { " JOIN groups g ON g.id = u.group_id" };
    let mut sql = format!(
        "{with}SELECT u.id, u.first_name, u.last_name, u.email, u.company, g.name AS group_name, u.status, u.is_owner, \
         {last_sign_in} AS last_sign_in, CAST(u.building_count AS BIGINT) AS buildings, {k1} AS k1, {k2} AS k2 \
         FROM {from}{groups} WHERE 1 = 1"
    );

    // A walk's conditions are tested on the walked entry where it can.
    let row = if plan == Plan::Walk { "w" } else { "u" };
    // (On PostgreSQL the matches were read first, above.)
    if !(search.is_empty() || pg && plan == Plan::Matches) {
        let mut any = Vec::new();
        match plan {
            Plan::Place => any.push(format!(
                "{} MATCH {}",
                place_order(query.sort).index,
                params.push(Bind::Text(matching(query)))
            )),
            // The walked entry holds the searched text: tested as it is read. SQLite lower-cases
            // only ASCII letters, the trigram index every letter: a word with others in it (an
            // "É" typed as "é") is looked up there.
            Plan::Walk if search.is_ascii() => any.push(like_in("w.searched", search, &mut params)),
            Plan::Matches | Plan::Walk => any.push(format!(
                "{row}.name_order IN (SELECT rowid FROM users_search WHERE users_search MATCH {})",
                params.push(Bind::Text(matching(query)))
            )),
            Plan::Found => any.push("u.name_order = f.value".to_owned()),
            Plan::Plain => any.push(like(search, &mut params)),
        }
        if !query.search_groups.is_empty() {
            any.push(format!("{row}.group_id IN ({})", list_of(&query.search_groups)));
        }
        sql += &format!(" AND ({})", any.join(" OR "));
    }
    // (Read group by group, the groups are chosen before their users are read.)
    let group = if by_groups { "g.id".to_owned() } else { format!("{row}.group_id") };
    for condition in filters(query, row, &group, &mut params) {
        sql += &format!(" AND {condition}");
    }
    // Without a status filter, the invited and active: nine in ten users, never the way in
    // (`+`, SQLite), or the planner, short of statistics, may read them by status and sort them
    // all (80 req/s for the list at 100k).
    if query.status.is_none() && !query.show_disabled {
        sql += &if pg {
            " AND u.status IN ('invited', 'active')".to_owned()
        } else {
            format!(" AND +{row}.status IN ('invited', 'active')")
        };
    }

    let (cursor, ascending) = direction(query);
    if let (Some(cursor), Plan::Place) = (cursor, plan) {
        // The place of the last row at or before the cursor (or first at or after it, going
        // down): the cursor's own row, unless it was renamed, re-addressed or deleted since.
        let (op, dir, outside) = if ascending { ("<=", "DESC", "0") } else { (">=", "ASC", "4611686018427387904") };
        let order = place_order(query.sort);
        let keys: Vec<String> = order.keys.iter().chain(&["id"]).map(|k| format!("c.{k}")).collect();
        let values: Vec<String> = cursor.values.iter().map(|v| params.push(Bind::Text(v.clone()))).collect();
        let id = params.push(Bind::Int(cursor.id));
        let place = order.column;
        let sorted: Vec<String> = keys.iter().map(|k| format!("{k} {dir}")).collect();
        let cmp = if ascending { ">" } else { "<" };
        sql += &format!(
            " AND s.rowid {cmp} COALESCE((SELECT c.{place} FROM users c WHERE ({}) {op} ({}, {id}) \
             AND c.{place} IS NOT NULL ORDER BY {} LIMIT 1), {outside})",
            keys.join(", "),
            values.join(", "),
            sorted.join(", ")
        );
    } else if let (Some(cursor), true) = (cursor, by_groups) {
        sql += &format!(" AND {}", after_in_group("g", cursor, ascending, &mut params));
    } else if let (Some(cursor), false) = (cursor, plan == Plan::Walk) {
        sql += &format!(" AND {}", keyset(&columns, cursor, if ascending { ">" } else { "<" }, &mut params));
    }
    let dir = if ascending { "ASC" } else { "DESC" };
    // A walk's rows come in the walk's order: the page is not sorted again.
    let order: Vec<String> = if plan == Plan::Place {
        vec![format!("s.rowid {dir}")]
    } else if plan == Plan::Walk {
        (0..columns.len()).map(|i| format!("w.k{i} {dir}")).chain([format!("w.id {dir}")]).collect()
    } else {
        columns.iter().map(|c| format!("{} {dir}", c.0)).chain([format!("u.id {dir}")]).collect()
    };
    let limit = params.push(Bind::Int(query.per_page + 1));
    sql += &format!(" ORDER BY {} LIMIT {limit}", order.join(", "));
    (sql, params.binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// The steps of SQLite's plan for a read.
    fn plan_of(conn: &mut DbConnection, query: &ListQuery, plan: Plan) -> Vec<String> {
        let (sql, binds) = statement(false, query, plan, "");
        let steps = load::<Step>(conn, &format!("EXPLAIN QUERY PLAN {sql}"), binds).unwrap();
        steps.into_iter().map(|s| s.detail).collect()
    }

    /// Pages through a view to its end and back to its start, checking each way against a plain
    /// read of the whole result.
    fn pages_as_read(conn: &mut DbConnection, view: ListQuery) {
        let whole = ListQuery { per_page: 1_000_000, ..view.clone() };
        let expected: Vec<i64> = read(conn, &whole, Plan::Plain, "").unwrap().rows.iter().map(|r| r.id).collect();
        let label = format!(
            "{:?} by {:?}, descending {}, group {:?}, status {:?}",
            view.search, view.sort, view.descending, view.group_id, view.status
        );
        assert!(!expected.is_empty(), "{label}");
        let (mut seen, mut query) = (Vec::new(), view.clone());
        let last = loop {
            let page = list(conn, &query).unwrap();
            seen.extend(page.rows.iter().map(|r| r.id));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break page,
            }
        };
        assert_eq!(seen, expected, "{label}");
        let mut back: Vec<i64> = last.rows.iter().rev().map(|r| r.id).collect();
        let mut previous = last.previous;
        while let Some(before) = previous {
            let page = list(conn, &ListQuery { before: Some(before), ..view.clone() }).unwrap();
            back.extend(page.rows.iter().rev().map(|r| r.id));
            previous = page.previous;
        }
        back.reverse();
        assert_eq!(back, expected, "{label} backwards");
    }

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

    /// Every plan pages through a search in exactly the order, and to exactly the rows, that a
    /// plain read of the whole result gives: both ways, by every column, for terms that match
    /// many users (walked; past its end when sorting by company, whose users sort together) and
    /// fewer (read whole).
    #[test]
    fn every_plan_pages_through_a_search_as_a_plain_read_orders_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::connect(&format!("sqlite://{}", dir.path().join("plans.db").display()), 1).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        crate::seed::seed(&mut conn, 12_000, 40, "not-a-hash", false).unwrap();
        let base = |search: &str, sort: Sort, descending: bool| ListQuery {
            search: search.into(),
            group_id: None,
            status: None,
            show_disabled: false,
            sort,
            descending,
            per_page: 25,
            after: None,
            before: None,
            search_groups: Vec::new(),
            part: Part::All,
        };
        let walked = base("summit", Sort::LastSignIn, false);
        assert!(matches(&mut conn, &walked).unwrap().is_none(), "a common company is walked");
        assert!(matches(&mut conn, &base("nina novak", Sort::LastSignIn, false)).unwrap().is_some());
        // A walk is the outermost loop, read in its own order: no sort, no other index first;
        // planned as at a million users (the statistics ANALYZE writes there).
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            "UPDATE sqlite_stat1 SET stat = CASE idx WHEN 'users_email_sort' THEN '1000000 1 1 1' \
             WHEN 'users_name_order' THEN '1000000 1' WHEN 'users_name' THEN '1000000 25000 630 1' \
             WHEN 'users_status_name' THEN '1000000 250000 6250 160 1' WHEN 'users_company' THEN '1000000 83334 1 1' \
             WHEN 'users_sign_in_sort' THEN '1000000 2 1 1' ELSE '1000000 250000 1 1' END WHERE tbl = 'users'; \
             DELETE FROM sqlite_stat1 WHERE idx = 'groups_name'; ANALYZE sqlite_schema",
        )
        .unwrap();
        for sort in Sort::ALL.into_iter().filter(|s| *s != Sort::Name) {
            for descending in [false, true] {
                let after = Some(Cursor { values: vec!["2".into()], id: 500 });
                for query in [base("summit", sort, descending), ListQuery { after, ..base("summit", sort, descending) }]
                {
                    let steps = plan_of(&mut conn, &query, Plan::Walk);
                    let walked = format!("USING COVERING INDEX {}", sort.index());
                    // (Sorted by group, the groups come first, each one's users from the index.)
                    let first = if sort == Sort::Group { 1 } else { 0 };
                    assert!(steps[first].contains(&walked), "{sort:?}: {steps:?}");
                    assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE") || s.contains("CO-ROUTINE")), "{steps:?}");
                }
            }
        }
        // Sorted by name or by email, a search reads the trigram index keyed by that order, in
        // order: no sort.
        for sort in [Sort::Name, Sort::Email] {
            let after = Some(Cursor { values: vec!["lena.x@".into(); sort.columns(false).len()], id: 500 });
            for query in [base("lena", sort, true), ListQuery { after, ..base("lena", sort, true) }] {
                let steps = plan_of(&mut conn, &query, Plan::Place);
                assert!(steps[0].starts_with("SCAN s VIRTUAL TABLE"), "{sort:?}: {steps:?}");
                let place = format!("USING INDEX users_{}", place_order(sort).column);
                assert!(steps.iter().any(|s| s.starts_with("SEARCH u") && s.contains(&place)), "{sort:?}: {steps:?}");
                assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE")), "{sort:?}: {steps:?}");
            }
        }
        // So is the list without a search, by every column: read in the sort's order.
        for sort in Sort::ALL {
            let steps = plan_of(&mut conn, &base("", sort, true), Plan::Plain);
            assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE")), "{sort:?}: {steps:?}");
            // Filtered by status, the name and the last sign-in are read in order by status.
            if matches!(sort, Sort::Name | Sort::LastSignIn) {
                let invited = ListQuery { status: Some(UserStatus::Invited), ..base("", sort, true) };
                let steps = plan_of(&mut conn, &invited, Plan::Plain);
                let index = if sort == Sort::Name { "users_status_name" } else { "users_status_sign_in" };
                assert!(steps.iter().any(|s| s.contains(&format!("INDEX {index} (status=?)"))), "{sort:?}: {steps:?}");
                assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE")), "{sort:?}: {steps:?}");
            }
            // Filtered by group or status, the sort's index is walked, the filters tested in it.
            let filtered = ListQuery { group_id: Some(2), status: Some(UserStatus::Invited), ..base("", sort, true) };
            let steps = plan_of(&mut conn, &filtered, Plan::Walk);
            let first = if sort == Sort::Group { 1 } else { 0 };
            assert!(steps[first].contains(&format!("USING COVERING INDEX {}", sort.index())), "{sort:?}: {steps:?}");
            assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE") || s.contains("CO-ROUTINE")), "{steps:?}");
        }
        // The list without a search pages by every column as the database sorts it, filtered or not
        // (by a group of most users, walked; of few, read and sorted; by status).
        let filters = [
            (None, None),
            (Some(2), None),
            (Some(1), None),
            (None, Some(UserStatus::Invited)),
            (Some(2), Some(UserStatus::Disabled)),
        ];
        for (group_id, status) in filters {
            for sort in Sort::ALL {
                for descending in [false, true] {
                    let view = ListQuery { group_id, status, ..base("", sort, descending) };
                    let whole = ListQuery { per_page: 1_000_000, ..view.clone() };
                    let expected: Vec<i64> =
                        read(&mut conn, &whole, Plan::Matches, "").unwrap().rows.iter().map(|r| r.id).collect();
                    assert!(!expected.is_empty());
                    let (mut seen, mut query) = (Vec::new(), ListQuery { per_page: 500, ..view });
                    loop {
                        let page = list(&mut conn, &query).unwrap();
                        seen.extend(page.rows.iter().map(|r| r.id));
                        match page.next {
                            Some(next) => query.after = Some(next),
                            None => break,
                        }
                    }
                    assert_eq!(
                        seen, expected,
                        "the list by {sort:?} ({group_id:?}, {status:?}), descending {descending}"
                    );
                }
            }
        }
        // A search that matches a group's name ("support"; "admin", also in an email) finds
        // that group's users too: they are read apart, and merged with the others it finds.
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            "UPDATE users SET company = 'Support Desk', building_count = 100 - id % 100 WHERE id % 50 = 7; \
             UPDATE users SET company = 'Ng Wu Holdings' WHERE id % 500 = 9",
        )
        .unwrap();
        let groups: Vec<(i64, String)> =
            load::<Step>(&mut conn, "SELECT id || ' ' || lower(name) AS detail FROM groups", vec![])
                .unwrap()
                .into_iter()
                .map(|g| {
                    let (id, name) = g.detail.split_once(' ').unwrap();
                    (id.parse().unwrap(), name.to_owned())
                })
                .collect();
        let base = |search: &str, sort: Sort, descending: bool| ListQuery {
            search_groups: groups.iter().filter(|g| g.1.contains(search)).map(|g| g.0).collect(),
            ..base(search, sort, descending)
        };
        assert!(!base("support", Sort::Group, false).search_groups.is_empty());
        // "summit" and "realty summit" by company: the users who sort together.
        let companies_read = |conn: &mut DbConnection, search: &str| {
            companies(conn, &base(search, Sort::Company, false)).unwrap().is_some()
        };
        assert!(companies_read(&mut conn, "summit") && companies_read(&mut conn, "realty summit"));
        // A word of one or two letters is found at the beginning of a word only: "li" finds Liam
        // and Lopez's emails, not Julia; "ho" a company's "Holdings".
        #[derive(QueryableByName)]
        struct Searched {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Text)]
            text: String,
        }
        let everyone: Vec<Searched> = load(
            &mut conn,
            &format!(
                "SELECT id, lower({SEARCHED}) AS text FROM users WHERE status IN ('invited', 'active') ORDER BY id"
            ),
            vec![],
        )
        .unwrap();
        for search in ["li", "wu", "ho", "ng wu", "x"] {
            let expected: Vec<i64> = everyone
                .iter()
                .filter(|u| search.split_whitespace().all(|w| holds(&u.text, w)))
                .map(|u| u.id)
                .collect();
            assert!(!expected.is_empty(), "{search}");
            let query = ListQuery { per_page: 1_000_000, ..base(search, Sort::Email, false) };
            let mut found: Vec<i64> = list(&mut conn, &query).unwrap().rows.iter().map(|r| r.id).collect();
            found.sort();
            assert_eq!(found, expected, "{search}");
        }
        assert!(everyone.iter().any(|u| u.text.contains("li") && !holds(&u.text, "li")), "Julia is not found");
        for search in [
            "novak",
            "riverbend",
            "summit",
            "realty summit",
            "nina",
            "lena",
            "nina novak",
            "support",
            "admin",
            "li",
            "wu",
            "ho",
            "ng wu",
            "x",
        ] {
            for sort in Sort::ALL {
                for descending in [false, true] {
                    pages_as_read(&mut conn, base(search, sort, descending));
                }
            }
        }
        // Filtered by a group or a status, which the trigram index holds too.
        let filters = [(Some(4), None), (Some(2), Some(UserStatus::Invited)), (None, Some(UserStatus::Disabled))];
        for search in ["novak", "summit", "li", "x", "support"] {
            for (group_id, status) in filters {
                for sort in Sort::ALL {
                    for descending in [false, true] {
                        pages_as_read(&mut conn, ListQuery { group_id, status, ..base(search, sort, descending) });
                    }
                }
            }
        }
        // Others with a company's name in their email are merged in; too many, and the search is
        // walked.
        for (every, read_apart) in [(997, true), (40, false)] {
            diesel::connection::SimpleConnection::batch_execute(
                &mut *conn,
                &format!("UPDATE users SET email = 'summit.' || email WHERE id % {every} = 3"),
            )
            .unwrap();
            // (As every transaction of the portal does before it commits.)
            crate::db::places::place_unplaced(&mut conn).unwrap();
            assert_eq!(companies_read(&mut conn, "summit"), read_apart);
            assert_eq!(companies_read(&mut conn, "realty summit"), read_apart);
            for search in ["summit", "realty summit"] {
                for descending in [false, true] {
                    pages_as_read(&mut conn, base(search, Sort::Company, descending));
                }
            }
        }
        // A walk tests ASCII words in the walked entry, lower-cased by SQLite (ASCII letters
        // only); a word with other letters is looked up in the trigram index, which folds them all.
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            "UPDATE users SET first_name = 'Émile' WHERE id % 40 = 0; \
             UPDATE users SET company = 'Maison émile' WHERE id % 40 = 20",
        )
        .unwrap();
        for search in ["émile", "Émile", "mile", "é"] {
            let query = base(search, Sort::LastSignIn, false);
            assert!(matches(&mut conn, &query).unwrap().is_none(), "{search} is walked");
            let whole = ListQuery { per_page: 1_000_000, ..query.clone() };
            let expected: Vec<i64> =
                read(&mut conn, &whole, Plan::Matches, "").unwrap().rows.iter().take(25).map(|r| r.id).collect();
            let page: Vec<i64> = list(&mut conn, &query).unwrap().rows.iter().map(|r| r.id).collect();
            assert_eq!(page.len(), 25, "{search}");
            assert_eq!(page, expected, "{search}");
        }
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern(" 50%_Off "), "%50\\%\\_off%");
    }
}
