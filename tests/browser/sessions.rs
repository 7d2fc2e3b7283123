//! Where one is signed in, in a real browser at a desktop's width and a phone's: My Profile
//! lists the sessions and signs another one out; an administrator ends every session of a user
//! from the user's page. Axe and the HTML checker on each page.

use std::time::{Duration, Instant};

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "sessions";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// Waits until the page's text holds `words`.
async fn until_text(walk: &Walk, words: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !walk.text().await.contains(words) {
        assert!(Instant::now() < deadline, "never showed {words:?}: {}", walk.text().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn sessions_are_listed_and_ended_in_a_browser() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let phone = Browser::with_agent(&app.address, IPHONE);
    phone.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");

    let mut walk = Walk::start(&app.address, WALK).await;
    walk.sign_in("ann@example.com").await;
    walk.visit("/profile#sessions").await;
    let text = walk.text().await;
    assert!(text.contains("Where you are signed in") && text.contains("Safari on iPhone"), "{text}");
    assert!(text.contains("Chrome on Linux") && text.contains("This session"), "{text}");
    walk.check_accessibility().await;
    walk.document("sessions").await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.screenshot().await;
    walk.resize(1280, 800).await;

    // The phone's own button (this session has none).
    walk.click(".sessions form button").await;
    until_text(&walk, "That session is signed out.").await;
    assert!(!walk.text().await.contains("Safari on iPhone"));
    assert_eq!(phone.get("/profile").await.status, 303, "the phone is signed out");

    // The owner ends every session of Ann's from her page.
    phone.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.sign_in("owner@example.com").await;
    walk.visit(&format!("/users/{}", ann.id)).await;
    assert!(walk.text().await.contains("Where Uma User is signed in"));
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    walk.press("End all sessions").await;
    until_text(&walk, "Uma User is signed out everywhere.").await;
    assert_eq!(phone.get("/profile").await.status, 303, "every session of Ann's ended");
    walk.check_accessibility().await;
    walk.finish().await;
    validate_html(WALK);
}
