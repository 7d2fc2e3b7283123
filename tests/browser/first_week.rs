//! What an administrator meets in the first week, at a desktop's width and a phone's: the Get
//! started card, the list at a glance, a bulk delete confirmed on a page naming each person,
//! Add New User showing only the chosen way in, and an error page that keeps the frame. Every
//! page is checked with axe-core and for sideways scrolling at 390 px.

use concierge::domain::UserStatus;
use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "first-week";

async fn displayed(walk: &Walk, css: &str) -> bool {
    walk.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css}")).is_displayed().await.unwrap()
}

#[actix_web::test]
async fn the_first_week_at_desktop_and_phone_widths() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    app.account_with_buildings("Harbor Holdings", 3).await;
    let mut people = Vec::new();
    for (first, last) in [("Ava", "Okafor"), ("Bo", "Li"), ("Chidinma Adaeze", "Oyelaran-Whitfield"), ("Dan", "Ng")] {
        let email = format!("{}@example.com", first.split(' ').next().unwrap().to_lowercase());
        let user = app
            .create_user(UserSpec { email: &email, first_name: first, last_name: last, ..UserSpec::default() })
            .await;
        people.push(user);
    }
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.resize(1280, 800).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/profile").await;
    assert!(walk.text().await.contains("Get started"));
    walk.check_accessibility().await;

    // The list at a glance: the total and position, the sorted column, the bulk bar hidden
    // until someone is ticked.
    walk.visit("/users?per_page=25").await;
    let text = walk.text().await;
    assert!(text.contains("5 users · 1–5"), "{text}");
    assert!(!displayed(&walk, "fieldset.bulk").await, "the bulk bar waits for a selection");
    walk.document("users-list").await;
    let (ava, bo) = (people[0].id, people[1].id);
    walk.click(&format!("#f-select-{ava}")).await;
    walk.click(&format!("#f-select-{bo}")).await;
    assert!(displayed(&walk, "fieldset.bulk").await);
    walk.check_accessibility().await;
    walk.client.find(Locator::Id("f-action")).await.unwrap().select_by_label("Delete").await.unwrap();
    walk.press("Apply to selected…").await;
    let confirm = walk.text().await;
    assert!(confirm.contains("ava@example.com") && confirm.contains("bo@example.com"), "{confirm}");
    assert_eq!(app.user(ava).await.status(), UserStatus::Active, "nothing deleted before it is confirmed");
    walk.check_accessibility().await;
    walk.press("Delete 2 users").await;
    assert!(walk.text().await.contains("Deleted Ava Okafor and Bo Li."));
    assert_eq!(app.user(ava).await.status(), UserStatus::Deleted);
    assert_eq!(app.user(bo).await.status(), UserStatus::Deleted);

    // Add New User: only the chosen way in shows.
    walk.visit("/users/new").await;
    assert!(displayed(&walk, ".entry-invite").await);
    assert!(!displayed(&walk, ".entry-password").await);
    walk.click("#f-entry-password").await;
    assert!(!displayed(&walk, ".entry-invite").await);
    assert!(displayed(&walk, ".entry-password").await);
    walk.document("add-new-user").await;
    // The organization's time zone, set on its form, read back, and shown on a user's page.
    walk.visit("/organization").await;
    walk.fill("org_name", "Harbor Properties").await;
    walk.fill("time_zone", "Europe/Berlin").await;
    walk.press("Save settings").await;
    let settings = app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await;
    assert_eq!((settings.org_name.as_str(), settings.time_zone.name()), ("Harbor Properties", "Europe/Berlin"));
    walk.visit(&format!("/users/{}", people[2].id)).await;
    let page = walk.text().await;
    assert!(page.contains(" CET") || page.contains(" CEST"), "{page}");
    walk.document("user-page").await;

    // The phone: every screen, no sideways scroll.
    walk.resize(390, 844).await;
    let dan = people[3].id;
    for path in [
        "/profile".to_owned(),
        "/users".to_owned(),
        format!("/users/{dan}"),
        format!("/users/{}", people[2].id),
        "/users/new".to_owned(),
        "/invites".to_owned(),
        "/buildings".to_owned(),
        "/groups".to_owned(),
        "/organization".to_owned(),
        format!("/users/bulk?action=disable&ids={dan}&return_to=/users"),
        "/users/987654".to_owned(),
    ] {
        walk.visit(&path).await;
        walk.assert_no_sideways_scroll().await;
        walk.check_accessibility().await;
        if path == "/users" {
            walk.document("users-list-phone").await;
        }
    }
    // The error page keeps the frame: the tabs are there to go on.
    assert!(walk.text().await.contains("Accounts & Buildings"));
    walk.finish().await;
    validate_html(WALK);
}

#[actix_web::test]
async fn the_invitation_mail_reads_well_at_a_phones_width() {
    if !available() {
        return;
    }
    let settings = concierge::db::settings::Settings::default();
    let invite = concierge::mail::invite::Invite {
        to: "ivy@example.com",
        first_name: "Ivy",
        inviter: Some("Olive Owner"),
        link: &format!("https://portal.example/invite/{}", "ab".repeat(32)),
        expires_at: concierge::db::now(),
        subject: None,
        bcc: None,
    };
    let mail = concierge::mail::invite::message(&settings, &invite).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invite.html");
    std::fs::write(&file, &mail.html).unwrap();
    let walk = Walk::start("http://127.0.0.1:1", "invite-mail").await;
    walk.resize(390, 844).await;
    walk.client.goto(&format!("file://{}", file.display())).await.unwrap();
    let text = walk.text().await;
    assert!(text.contains("Set up your account") && text.contains("Olive Owner invited you"), "{text}");
    walk.assert_no_sideways_scroll().await;
    walk.document("invitation-mail-phone").await;
    walk.finish().await;
}
