//! The newcomer's whole journey in a real browser: fresh database → setup link → owner →
//! accounts and buildings → invite (mail through a real SMTP server) → the invitee accepts →
//! the admin grants buildings → the user sees them → edits their profile → the admin disables
//! them → their session ends. axe-core on every page, screenshots kept, every page valid HTML.

#[path = "../app/smtp.rs"]
mod smtp;

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

#[actix_web::test]
async fn a_newcomers_whole_journey() {
    if !available() || !smtp::available() {
        return;
    }
    let server = smtp::SmtpServer::start().await;
    let url = server.url();
    let app = spawn_app_with(|c| {
        c.deliver_mail = true;
        c.smtp_url = Some(url);
    })
    .await;
    let address = app.address.clone();
    let setup = app.with_db(move |c| concierge::owner::setup_link(c, &address).unwrap().unwrap()).await;

    let mut admin = Walk::start(&app.address, "journey").await;
    admin.visit(&setup).await;
    admin.check_accessibility().await;
    admin.fill("first_name", "Olive").await;
    admin.fill("last_name", "Owner").await;
    admin.fill("email", "olive@example.com").await;
    admin.fill("password", PASSWORD).await;
    admin.fill("password_confirm", PASSWORD).await;
    admin.press("Create owner account").await;
    admin.check_accessibility().await;

    admin.visit("/accounts/new").await;
    admin.fill("name", "Harbor Holdings").await;
    admin.press("Save account").await;
    for name in ["Harbor One", "Harbor Two"] {
        admin.visit("/buildings/new").await;
        admin.client.find(Locator::Id("f-account_id")).await.unwrap().select_by_label("Harbor Holdings").await.unwrap();
        admin.fill("name", name).await;
        admin.fill("street", "9 Harbor Way").await;
        admin.fill("city", "Reno").await;
        admin.fill("country", "US").await;
        admin.press("Save building").await;
    }
    admin.visit("/buildings").await;
    admin.check_accessibility().await;

    admin.visit("/users/new").await;
    admin.fill("first_name", "Ivy").await;
    admin.fill("last_name", "Invitee").await;
    admin.fill("email", "ivy@example.com").await;
    admin.fill("phone", "+1 702 555 0142").await;
    admin.fill("title", "Tenant rep").await;
    admin.client.find(Locator::Id("f-job_function")).await.unwrap().select_by_label("Tenant").await.unwrap();
    admin.client.find(Locator::Id("f-group_id")).await.unwrap().select_by_label("Customer").await.unwrap();
    admin.press("Save").await;
    let ivy_page = admin.path().await;
    admin.check_accessibility().await;

    let mails = server.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 1, "the invitation arrived at the SMTP server");
    let link = smtp::link_path(&mails[0], "/invite/");
    admin.visit("/invites").await;
    admin.check_accessibility().await;

    let mut ivy = Walk::start(&app.address, "journey-invitee").await;
    ivy.visit(&link).await;
    ivy.check_accessibility().await;
    ivy.fill("password", "harbor-kettle-orchid-51").await;
    ivy.fill("password_confirm", "harbor-kettle-orchid-51").await;
    ivy.press("Set up my account").await;
    assert!(ivy.text().await.contains("Welcome, Ivy"));
    ivy.visit("/buildings").await;
    assert!(!ivy.text().await.contains("Harbor One"), "no buildings before the grant");

    admin.visit(&ivy_page).await;
    admin.click(".grant-more > summary").await;
    let one =
        admin.client.find(Locator::XPath("//label[contains(., 'Harbor One')]/preceding-sibling::input")).await.unwrap();
    one.click().await.unwrap();
    admin.press("Save Property Access").await;
    assert!(admin.text().await.contains("Property Access saved"));

    ivy.visit("/buildings").await;
    assert!(ivy.text().await.contains("Harbor One"));
    assert!(!ivy.text().await.contains("Harbor Two"));
    ivy.check_accessibility().await;
    ivy.visit("/profile/edit").await;
    ivy.fill("title", "Head of tenants").await;
    ivy.press("Save").await;
    assert!(ivy.text().await.contains("Your profile was saved"));
    ivy.check_accessibility().await;

    admin.visit(&ivy_page).await;
    admin.press("Disable").await;
    assert!(admin.text().await.contains("is disabled"));
    admin.check_accessibility().await;

    ivy.visit("/profile").await;
    assert!(ivy.path().await.starts_with("/sign-in"), "the disabled user's session ended");
    ivy.check_accessibility().await;

    admin.finish().await;
    ivy.finish().await;
    validate_html("journey");
    validate_html("journey-invitee");
}
