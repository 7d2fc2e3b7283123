//! First run in a real browser: setup link → owner → Settings → sign out → sign in.

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "foundation";

#[actix_web::test]
async fn a_newcomer_sets_up_the_owner_and_signs_in() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    let address = app.address.clone();
    let link = app.with_db(move |conn| concierge::owner::setup_link(conn, &address).unwrap().unwrap()).await;
    let mut walk = Walk::start(&app.address, WALK).await;

    walk.visit(&link).await;
    walk.check_accessibility().await;
    walk.fill("first_name", "Olive").await;
    walk.fill("last_name", "Owner").await;
    walk.fill("email", "olive@example.com").await;
    walk.fill("password", PASSWORD).await;
    walk.fill("password_confirm", "not the same").await;
    walk.press("Create owner account").await;
    assert!(walk.text().await.contains("The two passwords are not the same"));
    walk.check_accessibility().await;
    walk.fill("password", PASSWORD).await;
    walk.fill("password_confirm", PASSWORD).await;
    walk.press("Create owner account").await;
    assert_eq!(walk.path().await, "/profile");
    assert!(walk.text().await.contains("Welcome, Olive"));
    walk.check_accessibility().await;

    // The name menu opens from the keyboard-focusable summary; Sign out is a form button.
    let summary = walk.client.find(fantoccini::Locator::Css("details.menu summary")).await.unwrap();
    summary.click().await.unwrap();
    walk.press("Sign out").await;
    assert_eq!(walk.path().await, "/sign-in?signed_out=1");
    walk.check_accessibility().await;

    walk.fill("email", "olive@example.com").await;
    walk.fill("password", "wrong password here").await;
    walk.press("Sign in").await;
    assert!(walk.text().await.contains("match an active account"));
    walk.check_accessibility().await;
    walk.fill("password", PASSWORD).await;
    walk.press("Sign in").await;
    assert_eq!(walk.path().await, "/profile");

    walk.visit("/profile/password").await;
    walk.check_accessibility().await;
    walk.visit("/no-such-page").await;
    walk.check_accessibility().await;

    // A phone-sized window.
    walk.client.set_window_size(390, 844).await.unwrap();
    walk.visit("/profile").await;
    walk.check_accessibility().await;
    walk.finish().await;
    validate_html(WALK);
}
