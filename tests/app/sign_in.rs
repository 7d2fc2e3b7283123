//! Sign-in, sign-out, lockout, and the security stamp that ends sessions.

use concierge::auth::client::Networks;
use concierge::domain::UserStatus;

use crate::helpers::*;

const FAILED: &str = "match an active account";

#[actix_web::test]
async fn the_right_password_signs_in_under_a_new_session_cookie() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let browser = app.browser();
    let before = browser.get("/sign-in").await;
    let anonymous_cookie = before.header("set-cookie").unwrap().to_owned();
    let page = browser.post("/sign-in", &[("email", "OWNER@example.com "), ("password", PASSWORD)]).await;
    page.assert_redirect_to("/settings");
    let signed_in_cookie = page.header("set-cookie").expect("a renewed cookie").to_owned();
    assert_ne!(anonymous_cookie, signed_in_cookie);
    browser.follow("/settings").await.assert_status(200).assert_contains(&owner.first_name);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"sign_in".to_owned()), "{actions:?}");
}

#[actix_web::test]
async fn wrong_unknown_and_disabled_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_owner().await;
    app.create_user(UserSpec { email: "gone@example.com", status: UserStatus::Disabled, ..UserSpec::default() }).await;
    let mut bodies = Vec::new();
    for (email, password) in [
        ("owner@example.com", "wrong-password-entirely"),
        ("nobody@example.com", PASSWORD),
        ("gone@example.com", PASSWORD),
    ] {
        let browser = app.browser();
        let page = browser.sign_in(email, password).await;
        page.assert_status(422).assert_contains(FAILED);
        assert!(page.body.contains(&format!("value=\"{email}\"")), "the email is kept");
        assert!(!page.body.contains(password), "the password is never sent back");
        browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
        bodies.push(page.body.replace(email, "").lines().filter(|l| !l.contains("csrf_token")).collect::<String>());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "sign_in.failed").count(), 3);
}

#[actix_web::test]
async fn an_invited_user_without_a_password_cannot_sign_in() {
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "new@example.com", status: UserStatus::Invited, ..UserSpec::default() }).await;
    app.browser().sign_in("new@example.com", PASSWORD).await.assert_status(422);
}

#[actix_web::test]
async fn repeated_failures_lock_the_address_even_for_the_right_password() {
    let app = spawn_app().await;
    app.create_owner().await;
    let browser = app.browser();
    for _ in 0..concierge::db::throttle::MAX_FAILURES {
        browser.sign_in("owner@example.com", "not-the-password-at-all").await.assert_status(422);
    }
    browser.sign_in("owner@example.com", PASSWORD).await.assert_status(422).assert_contains(FAILED);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"sign_in.locked".to_owned()), "{actions:?}");
    // An unknown address locks the same way: the lockout tells nothing about who exists.
    for _ in 0..concierge::db::throttle::MAX_FAILURES {
        browser.sign_in("nobody@example.com", "not-the-password-at-all").await;
    }
    assert_eq!(app.audit_actions().await.iter().filter(|a| *a == "sign_in.locked").count(), 2);
}

#[actix_web::test]
async fn sign_out_ends_the_session() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    browser.get("/profile").await.assert_status(200);
    browser.post("/sign-out", &[]).await.assert_redirect_to("/sign-in?signed_out=1");
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
    browser.get("/sign-in?signed_out=1").await.assert_contains("You are signed out");
}

#[actix_web::test]
async fn a_signed_in_visitor_to_sign_in_goes_to_settings() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    browser.get("/sign-in").await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn changing_the_password_ends_every_other_session_but_this_one() {
    let app = spawn_app().await;
    let (here, user) = app.signed_in("ann@example.com", "regular").await;
    let elsewhere = app.browser();
    elsewhere.sign_in(&user.email, PASSWORD).await.assert_redirect_to("/settings");
    elsewhere.get("/profile").await.assert_status(200);

    here.get("/profile/password").await;
    let new = "marble-cactus-lantern-97";
    here.post("/profile/password", &[("current_password", PASSWORD), ("password", new), ("password_confirm", new)])
        .await
        .assert_redirect_to("/profile");
    here.get("/profile").await.assert_status(200).assert_contains("Your password was changed");
    elsewhere.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");

    let fresh = app.browser();
    fresh.sign_in(&user.email, PASSWORD).await.assert_status(422);
    fresh.sign_in(&user.email, new).await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn a_weak_or_wrong_password_change_is_explained_and_changes_nothing() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("ann@example.com", "regular").await;
    browser.get("/profile/password").await;
    browser
        .post(
            "/profile/password",
            &[("current_password", "nope"), ("password", "password1234"), ("password_confirm", "password1234")],
        )
        .await
        .assert_status(422)
        .assert_contains("This is not your current password")
        .assert_contains("too easy to guess");
    let after = app.user(user.id).await;
    assert_eq!(after.password_hash, user.password_hash);
}

#[actix_web::test]
async fn a_user_who_must_choose_a_new_password_can_go_nowhere_else() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("ann@example.com", "regular").await;
    app.with_db(move |conn| {
        use concierge::db::schema::users::dsl::*;
        use diesel::prelude::*;
        diesel::update(users.find(user.id)).set(must_change_password.eq(true)).execute(conn).unwrap();
    })
    .await;
    browser.get("/profile").await.assert_redirect_to("/profile/password");
    browser.get("/profile/password").await.assert_status(200).assert_contains("Choose a new password");
}

#[actix_web::test]
async fn a_session_that_ended_is_sent_to_sign_in_even_with_a_malformed_form() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("gone@example.com", "regular").await;
    browser.get("/profile/email").await.assert_status(200);
    app.with_db(move |c| concierge::db::users::set_status(c, user.id, UserStatus::Disabled).unwrap()).await;
    // The form lacks every field: the session is checked before the form is read.
    browser.post("/profile/email", &[]).await.assert_redirect_to("/sign-in");
}

#[actix_web::test]
async fn a_stranger_cannot_lock_the_owner_out_of_their_own_place() {
    let app = spawn_app_with(|c| c.trusted_proxies = Networks::parse("127.0.0.1").unwrap()).await;
    app.create_owner().await;
    let stranger = app.browser();
    stranger.get("/sign-in").await;
    for _ in 0..concierge::db::throttle::MAX_FAILURES + 2 {
        let page =
            stranger.post_from("203.0.113.9", "/sign-in", &[("email", "owner@example.com"), ("password", "guess")]);
        page.await.assert_status(422);
    }
    let locked =
        stranger.post_from("203.0.113.9", "/sign-in", &[("email", "owner@example.com"), ("password", PASSWORD)]);
    locked.await.assert_status(422);
    let owner = app.browser();
    owner.get("/sign-in").await;
    let page = owner.post_from("198.51.100.7", "/sign-in", &[("email", "owner@example.com"), ("password", PASSWORD)]);
    page.await.assert_redirect_to("/settings");
    let ips: Vec<Option<String>> = app
        .with_db(|c| {
            use concierge::db::schema::audit_events as a;
            use diesel::prelude::*;
            a::table.filter(a::action.eq("sign_in")).select(a::ip).load(c).unwrap()
        })
        .await;
    assert_eq!(ips, vec![Some("198.51.100.7".to_owned())], "the audit names the client behind the proxy");
}

#[actix_web::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    app.create_owner().await;
    let stranger = app.browser();
    stranger.get("/sign-in").await;
    for i in 0..concierge::db::throttle::MAX_FAILURES {
        let client = format!("203.0.113.{i}");
        let page = stranger.post_from(&client, "/sign-in", &[("email", "owner@example.com"), ("password", "guess")]);
        page.await.assert_status(422);
    }
    let page =
        stranger.post_from("198.51.100.7", "/sign-in", &[("email", "owner@example.com"), ("password", PASSWORD)]);
    page.await.assert_status(422).assert_contains(FAILED);
}

#[actix_web::test]
async fn an_address_of_a_quarter_megabyte_is_refused_and_stored_nowhere() {
    let app = spawn_app().await;
    let browser = app.browser();
    let huge = format!("{}@example.com", "a".repeat(200 * 1024));
    browser.get("/sign-in").await;
    let page = browser.post("/sign-in", &[("email", &huge), ("password", "x")]).await;
    page.assert_status(422);
    assert!(page.body.len() < 20_000, "the page does not echo it: {} bytes", page.body.len());
    let stored: Vec<(String, String)> = app
        .with_db(|c| {
            use concierge::db::schema::{audit_events as a, sign_in_throttle as t};
            use diesel::prelude::*;
            let keys: Vec<String> = t::table.select(t::key).load(c).unwrap();
            let details: Vec<String> = a::table.select(a::details).load(c).unwrap();
            keys.into_iter().zip(details).collect()
        })
        .await;
    assert!(!stored.is_empty());
    for (key, details) in stored {
        assert!(key.len() < 200 && details.len() < 1000, "{} / {}", key.len(), details.len());
    }
}

#[actix_web::test]
async fn a_password_reset_lifts_the_lock_the_owner_made_themself() {
    let app = spawn_app().await;
    app.create_owner().await;
    let owner = app.browser();
    for _ in 0..concierge::db::throttle::MAX_FAILURES {
        owner.sign_in("owner@example.com", "a-typo-in-the-password").await.assert_status(422);
    }
    owner.sign_in("owner@example.com", PASSWORD).await.assert_status(422).assert_contains(FAILED);
    owner.get("/forgot-password").await;
    owner.post("/forgot-password", &[("email", "owner@example.com")]).await.assert_status(200);
    let body: String = app
        .with_db(|c| {
            use concierge::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.order(outbox::id.desc()).select(outbox::body_text).first(c).unwrap()
        })
        .await;
    let link = crate::smtp::link_path(&body, "/reset-password/");
    let new = "copper-meadow-lantern-31";
    let form = owner.get(&link).await.form(&link);
    form.set("password", new).set("password_confirm", new).submit(&owner).await.assert_redirect_to("/settings");
    let again = app.browser();
    again.sign_in("owner@example.com", new).await.assert_redirect_to("/settings");
}

/// A session that ended by itself left a sign-in form whose token was never kept: the first
/// try to sign in again answered "This form has expired".
#[actix_web::test]
async fn after_a_session_expires_the_sign_in_form_works_the_first_time() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("ann@example.com", "customer").await;
    app.config.clock.advance(3 * 24 * 3600);
    browser.get("/profile").await.assert_status(303);
    browser.forget_csrf();
    browser.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
    browser.get("/profile").await.assert_status(200);
}
