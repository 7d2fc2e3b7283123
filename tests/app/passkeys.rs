//! Passkeys over HTTP: who may begin adding one and with what, answers that are not answers,
//! a ceremony taken once, another user's passkey, an impersonated session, the second step's
//! lock, and passkeys going with two-step sign-in. (Making and using a real one needs an
//! authenticator: the browser suite does that with WebDriver's virtual authenticator.)

use concierge::auth::two_step;
use concierge::db::schema::{passkey_ceremonies, passkeys};
use diesel::prelude::*;

use crate::helpers::*;

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

async fn with_passkeys() -> TestApp {
    spawn_app_with(|c| c.public_url = "http://localhost".into()).await
}

/// Turns two-step sign-in on for the user directly (arranging, not the feature under test).
async fn two_step_on(app: &TestApp, id: i64) {
    app.with_db(move |c| concierge::db::two_step::turn_on(c, id, SECRET, 0, &[]).unwrap()).await;
}

/// A stored passkey of the user's, as a row (its credential is no real one).
async fn stored_passkey(app: &TestApp, user_id: i64, name: &'static str) -> i64 {
    app.with_db(move |c| {
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::user_id.eq(user_id),
                passkeys::user_handle.eq("00000000-0000-4000-8000-000000000000"),
                passkeys::credential_id.eq(format!("cred-{name}")),
                passkeys::credential.eq("{}"),
                passkeys::name.eq(name),
                passkeys::created_at.eq(concierge::db::now()),
            ))
            .returning(passkeys::id)
            .get_result(c)
            .unwrap()
    })
    .await
}

async fn passkey_names(app: &TestApp, user_id: i64) -> Vec<String> {
    app.with_db(move |c| passkeys::table.filter(passkeys::user_id.eq(user_id)).select(passkeys::name).load(c).unwrap())
        .await
}

async fn ceremonies(app: &TestApp) -> i64 {
    app.with_db(|c| passkey_ceremonies::table.count().get_result(c).unwrap()).await
}

#[actix_web::test]
async fn a_portal_at_an_address_offers_no_passkeys() {
    let app = spawn_app().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    two_step_on(&app, me.id).await;
    ann.get("/profile/two-step").await.assert_contains("Passkeys need the portal at a host name");
    let fields = [("passkey_name", "Laptop"), ("passkey_password", PASSWORD)];
    ann.post("/profile/passkeys/new", &fields).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_contains("Passkeys need the portal at a name");
    assert_eq!(ceremonies(&app).await, 0);
}

#[actix_web::test]
async fn adding_one_needs_two_step_sign_in_a_name_and_the_password() {
    let app = with_passkeys().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    // Without two-step sign-in there is nothing for a passkey to stand in for.
    let fields = [("passkey_name", "Laptop"), ("passkey_password", PASSWORD)];
    ann.post("/profile/passkeys/new", &fields).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await;
    two_step_on(&app, me.id).await;

    // Names that are none, or too long: said beside the field, what was typed kept.
    let long = "n".repeat(1_000);
    for (typed, message) in
        [("", "Name the passkey"), ("\0\r\n\t", "Name the passkey"), (&long[..], "At most 60 characters.")]
    {
        let page = ann.post("/profile/passkeys/new", &[("passkey_name", typed), ("passkey_password", PASSWORD)]).await;
        page.assert_status(422).assert_contains(message).assert_contains("id=\"f-passkey_name-error\"");
    }
    // A form past the size any form may have is refused as such, never a 500.
    let huge = "n".repeat(300_000);
    let page = ann.post("/profile/passkeys/new", &[("passkey_name", &huge), ("passkey_password", PASSWORD)]).await;
    page.assert_status(413);
    let page =
        ann.post("/profile/passkeys/new", &[("passkey_name", "Work laptop"), ("passkey_password", "nope")]).await;
    page.assert_status(422).assert_contains("This is not your password.").assert_contains("value=\"Work laptop\"");
    assert_eq!(ceremonies(&app).await, 0, "nothing begun for a refused form");

    let page = ann.post("/profile/passkeys/new", &fields).await;
    page.assert_status(200).assert_contains("data-passkey-options=").assert_contains("challenge");
    assert!(page.body.contains("ann@example.com"), "the browser is told whose passkey it makes");
    assert_eq!(ceremonies(&app).await, 1);
}

#[actix_web::test]
async fn an_answer_that_is_no_passkey_adds_nothing_and_a_ceremony_is_taken_once() {
    let app = with_passkeys().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    two_step_on(&app, me.id).await;
    // No ceremony at all.
    ann.get("/profile/two-step").await;
    ann.post("/profile/passkeys", &[("credential", "{}")]).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_contains("That passkey was not added");

    let fields = [("passkey_name", "Laptop"), ("passkey_password", PASSWORD)];
    let long = "x".repeat(200_000);
    for answer in ["", "{}", "\0", "null", &long[..]] {
        ann.post("/profile/passkeys/new", &fields).await.assert_status(200);
        let page = ann.post("/profile/passkeys", &[("credential", answer)]).await;
        page.assert_redirect_to("/profile/two-step");
        ann.get("/profile/two-step").await.assert_status(200).assert_contains("That passkey was not added");
        assert_eq!(ceremonies(&app).await, 0, "the ceremony was taken with the answer");
    }
    // No field at all.
    ann.post("/profile/passkeys/new", &fields).await.assert_status(200);
    ann.post("/profile/passkeys", &[]).await.assert_redirect_to("/profile/two-step");
    assert!(passkey_names(&app, me.id).await.is_empty());
}

#[actix_web::test]
async fn nobody_removes_a_passkey_that_is_not_theirs() {
    let app = with_passkeys().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    let bob = app.create_user(UserSpec { email: "bob@example.com", ..UserSpec::default() }).await;
    two_step_on(&app, me.id).await;
    let bobs = stored_passkey(&app, bob.id, "Bob's key").await;
    let mine = stored_passkey(&app, me.id, "Ann's key").await;
    ann.get("/profile/two-step").await.assert_contains("Ann&#39;s key");

    ann.post(&format!("/profile/passkeys/{bobs}/remove"), &[]).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_contains("That passkey was removed already.");
    assert_eq!(passkey_names(&app, bob.id).await, vec!["Bob's key"]);
    for id in ["0", "-1", "9223372036854775807"] {
        ann.post(&format!("/profile/passkeys/{id}/remove"), &[]).await.assert_redirect_to("/profile/two-step");
    }
    assert_eq!(ann.post("/profile/passkeys/99999999999999999999/remove", &[]).await.status, 404);
    ann.post_raw(&format!("/profile/passkeys/{mine}/remove"), &[]).await.assert_status(403);

    ann.post(&format!("/profile/passkeys/{mine}/remove"), &[]).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_contains("The passkey “Ann&#39;s key” is removed.");
    assert!(passkey_names(&app, me.id).await.is_empty());
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"two_step.passkey_removed".to_owned()));
    let mailed: i64 = app
        .with_db(|c| {
            use concierge::db::schema::outbox;
            outbox::table.filter(outbox::kind.eq("passkey_removed")).count().get_result(c).unwrap()
        })
        .await;
    assert_eq!(mailed, 1);
}

#[actix_web::test]
async fn an_administrator_signed_in_as_the_user_adds_or_removes_none() {
    let app = with_passkeys().await;
    let (owner, _) = app.signed_in_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    two_step_on(&app, ann.id).await;
    let key = stored_passkey(&app, ann.id, "Laptop").await;
    owner.get(&format!("/users/{}/impersonate", ann.id)).await;
    owner.post(&format!("/users/{}/impersonate", ann.id), &[("reason", "Helping her")]).await;
    owner.forget_csrf();
    owner.get("/profile").await;
    let fields = [("passkey_name", "Mine now"), ("passkey_password", PASSWORD)];
    owner.post("/profile/passkeys/new", &fields).await.assert_redirect_to("/profile");
    owner.post(&format!("/profile/passkeys/{key}/remove"), &[]).await.assert_redirect_to("/profile/two-step");
    assert_eq!(passkey_names(&app, ann.id).await, vec!["Laptop"]);
    assert_eq!(ceremonies(&app).await, 0);
}

#[actix_web::test]
async fn wrong_passkey_answers_lock_the_second_step_as_wrong_codes_do() {
    let app = with_passkeys().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    two_step_on(&app, ann.id).await;
    let browser = app.browser();
    // Without a sign-in under way there is nothing to answer.
    browser.get("/sign-in").await;
    browser.post("/sign-in/passkey/start", &[]).await.assert_redirect_to("/sign-in");
    browser.post("/sign-in/passkey", &[("credential", "{}")]).await.assert_redirect_to("/sign-in");

    browser.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    // No passkey yet: the code page offers none, and asking for one leads back to it.
    let page = browser.get("/sign-in/code").await;
    assert!(!page.body.contains("Use a passkey"));
    browser.post("/sign-in/passkey/start", &[]).await.assert_redirect_to("/sign-in/code");
    browser.get("/sign-in/code").await.assert_contains("You have no passkey");

    stored_passkey(&app, ann.id, "Laptop").await;
    browser.get("/sign-in/code").await.assert_contains("Use a passkey");
    for _ in 0..5 {
        browser.post("/sign-in/passkey", &[("credential", "{}")]).await.assert_redirect_to("/sign-in/code");
    }
    // Locked now: even the right code is not looked at.
    let code = two_step::code_at(SECRET, app.config.clock.timestamp());
    browser.post("/sign-in/code", &[("code", &code)]).await.assert_redirect_to("/sign-in");
    assert_eq!(browser.get("/profile").await.status, 303, "not signed in");
    // Five wrong answers, and the one sent with no sign-in under way (taken as a passkey alone).
    let failures = app.audit_actions().await.iter().filter(|a| *a == "sign_in.failed").count();
    assert_eq!(failures, 6);
}

#[actix_web::test]
async fn passkeys_go_with_two_step_sign_in() {
    let app = with_passkeys().await;
    let (owner, _) = app.signed_in_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    two_step_on(&app, ann.id).await;
    stored_passkey(&app, ann.id, "Laptop").await;
    owner.get(&format!("/users/{}", ann.id)).await;
    owner.post(&format!("/users/{}/two-step/reset", ann.id), &[]).await.assert_status(303);
    assert!(passkey_names(&app, ann.id).await.is_empty(), "a reset removes them");
}

#[actix_web::test]
async fn the_owner_lets_a_passkey_sign_in_by_itself_and_a_bad_answer_signs_in_nobody() {
    let app = with_passkeys().await;
    let (owner, _) = app.signed_in_owner().await;
    let stranger = app.browser();
    // Off by default: no button, and asking anyway begins nothing.
    assert!(!stranger.get("/sign-in").await.body.contains("Sign in with a passkey"));
    stranger.post("/sign-in/passkey/start", &[]).await.assert_redirect_to("/sign-in");
    assert_eq!(ceremonies(&app).await, 0);

    // The owner turns it on in the Organization tab; it is read back.
    let page = owner.get("/organization").await;
    page.assert_contains("A passkey signs its user in without the password");
    page.form("/organization").set("passkey_sign_in", "on").submit(&owner).await.assert_redirect_to("/organization");
    assert!(app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await.passkey_sign_in);
    owner.get("/organization").await.assert_contains("id=\"f-passkey_sign_in\" name=\"passkey_sign_in\" type=\"checkbox\" aria-describedby=\"f-passkey_sign_in-hint\" checked");

    stranger.get("/sign-in").await.assert_contains("Sign in with a passkey");
    let page = stranger.post("/sign-in/passkey/start", &[]).await;
    page.assert_status(200).assert_contains("data-passkey-options=").assert_contains("challenge");
    assert_eq!(ceremonies(&app).await, 1);
    for answer in ["{}", "", "\0", &"y".repeat(200_000)[..]] {
        let refused = stranger.post("/sign-in/passkey", &[("credential", answer)]).await;
        refused.assert_redirect_to("/sign-in");
        stranger.get("/sign-in").await.assert_contains("That passkey could not sign you in.");
        assert_eq!(stranger.get("/profile").await.status, 303, "nobody is signed in");
        stranger.post("/sign-in/passkey/start", &[]).await.assert_status(200);
    }
    let failures = app.audit_actions().await.iter().filter(|a| *a == "sign_in.failed").count();
    assert_eq!(failures, 4);
}

#[actix_web::test]
async fn a_portal_at_an_address_offers_no_passkey_sign_in_whatever_the_setting() {
    let app = spawn_app().await;
    app.with_db(|c| concierge::db::settings::set(c, "passkey_sign_in", "true").unwrap()).await;
    let stranger = app.browser();
    assert!(!stranger.get("/sign-in").await.body.contains("Sign in with a passkey"));
    stranger.post("/sign-in/passkey/start", &[]).await.assert_redirect_to("/sign-in");
    assert_eq!(ceremonies(&app).await, 0);
}

#[actix_web::test]
async fn a_passkey_begun_before_two_step_sign_in_was_turned_off_is_not_added() {
    let app = with_passkeys().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    two_step_on(&app, me.id).await;
    ann.get("/profile/two-step").await;
    let fields = [("passkey_name", "Laptop"), ("passkey_password", PASSWORD)];
    ann.post("/profile/passkeys/new", &fields).await.assert_status(200);
    // Turned off in another tab meanwhile: the ceremony goes with it.
    ann.post("/profile/two-step/off", &[("password", PASSWORD)]).await.assert_redirect_to("/profile");
    assert_eq!(ceremonies(&app).await, 0);
    ann.post("/profile/passkeys", &[("credential", "{}")]).await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_contains("Turn on two-step sign-in first");
    assert!(passkey_names(&app, me.id).await.is_empty());
}

#[actix_web::test]
async fn a_network_begins_only_so_many_sign_ins_by_passkey() {
    let app = with_passkeys().await;
    app.with_db(|c| concierge::db::settings::set(c, "passkey_sign_in", "true").unwrap()).await;
    let stranger = app.browser();
    stranger.get("/sign-in").await;
    for _ in 0..60 {
        stranger.post("/sign-in/passkey/start", &[]).await.assert_status(200);
    }
    stranger.post("/sign-in/passkey/start", &[]).await.assert_redirect_to("/sign-in");
    assert_eq!(ceremonies(&app).await, 60);
}
