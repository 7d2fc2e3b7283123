//! Passkeys in a real browser, with WebDriver's virtual authenticator standing in for the
//! device: added on My Profile, used at the second step of signing in, then, once the
//! organization allows it, to sign in by itself. The portal is
//! reached at `localhost` (passkeys need a host name). Axe and the HTML checker on each page.

use concierge::auth::two_step;
use concierge::db::schema::passkeys;
use diesel::prelude::*;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "passkeys";
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[actix_web::test]
async fn a_user_adds_a_passkey_and_signs_in_with_it() {
    if !available() {
        return;
    }
    let app = spawn_app_with(|c| c.public_url = "http://localhost".into()).await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    app.with_db(move |c| concierge::db::two_step::turn_on(c, ann.id, SECRET, 0, &[]).unwrap()).await;
    let code = || two_step::code_at(SECRET, app.config.clock.timestamp());

    let mut walk = Walk::start(&app.address.replace("127.0.0.1", "localhost"), WALK).await;
    walk.add_authenticator().await;
    walk.sign_in("ann@example.com").await;
    assert_eq!(walk.path().await, "/sign-in/code");
    assert!(!walk.text().await.contains("Use a passkey"), "no passkey yet");
    walk.fill("code", &code()).await;
    walk.press("Sign in").await;
    assert_eq!(walk.path().await, "/profile");

    walk.visit("/profile/two-step#passkeys").await;
    assert!(walk.text().await.contains("You have none yet."));
    walk.check_accessibility().await;
    walk.fill("passkey_name", "Work laptop").await;
    walk.fill("passkey_password", PASSWORD).await;
    walk.press("Add a passkey").await;
    assert_eq!(walk.path().await, "/profile/passkeys/new");
    walk.check_accessibility().await;
    walk.resize(390, 844).await;
    walk.assert_no_sideways_scroll().await;
    walk.resize(1280, 800).await;
    walk.press("Make the passkey").await;
    assert_eq!(walk.path().await, "/profile/two-step");
    let text = walk.text().await;
    assert!(text.contains("The passkey “Work laptop” is added"), "{text}");
    assert!(text.contains("Work laptop") && text.contains("last used Never"), "{text}");
    walk.check_accessibility().await;
    walk.document("passkeys").await;
    let stored: Vec<(String, Option<chrono::NaiveDateTime>)> =
        app.with_db(|c| passkeys::table.select((passkeys::name, passkeys::last_used_at)).load(c).unwrap()).await;
    assert_eq!(stored, vec![("Work laptop".to_owned(), None)]);

    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.sign_in("ann@example.com").await;
    assert_eq!(walk.path().await, "/sign-in/code");
    walk.press("Use a passkey").await;
    assert_eq!(walk.path().await, "/sign-in/passkey/start");
    walk.check_accessibility().await;
    walk.press("Use my passkey").await;
    assert_eq!(walk.path().await, "/profile", "signed in with the passkey: {}", walk.text().await);
    let used: Vec<Option<chrono::NaiveDateTime>> =
        app.with_db(|c| passkeys::table.select(passkeys::last_used_at).load(c).unwrap()).await;
    assert!(used[0].is_some(), "its last use is kept");

    // The organization lets a passkey sign in by itself: no password, no code.
    app.with_db(|c| concierge::db::settings::set(c, "passkey_sign_in", "true").unwrap()).await;
    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.visit("/sign-in").await;
    walk.check_accessibility().await;
    walk.press("Sign in with a passkey").await;
    assert_eq!(walk.path().await, "/sign-in/passkey/start");
    walk.press("Use my passkey").await;
    assert_eq!(walk.path().await, "/profile", "signed in by the passkey alone: {}", walk.text().await);
    assert!(walk.text().await.contains("Uma User"));

    // Her group held to a sign-in provider: the passkey alone no longer signs her in.
    let provider = app.provider("Test IdP", "https://login.example.com").await;
    app.with_db(move |c| {
        use concierge::db::schema::groups;
        diesel::update(groups::table.find(ann.group_id))
            .set(groups::sign_in_provider_id.eq(provider))
            .execute(c)
            .unwrap();
    })
    .await;
    walk.click(".menu summary").await;
    walk.press("Sign out").await;
    walk.visit("/sign-in").await;
    walk.press("Sign in with a passkey").await;
    walk.press("Use my passkey").await;
    assert_eq!(walk.path().await, "/sign-in", "refused: {}", walk.text().await);
    assert!(walk.text().await.contains("That passkey could not sign you in"));
    walk.finish().await;
    validate_html(WALK);
}
