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

/// Presses Tab from the top of the page until the element `css` finds has the focus: how many.
async fn tabs_to(walk: &Walk, css: &str) -> usize {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    use fantoccini::key::Key;
    let tab = char::from(Key::Tab);
    for presses in 1..=200 {
        let keys =
            KeyActions::new("keyboard".into()).then(KeyAction::Down { value: tab }).then(KeyAction::Up { value: tab });
        walk.client.perform_actions(keys).await.unwrap();
        let found = walk
            .client
            .execute("return document.activeElement.matches(arguments[0])", vec![serde_json::json!(css)])
            .await
            .unwrap();
        if found == serde_json::Value::Bool(true) {
            return presses;
        }
    }
    panic!("{css} never had the focus");
}

#[actix_web::test]
async fn the_first_week_at_desktop_and_phone_widths() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let (harbor, _) = app.account_with_buildings("Harbor Holdings", 3).await;
    // Sixty buildings in all, as a first real portfolio has.
    let (cedar, cedar_buildings) = app.account_with_buildings("Cedar Court", 57).await;
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

    // Property Access on Add New User: summarised, so Save is a short way from the top of the page.
    walk.visit("/users/new").await;
    assert!(walk.text().await.contains("Nothing granted yet."));
    let presses = tabs_to(&walk, "button.primary[type=submit]").await;
    assert!(presses <= 25, "{presses} Tab presses from the top of Add New User to Save");
    eprintln!("Add New User: {presses} Tab presses from the top to Save");
    // The filter narrows the sixty buildings; a whole account ticks and locks its buildings.
    walk.click(".grant-more > summary").await;
    walk.fill("buildings-filter", "Cedar Court Tower 4").await;
    assert!(displayed(&walk, &format!("#f-building-{}", cedar_buildings[4])).await);
    assert!(!displayed(&walk, &format!("#f-building-{}", cedar_buildings[5])).await, "the filter hides the rest");
    walk.fill("buildings-filter", "").await;
    walk.click(&format!("#f-account-{cedar}")).await;
    let locked = walk.client.find(Locator::Id(&format!("f-building-{}", cedar_buildings[0]))).await.unwrap();
    assert_eq!(locked.prop("disabled").await.unwrap().as_deref(), Some("true"));
    assert_eq!(locked.prop("checked").await.unwrap().as_deref(), Some("true"));
    walk.check_accessibility().await;
    walk.fill("first_name", "Eve").await;
    walk.fill("last_name", "Ortiz").await;
    walk.fill("email", "eve@example.com").await;
    walk.fill("phone", "+1 702 555 0110").await;
    walk.fill("title", "Leasing agent").await;
    walk.fill("company", "Cedar Court").await;
    for (id, label) in [("f-job_function", "Leasing"), ("f-group_id", "Regular")] {
        walk.client.find(Locator::Id(id)).await.unwrap().select_by_label(label).await.unwrap();
    }
    walk.press("Save").await;
    assert!(walk.text().await.contains("an invitation is on its way"), "{}", walk.text().await);
    let eve = app.with_db(|c| concierge::db::users::find_by_email(c, "eve@example.com").unwrap().unwrap()).await;
    let access = app.access_of(eve.id).await;
    assert_eq!((access.accounts.into_iter().collect::<Vec<_>>(), access.buildings.len()), (vec![cedar], 0));
    // Her page: the grant first, in a sentence; Harbor Holdings found by the search, and granted.
    assert!(walk.text().await.contains("Granted: the whole of Cedar Court (57 buildings, and any added later)."));
    walk.click(".grant-more > summary").await;
    walk.fill("buildings-q", "Harbor").await;
    walk.press("Find").await;
    walk.click(&format!("#f-account-{harbor}")).await;
    walk.check_accessibility().await;
    walk.press("Save Property Access").await;
    assert!(walk.text().await.contains("Property Access saved"));
    let access = app.access_of(eve.id).await;
    assert_eq!(access.accounts.into_iter().collect::<Vec<_>>(), vec![harbor, cedar]);
    assert!(walk.text().await.contains("Granted: 2 whole accounts (60 buildings, and any added later)."));
    walk.client.execute("document.getElementById('property-access').scrollIntoView()", vec![]).await.unwrap();
    walk.document("property-access").await;
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
        format!("/users/{}", eve.id),
        "/users/new".to_owned(),
        "/invites".to_owned(),
        "/buildings".to_owned(),
        "/groups".to_owned(),
        "/organization".to_owned(),
        format!("/users/bulk?action=disable&ids={dan}&return_to=/users"),
        format!("/users/{dan}/edit"),
        format!("/users/{dan}/delete"),
        "/users/import".to_owned(),
        "/profile/edit".to_owned(),
        "/profile/password".to_owned(),
        "/profile/email".to_owned(),
        "/accounts/new".to_owned(),
        "/buildings/new".to_owned(),
        "/groups/new".to_owned(),
        format!("/users/{dan}/impersonate"),
        "/organization/ownership".to_owned(),
        "/audit".to_owned(),
        "/users/987654".to_owned(),
    ] {
        walk.visit(&path).await;
        walk.assert_no_sideways_scroll().await;
        walk.check_accessibility().await;
        if path == "/users" {
            walk.document("users-list-phone").await;
        }
        if path == format!("/users/{}", eve.id) {
            walk.client.execute("document.getElementById('property-access').scrollIntoView()", vec![]).await.unwrap();
            walk.document("property-access-phone").await;
        }
    }
    // The error page keeps the frame: the tabs are there to go on.
    assert!(walk.text().await.contains("Accounts & Buildings"));

    // Working at the phone's width: tick a person on their card, disable them on the page that
    // names them, and find it done.
    walk.visit("/users").await;
    walk.click(&format!("#f-select-{dan}")).await;
    assert!(displayed(&walk, "fieldset.bulk").await);
    walk.client.find(Locator::Id("f-action")).await.unwrap().select_by_label("Disable").await.unwrap();
    walk.press("Apply to selected…").await;
    assert!(walk.text().await.contains("dan@example.com"));
    walk.assert_no_sideways_scroll().await;
    walk.press("Disable 1 user").await;
    assert!(walk.text().await.contains("Disabled Dan Ng."), "{}", walk.text().await);
    assert_eq!(app.user(dan).await.status(), UserStatus::Disabled);
    walk.assert_no_sideways_scroll().await;

    // Signed out, at the phone's width too.
    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    for path in ["/sign-in", "/forgot-password"] {
        walk.visit(path).await;
        walk.assert_no_sideways_scroll().await;
        walk.check_accessibility().await;
    }
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
