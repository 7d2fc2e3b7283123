//! Signing in with the organization's OpenID provider in a real browser: the owner adds the
//! provider on Organization → Sign-in, and a user clicks its button on the sign-in page, passes
//! through the provider (a real one, npm `oidc-provider`) and lands on Settings; then the page
//! of a provider that can't be reached. At a desktop's width and a phone's; axe and the HTML
//! checker on each page, the group page's choice of provider included.

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "providers";

#[actix_web::test]
async fn a_user_signs_in_with_the_provider_button_in_a_browser() {
    if !available() || !idp_available() {
        return;
    }
    // The provider sends the browser back to the portal's own address: known before it starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let portal = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(|c| {
        c.bind = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = portal.clone();
    })
    .await;
    app.create_owner().await;
    app.create_user(UserSpec { email: "ann@example.com", first_name: "Ann", ..UserSpec::default() }).await;
    let idp =
        start_idp(serde_json::json!([{ "sub": "ann-1", "email": "ann@example.com", "email_verified": true }]), &portal);

    let mut walk = Walk::start(&app.address, WALK).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/organization/sign-in").await;
    assert!(walk.text().await.contains("No provider is set up yet."));
    walk.check_accessibility().await;
    walk.fill("name", "Test IdP").await;
    walk.fill("issuer", &idp.issuer).await;
    walk.fill("client_id", "concierge").await;
    walk.fill("client_secret", IDP_SECRET).await;
    walk.press("Add provider").await;
    let text = walk.text().await;
    assert!(text.contains(&format!("Register {portal}/sign-in/oidc/1/callback")), "{text}");
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.screenshot().await;
    walk.resize(1280, 800).await;
    walk.visit("/organization/sign-in/1").await;
    walk.check_accessibility().await;
    // The group page's choice of a provider.
    let regular = app.builtin_group("regular").await;
    walk.visit(&format!("/groups/{regular}")).await;
    assert!(walk.text().await.contains("Sign-in provider"));
    walk.check_accessibility().await;
    walk.click(".menu summary").await;
    walk.press("Sign out").await;

    // Ann: the button, the provider (its login given without a form), and Settings.
    walk.visit("/sign-in").await;
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.screenshot().await;
    walk.resize(1280, 800).await;
    walk.press("Sign in with Test IdP").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !walk.path().await.starts_with("/settings") && !walk.path().await.starts_with("/profile") {
        assert!(std::time::Instant::now() < deadline, "never landed: {}", walk.path().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = walk.text().await;
    assert!(text.contains("Ann"), "{text}");
    walk.visit("/profile#sessions").await;
    assert!(walk.text().await.contains("signed in with Test IdP"));
    walk.check_accessibility().await;

    // A provider that can't be reached: its page, at both widths.
    drop(idp);
    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.visit("/sign-in").await;
    walk.press("Sign in with Test IdP").await;
    assert!(walk.text().await.contains("Test IdP can't be reached"), "{}", walk.text().await);
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    walk.finish().await;
    validate_html(WALK);
}
