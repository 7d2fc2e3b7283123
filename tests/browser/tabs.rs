//! Every Settings tab in a real browser: My Profile (edit, email change), Accounts & Buildings,
//! Groups and Organization — axe-core clean on each page, every saved value read back from the
//! database; and signing in as a user who must change their password, then returning.

use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "tabs";

#[actix_web::test]
async fn an_admin_walks_every_settings_tab() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.visit("/sign-in").await;
    walk.fill("email", "owner@example.com").await;
    walk.fill("password", PASSWORD).await;
    walk.press("Sign in").await;

    walk.visit("/profile/edit").await;
    walk.check_accessibility().await;
    walk.fill("phone", "+1 702 555 0100").await;
    walk.fill("title", "Owner").await;
    let job = walk.client.find(Locator::Id("f-job_function")).await.unwrap();
    job.select_by_label("Executive").await.unwrap();
    walk.press("Save").await;
    assert!(walk.text().await.contains("Your profile was saved"));
    let owner = app.with_db(|c| concierge::db::users::find_by_email(c, "owner@example.com").unwrap().unwrap()).await;
    assert_eq!(
        (owner.phone.as_str(), owner.title.as_str(), owner.job_function.as_str()),
        ("+1 702 555 0100", "Owner", "executive")
    );
    walk.visit("/profile/email").await;
    walk.check_accessibility().await;

    walk.visit("/accounts/new").await;
    walk.check_accessibility().await;
    walk.fill("name", "Harbor Holdings").await;
    walk.press("Save account").await;
    walk.visit("/buildings/new").await;
    walk.check_accessibility().await;
    let account = walk.client.find(Locator::Id("f-account_id")).await.unwrap();
    account.select_by_label("Harbor Holdings").await.unwrap();
    walk.fill("name", "Harbor One").await;
    walk.fill("street", "9 Harbor Way").await;
    walk.fill("city", "Reno").await;
    walk.fill("country", "US").await;
    walk.press("Save building").await;
    assert!(walk.text().await.contains("Building created"));
    let building = app
        .with_db(|c| {
            use concierge::db::schema::{accounts, buildings};
            use diesel::prelude::*;
            buildings::table
                .inner_join(accounts::table)
                .select((accounts::name, buildings::name, buildings::street, buildings::city, buildings::country))
                .first::<(String, String, String, String, String)>(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        building,
        ("Harbor Holdings".into(), "Harbor One".into(), "9 Harbor Way".into(), "Reno".into(), "US".into())
    );
    walk.check_accessibility().await;
    walk.visit("/buildings").await;
    walk.check_accessibility().await;

    walk.visit("/groups").await;
    walk.check_accessibility().await;
    walk.visit("/groups/new").await;
    walk.check_accessibility().await;
    walk.fill("name", "Auditors").await;
    walk.client.find(Locator::Id("f-perm-audit.view")).await.unwrap().click().await.unwrap();
    walk.press("Save group").await;
    assert!(walk.text().await.contains("Group created"));
    walk.check_accessibility().await;
    let auditors = app
        .with_db(|c| {
            let groups = concierge::db::groups::list_with_permissions(c).unwrap();
            let (group, permissions) = groups.into_iter().find(|(g, _)| g.name == "Auditors").expect("the group");
            (group.id, permissions.has(concierge::domain::Permission::AuditView))
        })
        .await;
    assert!(auditors.1, "the permission ticked was saved");
    // Saving the group's form untouched keeps its name (it once became "name").
    walk.visit(&format!("/groups/{}", auditors.0)).await;
    walk.press("Save group").await;
    let group = app.with_db(move |c| concierge::db::groups::find(c, auditors.0).unwrap().unwrap()).await;
    assert_eq!(group.name, "Auditors");
    // Deleting it goes through a page that asks, and works without JavaScript.
    walk.visit(&format!("/groups/{}", auditors.0)).await;
    walk.click(&format!("a[href='/groups/{}/delete']", auditors.0)).await;
    assert!(walk.text().await.contains("Delete the group Auditors?"));
    walk.check_accessibility().await;
    walk.press("Delete the group").await;
    assert!(app.with_db(move |c| concierge::db::groups::find(c, auditors.0).unwrap()).await.is_none());

    walk.visit("/organization").await;
    walk.check_accessibility().await;
    walk.fill("org_name", "Harbor Properties").await;
    walk.press("Save settings").await;
    assert!(walk.text().await.contains("Organization settings saved"));
    let settings = app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await;
    assert_eq!(settings.org_name, "Harbor Properties");
    walk.press("Send test email").await;
    assert!(walk.text().await.contains("The test email to owner@example.com"));
    walk.check_accessibility().await;

    // Signing in as a user who must change their password: no forced change, and the way back.
    let uma = app.create_user(UserSpec { email: "uma@example.com", ..UserSpec::default() }).await;
    app.with_db(move |c| {
        use concierge::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.find(uma.id)).set(users::must_change_password.eq(true)).execute(c).unwrap();
    })
    .await;
    walk.visit(&format!("/users/{}", uma.id)).await;
    walk.click(&format!("a[href='/users/{}/impersonate']", uma.id)).await;
    walk.fill("reason", "Checking her profile").await;
    walk.press("Sign in as Uma User").await;
    let text = walk.text().await;
    assert!(text.contains("You are signed in as Uma User"), "{text}");
    assert!(!walk.path().await.contains("password"), "no forced password change while impersonating");
    walk.check_accessibility().await;
    walk.press("Return to your own account").await;
    walk.visit("/profile").await;
    assert!(!walk.text().await.contains("You are signed in as"));
    assert!(walk.text().await.contains("owner@example.com"));
    walk.finish().await;
    validate_html(WALK);
}
