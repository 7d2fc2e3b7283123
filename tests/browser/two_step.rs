//! Two-step sign-in in a real browser, at a desktop's width and a phone's: set up from the QR
//! page with the key it shows, the recovery codes, then signing in with the app's code. Axe
//! and the HTML checker on each page.

use concierge::auth::two_step;
use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "two_step";

#[actix_web::test]
async fn a_user_sets_up_two_step_sign_in_and_signs_in_with_a_code() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.sign_in("ann@example.com").await;
    walk.visit("/profile").await;
    assert!(walk.text().await.contains("Two-step sign-in"));
    walk.visit("/profile/two-step").await;
    walk.check_accessibility().await;
    walk.document("two-step").await;
    // The QR code is an image the page drew, not a script's.
    let image = walk.client.find(Locator::Css("img.qr")).await.unwrap();
    assert!(image.attr("src").await.unwrap().unwrap().starts_with("data:image/svg+xml;base64,"));
    let loaded = walk.client.execute("return document.querySelector('img.qr').naturalWidth > 0", vec![]).await.unwrap();
    assert_eq!(loaded, serde_json::json!(true), "the QR image renders");
    let secret = walk.client.find(Locator::Css("code.secret")).await.unwrap().text().await.unwrap();
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;

    walk.fill("code", &two_step::code_at(&secret, app.config.clock.timestamp())).await;
    walk.fill("current_password", PASSWORD).await;
    walk.press("Turn on two-step sign-in").await;
    let text = walk.text().await;
    assert!(text.contains("Your recovery codes"), "{text}");
    let codes = walk.client.find_all(Locator::Css("ol.recovery-codes code")).await.unwrap();
    assert_eq!(codes.len(), 10);
    let ann = app.with_db(|c| concierge::db::users::find_by_email(c, "ann@example.com").unwrap().unwrap()).await;
    assert_eq!(ann.totp_secret.as_deref(), Some(secret.as_str()), "saved as shown");
    walk.click("a.button.primary").await;

    walk.visit("/profile/two-step").await;
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;

    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.sign_in("ann@example.com").await;
    assert_eq!(walk.path().await, "/sign-in/code");
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    app.config.clock.advance(30);
    walk.fill("code", &two_step::code_at(&secret, app.config.clock.timestamp())).await;
    walk.press("Sign in").await;
    assert_eq!(walk.path().await, "/profile");
    walk.finish().await;
    validate_html(WALK);
}

#[actix_web::test]
async fn an_owner_requires_it_of_a_group_and_a_member_sees_the_banner() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let customers = app.builtin_group("customer").await;
    let mut walk = Walk::start(&app.address, "two_step_group").await;
    walk.sign_in("owner@example.com").await;
    walk.visit(&format!("/groups/{customers}")).await;
    walk.click("#f-required").await;
    walk.fill("days", "10").await;
    walk.press("Save").await;
    let text = walk.text().await;
    assert!(text.contains("Two-step sign-in is required, with 10 days"), "{text}");
    assert!(text.contains("Not set up yet: 1") && text.contains("ann@example.com"), "{text}");
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    let group = app.with_db(move |c| concierge::db::groups::find(c, customers).unwrap().unwrap()).await;
    assert_eq!((group.two_step_required_at.is_some(), group.two_step_grace_days), (true, 10));

    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.sign_in("ann@example.com").await;
    walk.visit("/profile").await;
    assert!(walk.text().await.contains("Your group asks everyone to use two-step sign-in"));
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.finish().await;
    validate_html("two_step_group");
}
