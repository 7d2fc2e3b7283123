//! The Users list holds its meaning under change: after random adds, renames, new emails,
//! groups, statuses, deletions, restores, grants and imports, every search × filter × sort ×
//! direction pages (forwards to the end, then back to the start) through exactly the users a
//! plain filter-and-sort of all of them gives, by either plan and by the plan the counts choose.
//! On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::NaiveDateTime;
use concierge::db::DbConnection;
use concierge::db::directory::{self, ListQuery, Plan, Sort};
use concierge::domain::{Activity, UserStatus};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::helpers::*;

/// A small deterministic generator (xorshift); the seed is printed so a failure can be replayed
/// with DIRECTORY_SEED.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIRST: [&str; 9] = ["Ann", "ann", "Bo", "Émile", "émile", "Julia", "Li", "Zoë", "Quinn"];
const LAST: [&str; 8] = ["Quill", "Li", "Xu", "Novak", "Øster", "de la Cruz", "Quill 07", "Abbott"];
const COMPANY: [&str; 6] = ["", "Summit Realty", "Li & Co", "50% Off", "Ng Wu Holdings", "\"Quoted\" Ltd"];
const GROUPS: [&str; 3] = ["Customer", "Regular", "Li Team"];
const SEARCHES: [&str; 12] =
    ["", "li", "LI", "quill", "ÉMILE", "ann quill", "summit", "q", "50%", "\"quoted\"", "li team", "a_b"];

#[derive(QueryableByName, Debug, Clone)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    first_name: String,
    #[diesel(sql_type = Text)]
    last_name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    company: String,
    #[diesel(sql_type = BigInt)]
    group_id: i64,
    #[diesel(sql_type = Text)]
    group_name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    buildings: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_sign_in_at: Option<NaiveDateTime>,
}

fn everyone(conn: &mut DbConnection) -> Vec<Row> {
    diesel::sql_query(
        "SELECT u.id, u.first_name, u.last_name, u.email, u.company, u.group_id, g.name AS group_name, u.status, \
         CAST(u.building_count AS BIGINT) AS buildings, u.last_sign_in_at FROM users u JOIN groups g ON g.id = u.group_id",
    )
    .load(conn)
    .unwrap()
}

/// What the list should show: a plain filter and sort of every user.
fn expected(all: &[Row], query: &ListQuery) -> Vec<i64> {
    let clean: String = query.search.chars().filter(|c| !c.is_control()).collect();
    let needle = clean.trim().to_lowercase();
    let words: Vec<String> = clean
        .split_whitespace()
        .map(|w| {
            let w = w.to_lowercase();
            // A word of one or two letters at a word's beginning.
            if w.chars().count() < 3 { format!("{}{w}", " ".repeat(3 - w.chars().count())) } else { w }
        })
        .collect();
    let mut rows: Vec<&Row> = all
        .iter()
        .filter(|u| match query.status {
            Some(s) => u.status == s.as_str(),
            None => query.show_disabled || u.status == "invited" || u.status == "active",
        })
        .filter(|u| query.group_id.is_none_or(|g| g == u.group_id))
        .filter(|u| query.activity != Some(Activity::NeverSignedIn) || u.last_sign_in_at.is_none())
        .filter(|u| {
            let text = format!(" {} {} {} {}", u.first_name, u.last_name, u.email, u.company).replace(' ', "  ");
            let text = text.to_lowercase();
            needle.is_empty() || words.iter().all(|w| text.contains(w)) || u.group_name.to_lowercase().contains(&needle)
        })
        .collect();
    let key = |u: &Row| -> (Vec<String>, i64, Option<NaiveDateTime>) {
        match query.sort {
            Sort::Name => (vec![u.last_name.clone(), u.first_name.clone()], 0, None),
            Sort::Email => (vec![u.email.clone()], 0, None),
            Sort::Company => (vec![u.company.clone()], 0, None),
            Sort::Group => (vec![], u.group_id, None),
            Sort::Status => (vec![u.status.clone()], 0, None),
            Sort::Buildings => (vec![], u.buildings, None),
            Sort::LastSignIn => (vec![], 0, u.last_sign_in_at),
        }
    };
    rows.sort_by_key(|u| (key(u), u.id));
    if query.descending {
        rows.reverse();
    }
    rows.into_iter().map(|u| u.id).collect()
}

/// Every page forwards to the end, then back from the last to the first, by one plan.
fn paged(conn: &mut DbConnection, view: &ListQuery, plan: Plan) -> (Vec<i64>, Vec<i64>) {
    let (mut forwards, mut query) = (Vec::new(), view.clone());
    let last = loop {
        let page = directory::list_by(conn, &query, plan).unwrap();
        assert!(page.rows.len() as i64 <= view.per_page);
        forwards.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break page,
        }
        assert!(forwards.len() < 10_000, "paging never ends: {view:?}");
    };
    let mut backwards: Vec<i64> = last.rows.iter().rev().map(|r| r.id).collect();
    let mut previous = last.previous;
    while let Some(before) = previous {
        let page =
            directory::list_by(conn, &ListQuery { before: Some(before), after: None, ..view.clone() }, plan).unwrap();
        backwards.extend(page.rows.iter().rev().map(|r| r.id));
        previous = page.previous;
        assert!(backwards.len() < 10_000, "paging back never ends: {view:?}");
    }
    backwards.reverse();
    (forwards, backwards)
}

/// As chosen; reading the matches first; walking to the end; walking one entry a row and then
/// reading the matches.
const PLANS: [Plan; 4] = [
    Plan::CHOSEN,
    Plan { few_below: i64::MAX, walk_at_most: None },
    Plan { few_below: 0, walk_at_most: None },
    Plan { few_below: 0, walk_at_most: Some(1) },
];

fn check_every_view(conn: &mut DbConnection, groups: &[i64], round: usize) {
    let all = everyone(conn);
    let never = Some(Activity::NeverSignedIn);
    // (group, status, show disabled, activity)
    type Filter = (Option<i64>, Option<UserStatus>, bool, Option<Activity>);
    let filters: Vec<Filter> = vec![
        (None, None, false, None),
        (None, None, true, None),
        (Some(groups[0]), None, false, None),
        (None, Some(UserStatus::Disabled), false, None),
        (Some(groups[1]), Some(UserStatus::Invited), false, None),
        (None, None, true, never),
    ];
    for search in SEARCHES {
        for &(group_id, status, show_disabled, activity) in &filters {
            for sort in Sort::ALL {
                for descending in [false, true] {
                    let view = ListQuery {
                        search: search.into(),
                        group_id,
                        status,
                        show_disabled,
                        activity,
                        sort,
                        descending,
                        per_page: 4,
                        after: None,
                        before: None,
                    };
                    let want = expected(&all, &view);
                    for plan in PLANS {
                        let (forwards, backwards) = paged(conn, &view, plan);
                        assert_eq!(forwards, want, "round {round}, {plan:?}, forwards: {view:?}");
                        assert_eq!(backwards, want, "round {round}, {plan:?}, backwards: {view:?}");
                    }
                }
            }
        }
    }
}

#[actix_web::test]
async fn every_view_of_the_list_is_a_plain_filter_and_sort_of_its_users_under_random_change() {
    let seed = std::env::var("DIRECTORY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026_u64);
    eprintln!("DIRECTORY_SEED={seed}");
    let mut random = Random(seed);
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let team = app.custom_group("Li Team", &["users.view"]).await;
    let (_, buildings) = app.account_with_buildings("Harbor", 4).await;
    let groups = vec![app.builtin_group("customer").await, app.builtin_group("regular").await, team];

    let mut serial = 0;
    let mut import = |random: &mut Random, rows: usize| {
        let mut csv = String::from("email,first_name,last_name,phone,title,job_function,company,group");
        for _ in 0..rows {
            serial += 1;
            csv += &format!(
                "\n{}.{serial}@example.com,{},{},+1 702 555 0100,Clerk,tenant,\"{}\",{}",
                random.pick(&["ann", "li", "a_b", "zed", "quill"]),
                random.pick(&FIRST),
                random.pick(&LAST),
                random.pick(&COMPANY).replace('"', "\"\""),
                random.pick(&GROUPS)
            );
        }
        csv
    };
    let csv = import(&mut random, 30);
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");

    for round in 0..3 {
        for _ in 0..12 {
            let ids: Vec<i64> = app.with_db(|conn| everyone(conn).into_iter().map(|u| u.id).collect()).await;
            let id = *random.pick(&ids);
            let change = random.below(8);
            if change == 7 {
                let rows = 1 + random.below(3);
                let csv = import(&mut random, rows);
                admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");
                continue;
            }
            let (first, last, company) = (*random.pick(&FIRST), *random.pick(&LAST), *random.pick(&COMPANY));
            let (group, status) = (*random.pick(&groups), *random.pick(&["invited", "active", "disabled", "deleted"]));
            let (building, when) = (*random.pick(&buildings), random.below(4));
            let email = format!("{}.{}@example.org", random.pick(&["moved", "li", "émile"]), random.next() % 1000);
            app.with_db(move |conn| {
                use concierge::db::schema::users;
                let user = users::table.find(id);
                match change {
                    0 => {
                        diesel::update(user).set((users::first_name.eq(first), users::last_name.eq(last))).execute(conn)
                    }
                    1 => diesel::update(user).set(users::email.eq(email)).execute(conn),
                    2 => diesel::update(user).set(users::group_id.eq(group)).execute(conn),
                    3 => diesel::update(user).set(users::status.eq(status)).execute(conn),
                    4 => diesel::update(user).set(users::company.eq(company)).execute(conn),
                    5 => {
                        let at = (when > 0).then(|| {
                            chrono::NaiveDate::from_ymd_opt(2026, 11, when as u32)
                                .unwrap()
                                .and_hms_opt(9, 0, 0)
                                .unwrap()
                        });
                        diesel::update(user).set(users::last_sign_in_at.eq(at)).execute(conn)
                    }
                    // (A second grant of the same building is refused, and left at that.)
                    _ => {
                        use concierge::db::schema::building_access as access;
                        diesel::insert_into(access::table)
                            .values((
                                access::user_id.eq(id),
                                access::building_id.eq(building),
                                access::granted_at.eq(concierge::db::now()),
                            ))
                            .execute(conn)
                    }
                }
                .ok()
            })
            .await;
        }
        let groups = groups.clone();
        app.with_db(move |conn| check_every_view(conn, &groups, round)).await;
    }
}

#[test]
fn short_words_are_looked_for_at_a_word_beginning() {
    assert_eq!(directory::words(" Li  ÉMILE q\0 "), vec![" li", "émile", "  q"]);
}
