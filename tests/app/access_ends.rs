//! Access that ends by itself: end dates set on a user's page and on Add New User, one warning a
//! week before (to the user and whoever granted it), the end the day after the last day — each
//! once, however often (or by how many processes) the round runs. The clock is passed in.

use chrono::Duration;
use concierge::db::schema::{audit_events, outbox};
use concierge::db::user_access;
use concierge::domain::UserStatus;
use diesel::prelude::*;

use crate::helpers::*;

async fn run_at(app: &TestApp, at: chrono::NaiveDateTime) -> concierge::ops::access_ends::Done {
    app.with_db(move |c| concierge::ops::access_ends::run(c, at).unwrap()).await
}

async fn warnings_to(app: &TestApp, to: &'static str) -> i64 {
    app.with_db(move |c| {
        outbox::table
            .filter(outbox::kind.eq("access_ending"))
            .filter(outbox::to_address.eq(to))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

fn day(d: chrono::NaiveDateTime) -> String {
    d.date().to_string()
}

#[actix_web::test]
async fn a_grant_with_an_end_date_is_warned_of_once_and_ends_once() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (_, towers) = app.account_with_buildings("Harbor", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", first_name: "Nina", ..UserSpec::default() }).await;
    let now = concierge::db::now();
    let last_day = now + Duration::days(10);
    let path = format!("/users/{}/access", nina.id);
    let t0 = towers[0].to_string();
    admin
        .post(&path, &[("building", &t0), ("ends_new", &day(last_day))])
        .await
        .assert_redirect_to(&format!("/users/{}", nina.id));
    let ends = app.with_db(move |c| user_access::ends_of(c, nina.id).unwrap()).await;
    assert_eq!(ends.buildings.get(&towers[0]), Some(&last_day.date()));
    let page = admin.get(&format!("/users/{}", nina.id)).await;
    assert!(page.body.contains(&format!(
        "name=\"ends_building_{}\" type=\"date\" value=\"{}\"",
        towers[0],
        day(last_day)
    )));
    // Someone who may only look sees the end too.
    let (viewer, _) = app.signed_in("viewer@example.com", "read_only").await;
    viewer.get(&format!("/users/{}", nina.id)).await.assert_contains(&format!(", until {}", day(last_day)));

    // Ten days ahead: too early to warn. Four days on: one warning each, to Nina and to Olive.
    assert_eq!(run_at(&app, now).await.warned, 0);
    let soon = now + Duration::days(4);
    // Two processes at once: one of them warns.
    let (first, second) = tokio::join!(run_at(&app, soon), run_at(&app, soon));
    assert_eq!(first.warned + second.warned, 1);
    assert_eq!(run_at(&app, soon).await.warned, 0, "a later round sends nothing more");
    assert_eq!((warnings_to(&app, "nina@example.com").await, warnings_to(&app, "owner@example.com").await), (1, 1));

    // On the last day it still holds; the day after, it is gone, recorded as the system's doing.
    assert_eq!(run_at(&app, last_day).await.revoked, 0);
    let after = last_day + Duration::days(1);
    let (first, second) = tokio::join!(run_at(&app, after), run_at(&app, after));
    assert_eq!(first.revoked + second.revoked, 1, "ended once, by one of two processes");
    assert_eq!(run_at(&app, after).await.revoked, 0);
    assert!(app.access_of(nina.id).await.buildings.is_empty());
    let actor: Option<i64> = app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("user.access_changed"))
                .order(audit_events::id.desc())
                .select(audit_events::actor_id)
                .first(c)
                .unwrap()
        })
        .await;
    assert_eq!(actor, None, "done by the system");
    admin
        .get("/audit?category=access")
        .await
        .assert_contains("The system ended Nina User&#39;s access to Harbor Tower 0, past its last day.");
}

#[actix_web::test]
async fn a_new_end_date_is_warned_of_afresh_and_bad_dates_change_nothing() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (harbor, towers) = app.account_with_buildings("Harbor", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let path = format!("/users/{}/access", nina.id);
    let now = concierge::db::now();
    let account = harbor.to_string();
    for (typed, message) in [
        ("2026-13-45", "An end date like 2026-12-31"),
        ("yesterday", "An end date like 2026-12-31"),
        (&day(now - Duration::days(3))[..], "An end date from today on"),
    ] {
        admin.post(&path, &[("account", &account), ("ends_new", typed)]).await.assert_status(303);
        admin.get(&format!("/users/{}", nina.id)).await.assert_contains(message);
        assert!(app.access_of(nina.id).await.accounts.is_empty(), "nothing saved for {typed:?}");
    }
    let first = now + Duration::days(3);
    admin.post(&path, &[("account", &account), ("ends_new", &day(first))]).await.assert_status(303);
    assert_eq!(run_at(&app, now).await.warned, 1);
    // A later day, set on the grant's own field: warned of again when it comes near.
    let later = now + Duration::days(30);
    let field = format!("ends_account_{harbor}");
    admin.post(&path, &[("account", &account), (&field, &day(later))]).await.assert_status(303);
    assert_eq!(run_at(&app, now).await.warned, 0);
    assert_eq!(run_at(&app, later - Duration::days(2)).await.warned, 1);
    // An end for a grant she does not have is ignored.
    let stray = format!("ends_building_{}", towers[1]);
    admin.post(&path, &[("account", &account), (&stray, &day(later))]).await.assert_status(303);
    let ends = app.with_db(move |c| user_access::ends_of(c, nina.id).unwrap()).await;
    assert!(ends.buildings.is_empty());
    assert_eq!(ends.accounts.get(&harbor), Some(&later.date()));
    // Emptied, it holds until revoked.
    admin.post(&path, &[("account", &account), (&field, "")]).await.assert_status(303);
    let ends = app.with_db(move |c| user_access::ends_of(c, nina.id).unwrap()).await;
    assert!(ends.accounts.is_empty());
}

#[actix_web::test]
async fn add_new_user_grants_until_a_day_and_keeps_a_bad_one_beside_its_field() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (_, towers) = app.account_with_buildings("Harbor", 2).await;
    let regular = app.builtin_group("regular").await.to_string();
    let form = admin.get("/users/new").await.form("/users/new");
    let mut form = form.add("building", &towers[1].to_string()).set("ends_new", "31/12/2030");
    for (k, v) in [
        ("first_name", "Ivy"),
        ("last_name", "Ito"),
        ("email", "ivy@example.com"),
        ("phone", "+1 702 555 0142"),
        ("title", "Contractor"),
        ("job_function", "leasing"),
        ("group_id", &regular),
    ] {
        form = form.set(k, v);
    }
    let refused = form.submit(&admin).await;
    refused.assert_status(422).assert_contains("An end date like 2026-12-31").assert_contains("value=\"31/12/2030\"");
    refused.assert_contains("<details class=\"grant-more\" open>");
    let day = (concierge::db::now() + Duration::days(90)).date();
    refused.form("/users/new").set("ends_new", &day.to_string()).submit(&admin).await.assert_status(303);
    let ivy = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap()).await;
    let ends = app.with_db(move |c| user_access::ends_of(c, ivy.id).unwrap()).await;
    assert_eq!(ends.buildings.get(&towers[1]), Some(&day));
}

#[actix_web::test]
async fn an_account_with_an_end_date_is_disabled_the_day_after_and_its_sessions_end() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (nina_browser, nina) = app.signed_in("nina@example.com", "customer").await;
    let now = concierge::db::now();
    let last_day = now + Duration::days(3);
    let path = format!("/users/{}/ends", nina.id);
    admin.post(&path, &[("ends_on", "not a day")]).await.assert_status(303);
    admin.get(&format!("/users/{}", nina.id)).await.assert_contains("An end date like 2026-12-31");
    admin.post(&path, &[("ends_on", &day(last_day))]).await.assert_redirect_to(&format!("/users/{}", nina.id));
    assert_eq!(app.user(nina.id).await.ends_on, Some(last_day.date()));
    admin.get(&format!("/users/{}", nina.id)).await.assert_contains("then disabled by itself");

    assert_eq!(run_at(&app, now).await.warned, 1, "three days ahead: warned");
    assert_eq!(warnings_to(&app, "nina@example.com").await, 1);
    assert_eq!(run_at(&app, last_day).await.disabled, 0);
    nina_browser.get("/profile").await.assert_status(200);
    let after = last_day + Duration::days(1);
    assert_eq!(run_at(&app, after).await.disabled, 1);
    assert_eq!(run_at(&app, after).await.disabled, 0, "once");
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Disabled);
    assert_eq!(nina_browser.get("/profile").await.status, 303, "her session ended");
    admin.get("/audit?user=nina%40example.com").await.assert_contains("The system disabled Uma User.");
}

/// "Grant a building" for two selected users, confirmed, until `ends_on`.
async fn grant(admin: &Browser, ids: [&str; 2], building: &str, ends_on: &str) -> Page {
    let fields = [
        ("action", "grant_building"),
        ("ids", ids[0]),
        ("ids", ids[1]),
        ("building_id", building),
        ("confirm", "1"),
        ("return_to", "/users"),
        ("ends_on", ends_on),
    ];
    admin.post("/users/bulk", &fields).await
}

#[actix_web::test]
async fn a_bulk_grant_and_an_import_carry_their_end_dates() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (_, towers) = app.account_with_buildings("Harbor", 1).await;
    let uma = app.create_user(UserSpec { email: "uma@example.com", ..UserSpec::default() }).await;
    let bo = app.create_user(UserSpec { email: "bo@example.com", ..UserSpec::default() }).await;
    let last_day = (concierge::db::now() + Duration::days(20)).date();
    let (u, b, t0) = (uma.id.to_string(), bo.id.to_string(), towers[0].to_string());
    grant(&admin, [&u, &b], &t0, "2026-02-30").await.assert_status(303);
    assert!(app.access_of(uma.id).await.buildings.is_empty(), "a bad date grants nothing");
    grant(&admin, [&u, &b], &t0, "2020-01-01").await.assert_status(303);
    assert!(app.access_of(uma.id).await.buildings.is_empty(), "a past date grants nothing");
    grant(&admin, [&u, &b], &t0, &last_day.to_string()).await.assert_redirect_to("/users");
    for id in [uma.id, bo.id] {
        let ends = app.with_db(move |c| user_access::ends_of(c, id).unwrap()).await;
        assert_eq!(ends.buildings.get(&towers[0]), Some(&last_day), "user {id}");
    }

    // An import may give each account its last day; a bad one is a row's problem.
    let header = "email,first_name,last_name,phone,title,job_function,company,group,ends_on";
    let bad = format!("{header}\nivy@example.com,Ivy,Ito,+1 702 555 0100,Clerk,tenant,Co,Customer,31.12.2030\n");
    let page = admin.post("/users/import/confirm", &[("csv", &bad)]).await;
    page.assert_contains("ends_on: a date like 2026-12-31");
    assert!(app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap()).await.is_none());
    let good = format!("{header}\nivy@example.com,Ivy,Ito,+1 702 555 0100,Clerk,tenant,Co,Customer,{last_day}\n");
    admin.post("/users/import/confirm", &[("csv", &good)]).await.assert_status(303);
    let ivy = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap()).await;
    assert_eq!(ivy.ends_on, Some(last_day));
    // Her history says so, as it does for a last day given later.
    let page = admin.get(&format!("/users/{}", ivy.id)).await;
    page.assert_contains("by a CSV import").assert_contains(&format!("Account ends: (none) → {last_day}"));
}

#[actix_web::test]
async fn dormant_accounts_are_disabled_when_asked_and_dormant_administrators_are_reported() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let now = concierge::db::now();
    let mut ids = Vec::new();
    for (email, group) in
        [("idle@example.com", "regular"), ("ada@example.com", "admin"), ("new@example.com", "regular")]
    {
        let user = app.create_user(UserSpec { email, group, ..UserSpec::default() }).await;
        let idle = email != "new@example.com";
        app.with_db(move |c| {
            use concierge::db::schema::users as u;
            let long_ago = now - Duration::days(200);
            if idle {
                diesel::update(u::table.find(user.id))
                    .set((u::created_at.eq(long_ago), u::last_sign_in_at.eq(Some(long_ago))))
                    .execute(c)
                    .unwrap();
            }
        })
        .await;
        ids.push(user.id);
    }
    let run = |at: chrono::NaiveDateTime| {
        let db = app.db().clone();
        async move {
            actix_web::web::block(move || concierge::ops::dormant::run(&mut db.get().unwrap(), at).unwrap())
                .await
                .unwrap()
        }
    };
    assert_eq!(run(now).await, concierge::ops::dormant::Done::default(), "off by default");

    let org = admin.get("/organization").await;
    org.form("/organization").set("dormant_disable", "on").submit(&admin).await.assert_status(303);
    assert!(app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await.dormant_disable);
    let (first, second) = tokio::join!(run(now), run(now));
    assert_eq!(first.disabled + second.disabled, 1, "disabled once");
    assert_eq!(u8::from(first.reported) + u8::from(second.reported), 1, "reported once");
    assert_eq!(app.user(ids[0]).await.status(), UserStatus::Disabled, "a dormant regular user");
    assert_eq!(app.user(ids[1]).await.status(), UserStatus::Active, "an administrator is never disabled by itself");
    assert_eq!(app.user(ids[2]).await.status(), UserStatus::Active, "a new account is not dormant");
    let reports: Vec<(String, String)> = app
        .with_db(|c| {
            outbox::table
                .filter(outbox::kind.eq("dormant_report"))
                .select((outbox::to_address, outbox::body_text))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].0, "owner@example.com");
    assert!(reports[0].1.contains("ada@example.com") && !reports[0].1.contains("idle@example.com"));
    assert!(!run(now + Duration::days(1)).await.reported, "a week between reports");
    assert!(run(now + Duration::days(8)).await.reported);
    admin.get("/audit?user=idle%40example.com").await.assert_contains("The system disabled Uma User.");
}
