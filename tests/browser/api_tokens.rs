//! The API tokens tab in a real browser, at a desktop's width and a phone's: a refused form
//! keeps what was typed, a token is made and shown once, software uses it through SCIM (its
//! last use then shown), and it is revoked. Axe and the HTML checker on each page.

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "api-tokens";

/// The status of a SCIM read with `token`.
async fn scim_status(app: &TestApp, token: &str) -> u16 {
    let res = http_client()
        .build()
        .unwrap()
        .get(format!("{}/scim/v2/Users?filter=userName%20eq%20%22owner%40example.com%22", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

#[actix_web::test]
async fn a_token_is_made_used_and_revoked_in_a_browser() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/api-tokens").await;
    assert!(walk.text().await.contains("No token was made yet."));
    walk.check_accessibility().await;

    // A name of 101 characters is refused beside the field, and what was typed is kept.
    let long = "E".repeat(101);
    walk.fill("name", &long).await;
    walk.press("Make token").await;
    let text = walk.text().await;
    assert!(text.contains("No token was made yet."), "{text}");
    assert_eq!(walk.value_of("f-name").await, long);
    assert!(walk.text().await.contains("100"), "the message says the limit");
    walk.check_accessibility().await;

    walk.fill("name", "Entra ID provisioning").await;
    walk.press("Make token").await;
    let text = walk.text().await;
    assert!(text.contains("The token \u{201c}Entra ID provisioning\u{201d} was made"), "{text}");
    let secret = walk.value_of("f-secret").await;
    assert!(secret.starts_with("concierge_") && secret.len() == 74, "{secret}");
    walk.check_accessibility().await;
    walk.document("made").await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.screenshot().await;
    walk.resize(1280, 800).await;

    // Software uses it; the list then says when and from where, and never shows it again.
    assert_eq!(scim_status(&app, &secret).await, 200);
    walk.visit("/api-tokens").await;
    let text = walk.text().await;
    assert!(text.contains("from 127.0.0.1") && !text.contains(&secret), "{text}");
    assert!(text.contains("scim, users.view, users.manage"), "{text}");
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.screenshot().await;
    walk.resize(1280, 800).await;

    walk.press("Revoke Entra ID provisioning").await;
    let text = walk.text().await;
    assert!(text.contains("Revoked"), "{text}");
    assert_eq!(scim_status(&app, &secret).await, 401);
    walk.check_accessibility().await;
    walk.finish().await;
    validate_html(WALK);
}
