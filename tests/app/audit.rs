//! The Audit log tab: events in words with the names people had then, filters that hold against
//! anything typed, each event's before and after, the CSV of a filter, and retention that never
//! deletes an event younger than 90 days.

use chrono::Duration;
use concierge::db::schema::audit_events;
use diesel::prelude::*;

use crate::helpers::*;

/// Writes an event at `at` as the system, for tests of dates and retention.
async fn event_at(app: &TestApp, at: chrono::NaiveDateTime, action: &'static str) {
    app.with_db(move |c| {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::at.eq(at),
                audit_events::action.eq(action),
                audit_events::category.eq(concierge::db::audit::category_of(action)),
                audit_events::details.eq("{}"),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

async fn event_count(app: &TestApp) -> i64 {
    app.with_db(|c| audit_events::table.count().get_result::<i64>(c).unwrap()).await
}

/// The ids of the events a page lists, in its order.
fn listed(page: &Page) -> Vec<i64> {
    page.body.split("<a href=\"/audit/").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect()
}

#[actix_web::test]
async fn a_group_change_reads_in_words_is_found_by_its_filters_and_keeps_the_names_of_then() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let ivy = app
        .create_user(UserSpec {
            email: "ivy@example.com",
            first_name: "Ivy",
            last_name: "Invitee",
            group: "regular",
            ..UserSpec::default()
        })
        .await;
    let support = app.builtin_group("support").await.to_string();
    let bulk = admin.get(&format!("/users/bulk?action=change_group&ids={}&return_to=/users", ivy.id)).await;
    bulk.form("/users/bulk").set("group_id", &support).submit(&admin).await.assert_status(303);
    // Ivy is renamed later: the event keeps the name she had then, and links to her now.
    app.with_db(move |c| {
        use concierge::db::schema::users;
        diesel::update(users::table.find(ivy.id)).set(users::last_name.eq("Ito")).execute(c).unwrap();
    })
    .await;

    let page = admin.get("/audit?user=IVY@example.com&category=users").await;
    page.assert_status(200).assert_contains("Olive Owner changed Ivy Invitee&#39;s Group: Regular → Support.");
    assert!(page.body.contains(&format!("href=\"/users/{}\"", ivy.id)), "the event links to Ivy as she is now");
    let ids = listed(&page);
    assert_eq!(ids.len(), 1, "only that change: {ids:?}\n{}", page.body);
    // Another kind, or another person, finds nothing.
    let other = admin.get("/audit?user=ivy@example.com&category=groups").await;
    assert!(listed(&other).is_empty());
    other.assert_contains("No event matches this filter.");
    let by_owner = admin.get("/audit?actor=owner@example.com&category=users").await;
    assert_eq!(listed(&by_owner), ids);

    // The event's own page: the before and after.
    let event = admin.get(&format!("/audit/{}", ids[0])).await;
    event.assert_status(200).assert_contains("Before and after");
    assert!(event.body.contains("<td data-label=\"Before\">Regular</td><td data-label=\"After\">Support</td>"));

    // The CSV of the filter: a header and that one event, in words.
    let csv = admin.get("/audit/export.csv?user=ivy@example.com&category=users").await;
    csv.assert_status(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{}", csv.body);
    assert_eq!(&rows[0][0], ids[0].to_string().as_str());
    assert_eq!(&rows[0][6], "user.updated");
    assert_eq!(&rows[0][11], "Olive Owner changed Ivy Invitee's Group: Regular → Support.");
    // Exporting is itself recorded.
    assert!(app.audit_actions().await.contains(&"audit.exported".to_owned()));
}

#[actix_web::test]
async fn the_filter_answers_anything_typed_with_a_message_beside_the_field() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let page = admin.get("/audit?actor=nobody%40example.com&from=2026-13-45&category=bogus&to=x%00y").await;
    page.assert_status(422).assert_contains("4 fields need attention");
    page.assert_contains("Nobody has this email address.").assert_contains("A date like 2026-12-03.");
    page.assert_contains("Choose a kind of action from the list.");
    assert!(page.body.contains("value=\"nobody@example.com\""), "what was typed is kept");
    assert!(page.body.contains("value=\"xy\""), "without the NUL");
    let backwards = admin.get("/audit?from=2026-12-03&to=2026-12-01").await;
    backwards.assert_status(422).assert_contains("The last day comes on or after the first.");
    let long = "a".repeat(4_000);
    admin.get(&format!("/audit?actor={long}")).await.assert_status(422);
    for cursor in ["before=-5", "before=abc", "after=99999999999999999999", "before=9223372036854775807"] {
        let page = admin.get(&format!("/audit?{cursor}")).await;
        assert_eq!(page.status, 200, "{cursor}");
    }
    admin.get("/audit/999999").await.assert_status(404);
    admin.get("/audit/-1").await.assert_status(404);
    admin.get("/audit/abc").await.assert_status(404);
    // A refused filter exports nothing: it goes back to the page that says what is wrong.
    let export = admin.get("/audit/export.csv?actor=nobody%40example.com").await;
    assert_eq!(export.status, 303);
}

#[actix_web::test]
async fn pages_go_back_in_time_and_forward_again_without_losing_an_event() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let start = concierge::db::now() - Duration::hours(2);
    for i in 0..120 {
        event_at(&app, start + Duration::seconds(i), "settings.test_email").await;
    }
    let total = event_count(&app).await;
    let mut seen = Vec::new();
    let mut href = "/audit".to_owned();
    loop {
        let page = admin.get(&href).await;
        let ids = listed(&page);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
        seen.extend(ids);
        match page.body.split("rel=\"next\"").next().and_then(|b| b.rsplit("<a href=\"").next()) {
            Some(next) if page.body.contains("rel=\"next\"") => {
                href = next.split('"').next().unwrap().replace("&amp;", "&");
            }
            _ => break,
        }
    }
    assert_eq!(seen.len() as i64, total, "every event once");
    let oldest_page = admin.get(&href).await;
    let newer = oldest_page.body.split("rel=\"prev\"").next().unwrap().rsplit("<a href=\"").next().unwrap();
    let newer = admin.get(&newer.split('"').next().unwrap().replace("&amp;", "&")).await;
    assert_eq!(listed(&newer), seen[50..100].to_vec());
}

#[actix_web::test]
async fn dates_are_read_in_the_readers_time_zone_and_impersonation_is_its_own_filter() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let day = |d: u32, h: u32| chrono::NaiveDate::from_ymd_opt(2025, 3, d).unwrap().and_hms_opt(h, 30, 0).unwrap();
    event_at(&app, day(1, 12), "settings.updated").await;
    event_at(&app, day(2, 12), "settings.updated").await;
    // 23:30 UTC on the 2nd is the 3rd in Berlin.
    event_at(&app, day(2, 23), "settings.updated").await;
    let on_the_2nd = admin.get("/audit?from=2025-03-02&to=2025-03-02").await;
    assert_eq!(listed(&on_the_2nd).len(), 2, "UTC: two on the 2nd");
    app.with_db(move |c| {
        use concierge::db::schema::users;
        diesel::update(users::table.find(owner.id)).set(users::time_zone.eq("Europe/Berlin")).execute(c).unwrap();
    })
    .await;
    let berlin = admin.get("/audit?from=2025-03-02&to=2025-03-02").await;
    assert_eq!(listed(&berlin).len(), 1, "Berlin: one on the 2nd\n{}", berlin.body);

    // What is done while signed in as someone names both people, and is found by its filter.
    let uma = app.create_user(UserSpec { email: "uma@example.com", group: "regular", ..UserSpec::default() }).await;
    admin
        .post(&format!("/users/{}/impersonate", uma.id), &[("reason", "Checking what they see")])
        .await
        .assert_status(303);
    let profile = admin.get("/profile/edit").await;
    profile.form("/profile").set("title", "Caretaker").submit(&admin).await.assert_status(303);
    admin.post("/impersonation/stop", &[]).await.assert_status(303);
    let page = admin.get("/audit?impersonated=1").await;
    let ids = listed(&page);
    assert_eq!(ids.len(), 1, "{}", page.body);
    page.assert_contains("Uma User changed their Title: Manager → Caretaker.");
    page.assert_contains("Olive Owner (owner@example.com)");
    assert!(page.body.contains(&format!("href=\"/users/{}\"", owner.id)));
}

#[actix_web::test]
async fn retention_deletes_old_events_and_never_one_younger_than_90_days() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let org = admin.get("/organization").await;
    let refused = org.form("/organization").set("audit_retention_days", "30").submit(&admin).await;
    refused.assert_status(422).assert_contains("A whole number of days from 90 to 36500");
    assert!(refused.body.contains("value=\"30\""));
    org.form("/organization").set("audit_retention_days", "100").submit(&admin).await.assert_status(303);
    let settings = app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await;
    assert_eq!(settings.audit_retention_days, 100);

    let now = concierge::db::now();
    for days in [200, 101, 99, 95, 10] {
        event_at(&app, now - Duration::days(days), "settings.test_email").await;
    }
    let before = event_count(&app).await;
    let deleted = app.with_db(move |c| concierge::ops::housekeeping::run_once(c, now).unwrap()).await;
    assert_eq!(deleted, 2, "the events of 200 and 101 days ago");
    assert_eq!(event_count(&app).await, before - 2);
    // Asked directly for 30 days, the floor of 90 still holds.
    let deleted = app.with_db(move |c| concierge::db::audit::delete_older_than(c, 30, now).unwrap()).await;
    assert_eq!(deleted, 2, "99 and 95 days ago; not 10");
    // Run again (or by a second process): nothing more.
    assert_eq!(app.with_db(move |c| concierge::ops::housekeeping::run_once(c, now).unwrap()).await, 0);
}

#[actix_web::test]
async fn only_those_who_may_read_the_audit_log_see_the_tab() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    admin.get("/profile").await.assert_contains("href=\"/audit\"");
    let (regular, _) = app.signed_in("rey@example.com", "regular").await;
    assert!(!regular.get("/profile").await.body.contains("href=\"/audit\""));
    for path in ["/audit", "/audit/1", "/audit/export.csv"] {
        assert_eq!(regular.get(path).await.status, 403, "{path}");
    }
}
