//! `concierge seed-demo`: realistic accounts, buildings, users in every group and status, and
//! property access — fast enough to fill a database with a million users for trying and
//! benchmarking. Rows go in as multi-row INSERTs in large transactions.

use std::fmt::Write;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::{DbConnection, groups, now};
use crate::error::AppError;

/// Everyone seeded signs in with this password.
pub const DEMO_PASSWORD: &str = "demo-harbor-lantern-2026";
/// An administrator to sign in as.
pub const DEMO_ADMIN: &str = "admin@demo.example";

const FIRST: [&str; 40] = [
    "Ava", "Ben", "Carla", "Deepak", "Elena", "Farah", "George", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo",
    "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko",
    "Bruno", "Chloe", "Dmitri", "Esther", "Felix", "Grace", "Hugo", "Isla", "Jonas", "Kira", "Liam", "Maya", "Noah",
];
const LAST: [&str; 40] = [
    "Anders",
    "Baker",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Adeyemi",
    "Bianchi",
    "Chen",
    "Diaz",
    "Evans",
    "Novak",
    "Gupta",
    "Horvat",
    "Ibrahim",
    "Johansson",
    "Kim",
    "Larsen",
    "Murphy",
    "Nguyen",
];
const COMPANIES: [&str; 12] = [
    "Harbor Property Group",
    "Northwind Facilities",
    "Cedar & Stone",
    "Lakeside Leasing",
    "Summit Realty",
    "Blue Door Management",
    "Granite Works",
    "Meridian Estates",
    "Oakline Partners",
    "Riverbend Holdings",
    "Keystone Services",
    "Brightwater Tenants",
];
const TITLES: [&str; 8] = [
    "Property manager",
    "Facilities lead",
    "Chief engineer",
    "Leasing agent",
    "Operations analyst",
    "Controller",
    "Security supervisor",
    "Tenant coordinator",
];
const JOBS: [&str; 8] = [
    "property_manager",
    "facilities_manager",
    "building_engineer",
    "leasing",
    "operations",
    "finance",
    "security",
    "tenant",
];
const CITIES: [(&str, &str, &str); 8] = [
    ("Reno", "NV", "US"),
    ("Denver", "CO", "US"),
    ("Austin", "TX", "US"),
    ("Portland", "OR", "US"),
    ("Toronto", "ON", "CA"),
    ("Chicago", "IL", "US"),
    ("Boston", "MA", "US"),
    ("Seattle", "WA", "US"),
];
const STREETS: [&str; 8] =
    ["Harbor Way", "Main St", "Oak Ave", "Pine St", "Market St", "Lake Shore Dr", "Elm St", "1st Ave"];

/// A small deterministic generator: the same seed gives the same demo.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub struct Seeded {
    pub users: u64,
    pub buildings: u64,
    pub events: u64,
    pub seconds: f64,
}

/// Seeds `users` users, `buildings` buildings and `events` audit events. Refuses a database that has demo users unless
/// `force`, so a second run never doubles the data by accident.
pub fn seed(
    conn: &mut DbConnection,
    users: u64,
    buildings: u64,
    events: u64,
    password_hash: &str,
    force: bool,
) -> Result<Seeded, AppError> {
    use crate::db::schema::users as u;
    let started = Instant::now();
    let existing: i64 = u::table.filter(u::email.like("%@demo.example")).count().get_result(conn)?;
    if existing > 0 && !force {
        return Err(AppError::BadRequest(format!(
            "this database has {existing} demo users already; pass --force to add more"
        )));
    }
    let run_id: i64 = u::table.count().get_result(conn)?;
    let pg = matches!(conn, DbConnection::Postgresql(_));
    if !pg {
        conn.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;")?;
    }
    let group_ids: Vec<(String, i64)> =
        groups::list(conn)?.into_iter().filter_map(|g| g.builtin_key.map(|k| (k, g.id))).collect();
    let group = |key: &str| group_ids.iter().find(|(k, _)| k == key).map(|(_, id)| *id).unwrap_or(1);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (run_id as u64 + 1));
    let at = now();
    let ts = |t: chrono::NaiveDateTime| quote(&t.format("%Y-%m-%d %H:%M:%S%.6f").to_string());

    // Accounts and buildings.
    let accounts = buildings.div_ceil(20).max(1);
    let first_account: i64 = crate::db::schema::accounts::table
        .select(diesel::dsl::max(crate::db::schema::accounts::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0)
        + 1;
    let mut sql = String::from("INSERT INTO accounts (name, created_at, updated_at) VALUES ");
    for a in 0..accounts {
        let sep = if a == 0 { "" } else { "," };
        let name = format!("{} Portfolio {}", COMPANIES[(a % 12) as usize], run_id as u64 + a + 1);
        write!(sql, "{sep}({}, {}, {})", quote(&name), ts(at), ts(at)).ok();
    }
    conn.batch_execute(&sql)?;
    let first_building: i64 = crate::db::schema::buildings::table
        .select(diesel::dsl::max(crate::db::schema::buildings::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0)
        + 1;
    for chunk in (0..buildings).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO buildings (account_id, name, street, city, region, postal_code, country, created_at, updated_at) VALUES ",
        );
        for (i, b) in chunk.iter().enumerate() {
            let (city, region, country) = CITIES[(b % 8) as usize];
            let sep = if i == 0 { "" } else { "," };
            write!(
                sql,
                "{sep}({}, {}, {}, {}, {}, {}, {}, {}, {})",
                first_account + (*b as i64 / 20),
                quote(&format!("{} Tower {}", STREETS[(b % 8) as usize].split(' ').next().unwrap_or("Tower"), b + 1)),
                quote(&format!("{} {}", 100 + rng.below(9000), STREETS[rng.below(8) as usize])),
                quote(city),
                quote(region),
                quote(&format!("{:05}", rng.below(99999))),
                quote(country),
                ts(at),
                ts(at)
            )
            .ok();
        }
        conn.batch_execute(&sql)?;
    }

    // Users, with their property access.
    let first_user: i64 = u::table.select(diesel::dsl::max(u::id)).first::<Option<i64>>(conn)?.unwrap_or(0) + 1;
    let year = chrono::Duration::days(365);
    let columns = "INSERT INTO users (email, first_name, last_name, phone, title, job_function, company, group_id, status, \
                   is_owner, password_hash, must_change_password, notification_preference, security_stamp, last_sign_in_at, \
                   created_at, updated_at, version) VALUES ";
    let mut add_users = |conn: &mut DbConnection, n: u64, end: u64| -> Result<(), AppError> {
        let mut i = n;
        while i < end {
            let stop = (i + 5_000).min(end);
            let mut sql = String::from(columns);
            for k in i..stop {
                let (first, last) = (FIRST[rng.below(40) as usize], LAST[rng.below(40) as usize]);
                let company = COMPANIES[rng.below(12) as usize];
                let roll = rng.below(100);
                let (group_key, email) = if k == 0 && existing == 0 {
                    ("admin", DEMO_ADMIN.to_owned())
                } else {
                    let key = match roll {
                        0 => "admin",
                        1..=30 => "regular",
                        31..=40 => "read_only",
                        41..=45 => "support",
                        _ => "customer",
                    };
                    (
                        key,
                        format!("{}.{}.{}@demo.example", first.to_lowercase(), last.to_lowercase(), run_id as u64 + k),
                    )
                };
                let status = match rng.below(100) {
                    _ if k == 0 && existing == 0 => "active",
                    0..=84 => "active",
                    85..=91 => "invited",
                    92..=96 => "disabled",
                    _ => "deleted",
                };
                let signed_in = status != "invited" && rng.below(10) > 0;
                let last_sign_in = if signed_in {
                    ts(at - chrono::Duration::seconds(rng.below(year.num_seconds() as u64) as i64))
                } else {
                    "NULL".into()
                };
                let created = ts(at - chrono::Duration::seconds(rng.below(2 * year.num_seconds() as u64) as i64));
                let sep = if k == i { "" } else { "," };
                write!(
                    sql,
                    "{sep}({}, {}, {}, {}, {}, {}, {}, {}, {}, FALSE, {}, FALSE, 'all', {}, {last_sign_in}, {created}, {created}, 1)",
                    quote(&email),
                    quote(first),
                    quote(last),
                    quote(&format!("+1 702 555 {:04}", rng.below(10000))),
                    quote(TITLES[rng.below(8) as usize]),
                    quote(JOBS[rng.below(8) as usize]),
                    quote(company),
                    group(group_key),
                    quote(status),
                    if status == "invited" { "NULL".into() } else { quote(password_hash) },
                    quote(&format!("{:032x}", rng.next() as u128 * 31 + k as u128)),
                )
                .ok();
            }
            conn.batch_execute(&sql)?;
            i = stop;
        }
        // Property access: a third get one building, one in fifty a whole account.
        if buildings > 0 {
            let mut grants = Vec::new();
            let mut account_grants = Vec::new();
            for k in (n..end).filter(|k| k % 3 == 0) {
                let building = first_building + rng.below(buildings) as i64;
                grants.push(format!("({}, {building}, {})", first_user + k as i64, ts(at)));
                if k % 50 == 0 {
                    let account = first_account + rng.below(accounts) as i64;
                    account_grants.push(format!("({}, {account}, {})", first_user + k as i64, ts(at)));
                }
            }
            for rows in grants.chunks(1000) {
                let rows = rows.join(",");
                conn.batch_execute(&format!(
                    "INSERT INTO building_access (user_id, building_id, granted_at) VALUES {rows}"
                ))?;
            }
            for rows in account_grants.chunks(1000) {
                let rows = rows.join(",");
                conn.batch_execute(&format!(
                    "INSERT INTO account_access (user_id, account_id, granted_at) VALUES {rows}"
                ))?;
            }
        }
        Ok(())
    };

    // Many users into a small table: its indexes are dropped and built again at the end (a sort
    // each), all in one transaction, instead of being updated row by row; most of a large
    // seed's time went there. Otherwise, transactions of 50,000 users.
    let rebuild = !pg && users as i64 > run_id;
    if rebuild {
        crate::db::transaction(conn, |conn| {
            #[derive(QueryableByName)]
            struct Index {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                sql: String,
            }
            let indexes: Vec<Index> = diesel::sql_query(
                "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'users' AND type = 'index' AND sql IS NOT NULL",
            )
            .load(conn)?;
            for index in &indexes {
                conn.batch_execute(&format!("DROP INDEX \"{}\"", index.name.replace('"', "\"\"")))?;
            }
            for n in (0..users).step_by(50_000) {
                add_users(conn, n, (n + 50_000).min(users))?;
            }
            // Indexes sort their entries faster with two threads and SQLite's own cache size.
            conn.batch_execute("PRAGMA threads = 2; PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT;")?;
            for index in &indexes {
                conn.batch_execute(&index.sql)?;
            }
            Ok(())
        })?;
    } else {
        for n in (0..users).step_by(50_000) {
            crate::db::transaction(conn, |conn| add_users(conn, n, (n + 50_000).min(users)))?;
        }
    }
    if events > 0 {
        let people: Vec<(i64, String, String, String)> = u::table
            .filter(u::id.ge(first_user))
            .order(u::id)
            .limit(5_000)
            .select((u::id, u::first_name, u::last_name, u::email))
            .load(conn)?;
        for n in (0..events).step_by(50_000) {
            let end = (n + 50_000).min(events);
            crate::db::transaction(conn, |conn| add_events(conn, &mut rng, &people, n, end, events, at))?;
        }
    }
    if !pg {
        conn.batch_execute("PRAGMA synchronous = NORMAL; ANALYZE;")?;
    } else {
        conn.batch_execute("ANALYZE")?;
    }
    Ok(Seeded { users, buildings, events, seconds: started.elapsed().as_secs_f64() })
}

/// Audit events `n..end` of `total`, spread over the year before `at` in order: mostly sign-ins,
/// then changes of users and their access, some invitations, a few by someone signed in as
/// someone else, and the rest about groups, buildings and settings.
fn add_events(
    conn: &mut DbConnection,
    rng: &mut Rng,
    people: &[(i64, String, String, String)],
    n: u64,
    end: u64,
    total: u64,
    at: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    use crate::db::audit::{category_of, person_label};
    if people.is_empty() {
        return Ok(());
    }
    let year = 365 * 24 * 3600;
    let columns = "INSERT INTO audit_events (at, actor_id, actor_label, impersonator_id, impersonator_label, action, \
                   category, target_type, target_id, target_label, details, ip, user_agent) VALUES ";
    let mut i = n;
    while i < end {
        let stop = (i + 5_000).min(end);
        let mut sql = String::from(columns);
        for k in i..stop {
            let when = at - chrono::Duration::seconds(year - (year * k as i64) / total.max(1) as i64);
            let pick = |rng: &mut Rng| &people[rng.below(people.len() as u64) as usize];
            let (actor, target) = (pick(rng), pick(rng));
            let label = |p: &(i64, String, String, String)| quote(&person_label(&p.1, &p.2, &p.3));
            let (action, details, by_self, impersonated) = match rng.below(100) {
                0..=59 => ("sign_in", "{}".to_owned(), true, false),
                60..=69 => (
                    "sign_in.failed",
                    format!(r#"{{"email":"{}","reason":"wrong email or password"}}"#, target.3),
                    false,
                    false,
                ),
                70..=81 => (
                    "user.updated",
                    format!(
                        r#"{{"before":{{"Title":"{}"}},"after":{{"Title":"{}"}}}}"#,
                        TITLES[rng.below(8) as usize],
                        TITLES[rng.below(8) as usize]
                    ),
                    false,
                    false,
                ),
                82..=84 => (
                    "user.updated",
                    r#"{"before":{"Group":"Regular"},"after":{"Group":"Support"}}"#.to_owned(),
                    false,
                    false,
                ),
                85..=89 => (
                    "user.access_changed",
                    r#"{"buildings_added":[1],"buildings_removed":[],"accounts_added":[],"accounts_removed":[]}"#
                        .to_owned(),
                    false,
                    false,
                ),
                90..=93 => ("invite.sent", "{}".to_owned(), false, false),
                94 => (
                    "user.profile_updated",
                    r#"{"before":{"Phone":""},"after":{"Phone":"+1 702 555 0100"}}"#.to_owned(),
                    true,
                    true,
                ),
                95..=96 => (
                    "group.updated",
                    r#"{"before":{"name":"Leasing"},"after":{"name":"Leasing team"}}"#.to_owned(),
                    false,
                    false,
                ),
                97..=98 => (
                    "building.updated",
                    r#"{"before":{"city":"Reno"},"after":{"city":"Sparks"}}"#.to_owned(),
                    false,
                    false,
                ),
                _ => (
                    "settings.updated",
                    r#"{"before":{"org_name":"Demo"},"after":{"org_name":"Demo Estates"}}"#.to_owned(),
                    false,
                    false,
                ),
            };
            let (actor_id, actor_label) = match action {
                "sign_in.failed" => ("NULL".to_owned(), "''".to_owned()),
                _ if by_self => (target.0.to_string(), label(target)),
                _ => (actor.0.to_string(), label(actor)),
            };
            let (impersonator_id, impersonator_label) =
                if impersonated { (actor.0.to_string(), label(actor)) } else { ("NULL".to_owned(), "''".to_owned()) };
            let (target_type, target_id, target_label) = match category_of(action) {
                "groups" => ("'group'".to_owned(), "2".to_owned(), "'Regular'".to_owned()),
                "buildings" => ("'building'".to_owned(), "1".to_owned(), "'Harbor Tower 1'".to_owned()),
                "settings" => ("NULL".to_owned(), "NULL".to_owned(), "''".to_owned()),
                _ => ("'user'".to_owned(), target.0.to_string(), label(target)),
            };
            let sep = if k == i { "" } else { "," };
            write!(
                sql,
                "{sep}({}, {actor_id}, {actor_label}, {impersonator_id}, {impersonator_label}, {}, {}, {target_type}, \
                 {target_id}, {target_label}, {}, '10.0.{}.{}', 'Mozilla/5.0 (demo)')",
                quote(&when.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
                quote(action),
                quote(category_of(action)),
                quote(&details),
                rng.below(256),
                rng.below(256),
            )
            .ok();
        }
        conn.batch_execute(&sql)?;
        i = stop;
    }
    Ok(())
}
