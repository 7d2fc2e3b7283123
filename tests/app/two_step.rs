//! Two-step sign-in: set up on My Profile, asked for after the password, a code never taken
//! twice, recovery codes good once, turned off with the password, reset by an administrator.

use concierge::auth::two_step;
use concierge::db::schema::{outbox, recovery_codes, users};
use diesel::prelude::*;

use crate::helpers::*;

/// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).unwrap_or_else(|| panic!("{start:?} in\n{body}")) + start.len();
    &body[from..from + body[from..].find(end).unwrap()]
}

fn recovery_codes_in(body: &str) -> Vec<String> {
    body.split("<li><code>").skip(1).map(|s| s[..s.find('<').unwrap()].to_owned()).collect()
}

async fn mails_of_kind(app: &TestApp, kind: &'static str) -> Vec<String> {
    app.with_db(move |c| outbox::table.filter(outbox::kind.eq(kind)).select(outbox::to_address).load(c).unwrap()).await
}

async fn stored(app: &TestApp, id: i64) -> (Option<String>, i64) {
    app.with_db(move |c| {
        let secret = users::table.find(id).select(users::totp_secret).first::<Option<String>>(c).unwrap();
        let unused = recovery_codes::table
            .filter(recovery_codes::user_id.eq(id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result::<i64>(c)
            .unwrap();
        (secret, unused)
    })
    .await
}

/// Sets it up for a signed-in browser: the key from the page, a code of now. Returns the key
/// and the recovery codes shown.
async fn set_up(app: &TestApp, browser: &Browser) -> (String, Vec<String>) {
    let page = browser.get("/profile/two-step").await;
    page.assert_status(200).assert_contains("data:image/svg+xml;base64,");
    let secret = between(&page.body, "<code class=\"secret\">", "</code>").to_owned();
    let code = two_step::code_at(&secret, app.config.clock.timestamp());
    let shown = browser.post("/profile/two-step/on", &[("code", &code), ("current_password", PASSWORD)]).await;
    shown.assert_status(200).assert_contains("Your recovery codes");
    (secret, recovery_codes_in(&shown.body))
}

async fn code_step(browser: &Browser, code: &str) -> Page {
    browser.post("/sign-in/code", &[("code", code)]).await
}

#[actix_web::test]
async fn set_up_then_signing_in_asks_for_a_code_taken_once() {
    let app = spawn_app().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    ann.get("/profile").await.assert_contains("Two-step sign-in").assert_contains("Set up");

    // A wrong code turns nothing on; the message stands beside the field.
    ann.get("/profile/two-step").await;
    let wrong = ann.post("/profile/two-step/on", &[("code", "000000"), ("current_password", PASSWORD)]).await;
    wrong.assert_status(422).assert_contains("f-code-error").assert_contains("That code is not right");
    // A session left open is not enough: the password too.
    let page = ann.get("/profile/two-step").await;
    let key = between(&page.body, "<code class=\"secret\">", "</code>").to_owned();
    let right = two_step::code_at(&key, app.config.clock.timestamp());
    let no_password = ann.post("/profile/two-step/on", &[("code", &right), ("current_password", "guess")]).await;
    no_password.assert_status(422).assert_contains("f-current_password-error");
    assert_eq!(stored(&app, me.id).await, (None, 0));

    let (secret, codes) = set_up(&app, &ann).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(stored(&app, me.id).await, (Some(secret.clone()), 10));
    assert_eq!(mails_of_kind(&app, "two_step_on").await, vec!["ann@example.com"]);
    ann.get("/profile").await.assert_contains("Manage");

    // Signed out, the password alone signs no one in.
    ann.post("/sign-out", &[]).await;
    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    ann.get("/profile").await.assert_status(303);
    // The code that turned it on was taken: not again.
    let now = app.config.clock.timestamp();
    code_step(&ann, &two_step::code_at(&secret, now)).await.assert_status(422).assert_contains("used already");
    // (Five wrong codes lock the step: four here.)
    for bad in ["", "\0\0\0\0\0\0", &"9".repeat(200_000)[..]] {
        code_step(&ann, bad).await.assert_status(422);
    }
    app.config.clock.advance(30);
    let code = two_step::code_at(&secret, app.config.clock.timestamp());
    code_step(&ann, &code).await.assert_redirect_to("/settings");
    ann.get("/profile").await.assert_status(200);

    // The same code signs no one in a second time, in another browser.
    let other = app.browser();
    other.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    code_step(&other, &code).await.assert_status(422);

    // A recovery code, however typed, signs in once; the user is told by mail.
    let typed = codes[3].to_uppercase().replace('-', " ");
    code_step(&other, &typed).await.assert_redirect_to("/settings");
    other.get("/profile").await.assert_contains("9 left");
    assert_eq!(stored(&app, me.id).await.1, 9);
    assert_eq!(mails_of_kind(&app, "recovery_code_used").await.len(), 1);
    let third = app.browser();
    third.sign_in("ann@example.com", PASSWORD).await;
    code_step(&third, &codes[3]).await.assert_status(422);
    let events = app.audit_actions().await;
    assert!(events.contains(&"two_step.turned_on".to_owned()), "{events:?}");
    assert!(events.contains(&"two_step.recovery_code_used".to_owned()), "{events:?}");
}

#[actix_web::test]
async fn wrong_codes_lock_the_second_step_and_a_slow_one_starts_again() {
    let app = spawn_app().await;
    let (ann, _) = app.signed_in("ann@example.com", "customer").await;
    let (secret, _) = set_up(&app, &ann).await;
    ann.post("/sign-out", &[]).await;
    ann.forget_csrf();

    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    app.config.clock.advance(301);
    let late = two_step::code_at(&secret, app.config.clock.timestamp());
    code_step(&ann, &late).await.assert_redirect_to("/sign-in");
    ann.get("/profile").await.assert_status(303);

    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    for _ in 0..5 {
        code_step(&ann, "000000").await.assert_status(422);
    }
    // Locked: even the right code starts again, and the lock holds across a new password step.
    app.config.clock.advance(30);
    let right = two_step::code_at(&secret, app.config.clock.timestamp());
    code_step(&ann, &right).await.assert_redirect_to("/sign-in");
    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    code_step(&ann, &right).await.assert_redirect_to("/sign-in");
    assert!(ann.follow("/sign-in").await.body.contains("Too many wrong codes"));
}

#[actix_web::test]
async fn turning_it_off_needs_the_password_and_tells_the_user() {
    let app = spawn_app().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    set_up(&app, &ann).await;
    let refused = ann.post("/profile/two-step/off", &[("password", "not my password")]).await;
    refused.assert_status(422).assert_contains("This is not your password.");
    assert!(stored(&app, me.id).await.0.is_some());
    let refused = ann.post("/profile/two-step/codes", &[("renew_password", "")]).await;
    refused.assert_status(422);

    let renewed = ann.post("/profile/two-step/codes", &[("renew_password", PASSWORD)]).await;
    renewed.assert_status(200);
    let fresh = recovery_codes_in(&renewed.body);
    assert_eq!(fresh.len(), 10);
    assert_eq!(stored(&app, me.id).await.1, 10);
    assert_eq!(mails_of_kind(&app, "recovery_codes_renewed").await, vec!["ann@example.com"]);

    ann.post("/profile/two-step/off", &[("password", PASSWORD)]).await.assert_redirect_to("/profile");
    assert_eq!(stored(&app, me.id).await, (None, 0));
    assert_eq!(mails_of_kind(&app, "two_step_off").await, vec!["ann@example.com"]);
    ann.post("/sign-out", &[]).await;
    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn an_administrator_resets_it_within_the_rules_and_the_users_sessions_end() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let (ann, me) = app.signed_in("ann@example.com", "customer").await;
    set_up(&app, &ann).await;
    let (admin, admin_user) = app.signed_in("admin@example.com", "admin").await;
    set_up(&app, &admin).await;

    // Support may send reset links, not reset a second factor; an administrator may not reset
    // another administrator's; nobody resets their own here.
    let (support, _) = app.signed_in("support@example.com", "support").await;
    support.post(&format!("/users/{}/two-step/reset", me.id), &[]).await.assert_status(403);
    admin
        .post(&format!("/users/{}/two-step/reset", admin_user.id), &[])
        .await
        .assert_redirect_to(&format!("/users/{}", admin_user.id));
    assert!(stored(&app, admin_user.id).await.0.is_some(), "not one's own");
    for id in [0, -1, i64::MAX] {
        admin.post(&format!("/users/{id}/two-step/reset"), &[]).await.assert_status(404);
    }

    let page = admin.get(&format!("/users/{}", me.id)).await;
    page.assert_contains("Reset two-step sign-in");
    admin.post(&format!("/users/{}/two-step/reset", me.id), &[]).await.assert_redirect_to(&format!("/users/{}", me.id));
    assert_eq!(stored(&app, me.id).await, (None, 0));
    assert_eq!(mails_of_kind(&app, "two_step_reset").await, vec!["ann@example.com"]);
    ann.get("/profile").await.assert_status(303);
    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
    // Reset again: there is nothing to reset, said in words.
    admin.post(&format!("/users/{}/two-step/reset", me.id), &[]).await;
    admin.follow(&format!("/users/{}", me.id)).await.assert_contains("does not use two-step sign-in");

    // Only the owner resets an administrator's.
    owner.post(&format!("/users/{}/two-step/reset", admin_user.id), &[]).await;
    assert!(stored(&app, admin_user.id).await.0.is_none());
    assert!(app.audit_actions().await.iter().filter(|a| *a == "two_step.reset").count() == 2);
}

#[actix_web::test]
async fn a_group_requires_it_with_days_to_set_it_up_then_sends_members_to_do_so() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let (ann, _) = app.signed_in("ann@example.com", "customer").await;
    let (bo, _) = app.signed_in("bo@example.com", "customer").await;
    let (bo_secret, _) = set_up(&app, &bo).await;
    let customers = app.builtin_group("customer").await;
    let page = format!("/groups/{customers}");

    // Bad days are answered beside the field, with what was typed kept.
    for bad in ["-1", "91", "abc", "99999999999999999999", "1\u{0}"] {
        let refused = owner.post(&format!("{page}/two-step"), &[("required", "1"), ("days", bad)]).await;
        refused.assert_status(422).assert_contains("Give 0 to 90 days.");
    }
    owner.get(&page).await.assert_contains("Members may choose");
    owner.post(&format!("{page}/two-step"), &[("required", "1"), ("days", "7")]).await.assert_redirect_to(&page);
    let group = app.with_db(move |c| concierge::db::groups::find(c, customers).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_some());
    assert_eq!(group.two_step_grace_days, 7);
    // Only those without it are told; the group page lists them.
    assert_eq!(mails_of_kind(&app, "two_step_required").await, vec!["ann@example.com"]);
    let listed = owner.get(&page).await;
    listed.assert_contains("Not set up yet: 1").assert_contains("ann@example.com");
    assert!(!listed.body.contains("bo@example.com"));
    owner.post(&format!("{page}/two-step/remind"), &[]).await.assert_redirect_to(&page);
    assert_eq!(mails_of_kind(&app, "two_step_required").await.len(), 2);

    // Within the days: a banner, and every page still works.
    ann.get("/profile").await.assert_status(200).assert_contains("Your group asks everyone to use two-step sign-in");
    bo.get("/profile").await.assert_status(200);
    assert!(!bo.get("/profile").await.body.contains("Your group asks everyone"));
    // Past them: every page but the set-up leads there, until it is done.
    // (Eight days on, the sessions have ended too: both sign in again.)
    app.config.clock.advance(8 * 24 * 3600);
    ann.forget_csrf();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
    ann.get("/profile").await.assert_redirect_to("/profile/two-step");
    ann.get("/buildings").await.assert_redirect_to("/profile/two-step");
    ann.get("/profile/two-step").await.assert_status(200);
    bo.forget_csrf();
    bo.sign_in("bo@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
    code_step(&bo, &two_step::code_at(&bo_secret, app.config.clock.timestamp())).await.assert_redirect_to("/settings");
    bo.get("/profile").await.assert_status(200);
    let (_, _) = set_up(&app, &ann).await;
    ann.get("/profile").await.assert_status(200);

    // Not required any more: nobody is sent anywhere.
    owner.forget_csrf();
    owner.sign_in("owner@example.com", PASSWORD).await.assert_redirect_to("/settings");
    owner.post(&format!("{page}/two-step"), &[("days", "7")]).await.assert_redirect_to(&page);
    let group = app.with_db(move |c| concierge::db::groups::find(c, customers).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_none());
    let actions = app.audit_actions().await;
    assert!(actions.iter().filter(|a| *a == "group.two_step_required").count() == 2, "{actions:?}");
}

#[actix_web::test]
async fn the_admin_group_can_be_required_by_those_who_hold_every_permission() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let admins = app.builtin_group("admin").await;
    let managers = app.custom_group("Group managers", &["groups.manage"]).await;
    let (manager, me) = app.signed_in("gm@example.com", "customer").await;
    app.put_in_group(me.id, managers).await;
    let manager_again = app.browser();
    manager_again.sign_in("gm@example.com", PASSWORD).await;
    manager_again.post(&format!("/groups/{admins}/two-step"), &[("required", "1"), ("days", "3")]).await;
    let group = app.with_db(move |c| concierge::db::groups::find(c, admins).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_none(), "a group above the manager's reach is refused");
    drop(manager);
    owner.post(&format!("/groups/{admins}/two-step"), &[("required", "1"), ("days", "0")]).await;
    let group = app.with_db(move |c| concierge::db::groups::find(c, admins).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_some());
    // The owner is an administrator without it: sent to set it up at once (0 days).
    app.config.clock.advance(1);
    owner.get("/users").await.assert_redirect_to("/profile/two-step");
}

/// A reset link proves the mailbox, not the phone: it signed the user straight in, around the
/// second step.
#[actix_web::test]
async fn a_password_reset_by_link_still_asks_for_the_code() {
    let app = spawn_app().await;
    let (ann, _) = app.signed_in("ann@example.com", "customer").await;
    let (secret, _) = set_up(&app, &ann).await;
    let stranger = app.browser();
    stranger.post("/forgot-password", &[("email", "ann@example.com")]).await.assert_status(200);
    let text: String = app
        .with_db(|c| {
            outbox::table.filter(outbox::kind.eq("password_reset")).select(outbox::body_text).first(c).unwrap()
        })
        .await;
    let path = crate::smtp::link_path(&text, "/reset-password/");
    stranger.get(&path).await.assert_status(200);
    let new = "marble-cactus-lantern-97";
    stranger.post(&path, &[("password", new), ("password_confirm", new)]).await.assert_redirect_to("/sign-in/code");
    stranger.get("/profile").await.assert_status(303);
    stranger.follow("/sign-in/code").await.assert_contains("Your password was changed. Enter the code");
    app.config.clock.advance(30);
    let code = two_step::code_at(&secret, app.config.clock.timestamp());
    code_step(&stranger, &code).await.assert_redirect_to("/settings");
    stranger.get("/profile").await.assert_status(200);
}

#[actix_web::test]
async fn only_the_owner_changes_the_requirement_of_the_admin_group_or_a_group_of_their_own() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let admins = app.builtin_group("admin").await;
    owner.post(&format!("/groups/{admins}/two-step"), &[("required", "1"), ("days", "5")]).await;
    let (admin, _) = app.signed_in("admin@example.com", "admin").await;
    // Another administrator cannot lift it, nor shorten it.
    admin.post(&format!("/groups/{admins}/two-step"), &[("days", "5")]).await;
    admin
        .follow(&format!("/groups/{admins}"))
        .await
        .assert_contains("Only the owner can change another administrator.");
    let group = app.with_db(move |c| concierge::db::groups::find(c, admins).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_some());
    assert_eq!(group.two_step_grace_days, 5);
    // A group manager cannot change the requirement of their own group.
    let managers = app.custom_group("Group managers", &["groups.manage", "users.view"]).await;
    let gm = app.create_user(UserSpec { email: "gm@example.com", ..UserSpec::default() }).await;
    app.put_in_group(gm.id, managers).await;
    let browser = app.browser();
    browser.sign_in("gm@example.com", PASSWORD).await.assert_redirect_to("/settings");
    browser.post(&format!("/groups/{managers}/two-step"), &[("required", "1"), ("days", "1")]).await;
    browser.follow(&format!("/groups/{managers}")).await.assert_contains("change your own group: its permissions");
    let group = app.with_db(move |c| concierge::db::groups::find(c, managers).unwrap().unwrap()).await;
    assert!(group.two_step_required_at.is_none());
}

/// A member who must choose a new password, past the group's days: the two demands sent each
/// other to the other's page without end.
#[actix_web::test]
async fn a_forced_password_change_and_a_past_due_requirement_do_not_send_each_other_round() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let customers = app.builtin_group("customer").await;
    owner.post(&format!("/groups/{customers}/two-step"), &[("required", "1"), ("days", "0")]).await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    app.with_db(move |c| {
        diesel::update(users::table.find(ann.id)).set(users::must_change_password.eq(true)).execute(c).unwrap()
    })
    .await;
    app.config.clock.advance(1);
    let browser = app.browser();
    browser.sign_in("ann@example.com", PASSWORD).await;
    browser.get("/profile/password").await.assert_status(200);
    let new = "marble-cactus-lantern-97";
    browser
        .post("/profile/password", &[("current_password", PASSWORD), ("password", new), ("password_confirm", new)])
        .await
        .assert_redirect_to("/profile");
    browser.get("/profile").await.assert_redirect_to("/profile/two-step");
    browser.get("/profile/two-step").await.assert_status(200);
}

#[actix_web::test]
async fn the_operator_resets_it_from_the_command_line() {
    let app = spawn_app().await;
    if app.database.is_postgres() {
        return; // The command opens the database itself: the SQLite file is enough to show it.
    }
    let (owner, me) = app.signed_in_owner().await;
    set_up(&app, &owner).await;
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
            .env("DATABASE_URL", &app.config.database_url)
            .env("RUST_LOG", "warn")
            .args(["reset-two-step", email])
            .output()
            .unwrap()
    };
    let done = run("OWNER@example.com");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(stored(&app, me.id).await, (None, 0));
    owner.get("/profile").await.assert_status(303);
    let again = run("owner@example.com");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("does not use two-step sign-in"));
    assert!(!run("nobody@example.com").status.success());
    assert_eq!(mails_of_kind(&app, "two_step_reset").await, vec!["owner@example.com"]);
}
