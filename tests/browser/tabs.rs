//! Every Settings tab in a real browser: My Profile (edit, email change), Accounts & Buildings,
//! Groups and Organization — axe-core clean on each page.

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

    walk.visit("/organization").await;
    walk.check_accessibility().await;
    walk.fill("org_name", "Harbor Properties").await;
    walk.press("Save settings").await;
    assert!(walk.text().await.contains("Organization settings saved"));
    walk.press("Send test email").await;
    assert!(walk.text().await.contains("The test email to owner@example.com"));
    walk.check_accessibility().await;
    walk.finish().await;
    validate_html(WALK);
}
