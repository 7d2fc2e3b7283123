//! The Audit log in a real browser: one user's group change found by its filters, its before and
//! after on its own page, the filter exported as CSV; at a desktop's width and a phone's. Then
//! signing in as the user with a reason: the banner, the time left, the way back, and the log
//! saying why.

use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "audit";

#[actix_web::test]
async fn an_admin_finds_a_group_change_reads_its_before_and_after_and_exports_it() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let ivy = app
        .create_user(UserSpec {
            email: "ivy@example.com",
            first_name: "Ivy",
            last_name: "Invitee",
            group: "regular",
            ..UserSpec::default()
        })
        .await;
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.resize(1280, 800).await;
    walk.sign_in("owner@example.com").await;

    walk.visit(&format!("/users/{}/edit", ivy.id)).await;
    walk.client.find(Locator::Id("f-group_id")).await.unwrap().select_by_label("Support").await.unwrap();
    walk.press("Save changes").await;
    assert!(walk.text().await.contains("Changes saved"));

    walk.click("a[href='/audit']").await;
    walk.check_accessibility().await;
    walk.fill("user", "ivy@example.com").await;
    walk.client.find(Locator::Id("f-category")).await.unwrap().select_by_label("User changes").await.unwrap();
    walk.press("Filter").await;
    let text = walk.text().await;
    assert!(text.contains("Olive Owner changed Ivy Invitee's Group: Regular → Support."), "{text}");
    assert_eq!(walk.path().await, "/audit?actor=&user=ivy%40example.com&category=users&from=&to=");
    walk.check_accessibility().await;
    walk.document("audit-log").await;

    // Its own page: the before and after.
    let csv_href = walk.client.find(Locator::Css("a[href^='/audit/export.csv']")).await.unwrap();
    let csv_href = csv_href.attr("href").await.unwrap().unwrap();
    walk.click("table a[href^='/audit/']").await;
    let text = walk.text().await;
    assert!(text.contains("Before and after") && text.contains("Regular") && text.contains("Support"), "{text}");
    walk.check_accessibility().await;

    // The filter as CSV: the same event, in words.
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], { credentials: "same-origin" }).then(r => r.text()).then(done).catch(e => done("failed: " + e));
    "#;
    let csv = walk.client.execute_async(script, vec![serde_json::json!(csv_href)]).await.unwrap();
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(csv.starts_with("id,at,actor_id"), "{csv}");
    assert!(csv.contains("Olive Owner changed Ivy Invitee's Group: Regular → Support."), "{csv}");
    assert_eq!(csv.lines().count(), 2, "a header and the one event:\n{csv}");

    // Signing in as Ivy: a reason first; the banner names both people and the time left.
    walk.visit(&format!("/users/{}", ivy.id)).await;
    walk.click(&format!("a[href='/users/{}/impersonate']", ivy.id)).await;
    walk.check_accessibility().await;
    walk.press("Sign in as Ivy Invitee").await;
    assert!(walk.text().await.contains("Say why you sign in as them"));
    walk.fill("reason", "She cannot find Harbor One").await;
    walk.press("Sign in as Ivy Invitee").await;
    let banner = walk.client.find(Locator::Css(".banner")).await.unwrap().text().await.unwrap();
    assert!(banner.contains("You are signed in as Ivy Invitee (ivy@example.com)"), "{banner}");
    assert!(
        banner.contains("Olive Owner (owner@example.com) is behind it") && banner.contains("in 30 minutes"),
        "{banner}"
    );
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    walk.press("Return to your own account").await;
    assert!(walk.text().await.contains("You are back in your own account."));
    walk.visit("/audit?category=impersonation").await;
    let text = walk.text().await;
    assert!(text.contains("Olive Owner signed in as Ivy Invitee, saying why: “She cannot find Harbor One”."), "{text}");
    assert!(text.contains("Olive Owner stopped signing in as Ivy Invitee."), "{text}");

    // The phone.
    walk.resize(390, 844).await;
    for path in ["/audit", "/audit?category=users", &walk.path().await] {
        walk.visit(path).await;
        walk.assert_no_sideways_scroll().await;
        walk.check_accessibility().await;
    }
    walk.finish().await;
    validate_html(WALK);
}
