//! Sessions the server records: listed on My Profile and on a user's page, ended one at a time,
//! everywhere else, or all at once by an administrator, at once on every process sharing the
//! database; a sign-in from a browser not seen before is mailed.

use concierge::db::schema::{outbox, sessions};
use diesel::prelude::*;

use crate::helpers::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";

/// A browser naming itself `agent`, signed in as `email`.
async fn signed_in_with(app: &TestApp, email: &str, agent: &str) -> Browser {
    let browser = Browser::with_agent(&app.address, agent);
    browser.sign_in(email, PASSWORD).await.assert_redirect_to("/settings");
    browser
}

/// The ids of the user's recorded sessions, in order.
async fn session_ids(app: &TestApp, user_id: i64) -> Vec<i64> {
    app.with_db(move |c| {
        sessions::table.filter(sessions::user_id.eq(user_id)).order(sessions::id).select(sessions::id).load(c).unwrap()
    })
    .await
}

async fn mails(app: &TestApp, kind: &'static str) -> Vec<(String, String)> {
    app.with_db(move |c| {
        outbox::table
            .filter(outbox::kind.eq(kind))
            .order(outbox::id)
            .select((outbox::to_address, outbox::body_text))
            .load(c)
            .unwrap()
    })
    .await
}

/// Whether the browser is still signed in (My Profile answers, not a way to sign in).
async fn signed_in(browser: &Browser) -> bool {
    browser.get("/profile").await.status == 200
}

#[actix_web::test]
async fn my_profile_lists_two_browsers_and_signing_one_out_ends_it_at_once() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;

    let page = laptop.get("/profile").await;
    page.assert_status(200)
        .assert_contains("Where you are signed in")
        .assert_contains("Firefox on Linux")
        .assert_contains("Safari on iPhone")
        .assert_contains("127.0.0.1 (this server)")
        .assert_contains("Sign out everywhere else");
    // "This session" sits with the laptop's own entry, and it has no button of its own.
    let firefox = page.body.find("Firefox on Linux").unwrap();
    let iphone = page.body.find("Safari on iPhone").unwrap();
    let this = page.body.find("This session").unwrap();
    assert!(firefox < this && (this < iphone || iphone < firefox), "this session is the laptop's");
    let ids = session_ids(&app, ann.id).await;
    assert_eq!(ids.len(), 2);
    assert!(!page.body.contains(&format!("/profile/sessions/{}/end", ids[0])), "no button for this session");
    assert!(page.body.contains(&format!("/profile/sessions/{}/end", ids[1])));

    // The laptop signs the phone out: the phone's very next request is a stranger's.
    laptop.post(&format!("/profile/sessions/{}/end", ids[1]), &[]).await.assert_redirect_to("/profile#sessions");
    assert!(!signed_in(&phone).await, "the phone was signed out at once");
    let listed = laptop.get("/profile").await;
    listed.assert_status(200).assert_contains("That session is signed out.");
    assert!(!listed.body.contains("Safari on iPhone"));
    assert_eq!(session_ids(&app, ann.id).await, vec![ids[0]]);
    assert!(app.audit_actions().await.contains(&"sign_out.session".to_owned()));

    // Signing out (the menu) ends this one on the server too.
    laptop.post("/sign-out", &[]).await.assert_redirect_to("/sign-in?signed_out=1");
    assert!(session_ids(&app, ann.id).await.is_empty());
}

#[actix_web::test]
async fn sign_out_everywhere_else_keeps_this_one() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;
    let tablet = signed_in_with(&app, "ann@example.com", EDGE).await;
    let others = app.create_user(UserSpec { email: "bob@example.com", ..UserSpec::default() }).await;
    let bob = signed_in_with(&app, "bob@example.com", FIREFOX).await;

    laptop.get("/profile").await;
    laptop.post("/profile/sessions/others/end", &[]).await.assert_redirect_to("/profile#sessions");
    laptop.get("/profile").await.assert_status(200).assert_contains("Your 2 other sessions are signed out.");
    assert!(!signed_in(&phone).await);
    assert!(!signed_in(&tablet).await);
    assert!(signed_in(&bob).await, "another user's session is not touched");
    assert_eq!(session_ids(&app, ann.id).await.len(), 1);
    assert_eq!(session_ids(&app, others.id).await.len(), 1);
    assert!(app.audit_actions().await.contains(&"sign_out.elsewhere".to_owned()));
}

#[actix_web::test]
async fn nobody_signs_out_a_session_that_is_not_theirs() {
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let bob_user = app.create_user(UserSpec { email: "bob@example.com", ..UserSpec::default() }).await;
    let ann = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let bob = signed_in_with(&app, "bob@example.com", IPHONE).await;
    let bobs = session_ids(&app, bob_user.id).await[0];

    ann.get("/profile").await;
    let page = ann.post(&format!("/profile/sessions/{bobs}/end"), &[]).await;
    page.assert_redirect_to("/profile#sessions");
    ann.get("/profile").await.assert_contains("That session had ended already.");
    assert!(signed_in(&bob).await, "Bob's session stands");
    // Ids that name nothing, or nothing a number can be: refused, never a 500.
    for id in ["0", "-1", "9223372036854775807"] {
        ann.post(&format!("/profile/sessions/{id}/end"), &[]).await.assert_redirect_to("/profile#sessions");
    }
    for id in ["99999999999999999999", "x", "%00"] {
        let status = ann.post(&format!("/profile/sessions/{id}/end"), &[]).await.status;
        assert_eq!(status, 404, "{id}");
    }
    // Without the form's token, nothing happens.
    ann.post_raw(&format!("/profile/sessions/{bobs}/end"), &[]).await.assert_status(403);
    assert!(signed_in(&bob).await);
}

#[actix_web::test]
async fn a_session_ended_on_one_process_is_refused_by_another_at_once() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;
    let second = RunningApp::start(app.config.clone()).await;
    let phone_there = phone.at(&second.address);
    assert!(signed_in(&phone_there).await, "the second process honours the session");

    let ids = session_ids(&app, ann.id).await;
    laptop.get("/profile").await;
    laptop.post(&format!("/profile/sessions/{}/end", ids[1]), &[]).await.assert_redirect_to("/profile#sessions");
    assert!(!signed_in(&phone_there).await, "the second process refuses it on the next request");
    assert!(signed_in(&laptop.at(&second.address)).await);
}

#[actix_web::test]
async fn an_administrator_ends_every_session_of_a_user_under_the_rules() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;

    let page = owner.get(&format!("/users/{}", ann.id)).await;
    page.assert_status(200)
        .assert_contains("Where Uma User is signed in")
        .assert_contains("Firefox on Linux")
        .assert_contains("Safari on iPhone")
        .assert_contains("End all sessions");
    owner
        .post(&format!("/users/{}/sessions/end", ann.id), &[])
        .await
        .assert_redirect_to(&format!("/users/{}#sessions", ann.id));
    assert!(!signed_in(&laptop).await);
    assert!(!signed_in(&phone).await);
    assert!(session_ids(&app, ann.id).await.is_empty());
    let after = owner.get(&format!("/users/{}", ann.id)).await;
    after.assert_contains("Uma User is signed out everywhere.").assert_contains("Signed in nowhere.");
    after.assert_contains("ended every session of");
    assert!(app.audit_actions().await.contains(&"sign_out.everywhere".to_owned()));

    // An administrator who is not the owner may not end the owner's sessions, nor another
    // administrator's; a manager who is no administrator sees no sessions of an administrator.
    let (admin, _) = app.signed_in("admin@example.com", "admin").await;
    let owner_id = app.with_db(|c| {
        use concierge::db::schema::users;
        users::table.filter(users::is_owner.eq(true)).select(users::id).first::<i64>(c).unwrap()
    });
    let owner_id = owner_id.await;
    let before = session_ids(&app, owner_id).await;
    assert!(!admin.get(&format!("/users/{owner_id}")).await.body.contains("End all sessions"));
    admin
        .post(&format!("/users/{owner_id}/sessions/end"), &[])
        .await
        .assert_redirect_to(&format!("/users/{owner_id}#sessions"));
    assert_eq!(session_ids(&app, owner_id).await, before, "the owner's sessions stand");
    assert!(signed_in(&owner).await);
    // A user without users.manage is refused outright.
    let (reader, _) = app.signed_in("reader@example.com", "read_only").await;
    let ann_again = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    reader.post(&format!("/users/{}/sessions/end", ann.id), &[]).await.assert_status(403);
    assert!(signed_in(&ann_again).await);
}

#[actix_web::test]
async fn a_sign_in_from_a_browser_not_seen_before_is_mailed() {
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    // The first sign-in ever is no news; nor is the same browser again.
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    laptop.post("/sign-out", &[]).await;
    signed_in_with(&app, "ann@example.com", FIREFOX).await;
    assert!(mails(&app, "new_device").await.is_empty());

    // A new one is, with what and where, whatever the mail preference.
    app.with_db(|c| {
        use concierge::db::schema::users;
        diesel::update(users::table.filter(users::email.eq("ann@example.com")))
            .set(users::notification_preference.eq("none"))
            .execute(c)
            .unwrap()
    })
    .await;
    signed_in_with(&app, "ann@example.com", IPHONE).await;
    let sent = mails(&app, "new_device").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "ann@example.com");
    assert!(sent[0].1.contains("Safari on iPhone") && sent[0].1.contains("127.0.0.1"), "{}", sent[0].1);
    // The iPhone is known now.
    signed_in_with(&app, "ann@example.com", IPHONE).await;
    assert_eq!(mails(&app, "new_device").await.len(), 1);
}

#[actix_web::test]
async fn changing_the_password_keeps_this_session_and_lists_no_other() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;
    laptop.get("/profile/password").await;
    let new = "amber-lantern-meadow-77";
    laptop
        .post("/profile/password", &[("current_password", PASSWORD), ("password", new), ("password_confirm", new)])
        .await
        .assert_redirect_to("/profile");
    assert!(signed_in(&laptop).await);
    assert!(!signed_in(&phone).await);
    assert_eq!(session_ids(&app, ann.id).await.len(), 1);
    let page = laptop.get("/profile").await;
    assert!(!page.body.contains("Safari on iPhone"));
    assert!(!page.body.contains("Sign out everywhere else"));
}

#[actix_web::test]
async fn an_impersonated_session_shows_who_is_behind_it_and_ends_with_its_return() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    owner.get(&format!("/users/{}/impersonate", ann.id)).await;
    owner
        .post(&format!("/users/{}/impersonate", ann.id), &[("reason", "Checking her buildings")])
        .await
        .assert_redirect_to("/settings");
    owner.forget_csrf();
    let page = laptop.get("/profile").await;
    page.assert_contains("Olive Owner (owner@example.com) signed in as you");
    assert_eq!(session_ids(&app, ann.id).await.len(), 2);
    // Acting as her, the administrator cannot sign out her other sessions.
    let as_ann = owner.get("/profile").await;
    as_ann.assert_status(200);
    assert!(!as_ann.body.contains("Sign out everywhere else"));
    owner.post("/profile/sessions/others/end", &[]).await.assert_redirect_to("/profile#sessions");
    assert!(signed_in(&laptop).await, "her own session stands");

    owner.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{}", ann.id));
    assert_eq!(session_ids(&app, ann.id).await.len(), 1, "the impersonated session ended");
    owner.forget_csrf();
    assert!(signed_in(&owner).await, "the administrator is back in their own session");
}

#[actix_web::test]
async fn housekeeping_deletes_sessions_that_can_no_longer_be_used() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let bob = app.create_user(UserSpec { email: "bob@example.com", ..UserSpec::default() }).await;
    signed_in_with(&app, "ann@example.com", FIREFOX).await;
    signed_in_with(&app, "bob@example.com", FIREFOX).await;
    // Ann's password is reset elsewhere (a new stamp); Bob's session goes idle.
    app.with_db(move |c| concierge::db::users::end_sessions(c, ann.id).unwrap()).await;
    app.with_db(move |c| concierge::ops::housekeeping::run_once(c, concierge::db::now()).unwrap()).await;
    assert!(session_ids(&app, ann.id).await.is_empty(), "a session under an old stamp is gone");
    assert_eq!(session_ids(&app, bob.id).await.len(), 1, "a live session stays");
    let later = concierge::db::now() + chrono::Duration::hours(9);
    app.with_db(move |c| concierge::ops::housekeeping::run_once(c, later).unwrap()).await;
    assert!(session_ids(&app, bob.id).await.is_empty(), "an idle session is gone");
}

#[actix_web::test]
async fn signing_in_again_in_the_same_browser_leaves_one_session() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    // A second tab still showed the sign-in form, and was used.
    let again = laptop.post("/sign-in", &[("email", "ann@example.com"), ("password", PASSWORD)]).await;
    again.assert_redirect_to("/settings");
    laptop.forget_csrf();
    assert!(signed_in(&laptop).await);
    assert_eq!(session_ids(&app, ann.id).await.len(), 1);
}

#[actix_web::test]
async fn an_idle_session_ends_on_the_server_too_and_is_not_listed() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let laptop = signed_in_with(&app, "ann@example.com", FIREFOX).await;
    let phone = signed_in_with(&app, "ann@example.com", IPHONE).await;
    let ids = session_ids(&app, ann.id).await;
    // Eight hours idle (the default), and a minute more.
    app.config.clock.advance(8 * 3600 + 60);
    assert!(!signed_in(&phone).await, "the idle session is refused");
    assert_eq!(session_ids(&app, ann.id).await, vec![ids[0]], "and its row is gone, not revived");
    let again = signed_in_with(&app, "ann@example.com", IPHONE).await;
    let page = again.get("/profile").await;
    assert_eq!(page.body.matches("Safari on iPhone").count(), 1, "the new session only");
    assert!(!page.body.contains("Firefox on Linux"), "the laptop's idle session is not listed");
    drop(laptop);
}

#[actix_web::test]
async fn signing_in_again_through_the_second_step_leaves_one_session() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    app.with_db(move |c| concierge::db::two_step::turn_on(c, ann.id, secret, 0, &[]).unwrap()).await;
    let laptop = Browser::with_agent(&app.address, FIREFOX);
    for round in 0..2 {
        let code = concierge::auth::two_step::code_at(secret, app.config.clock.timestamp());
        if round == 1 {
            // Still signed in, from a tab that showed the sign-in form.
            let page = laptop.post("/sign-in", &[("email", "ann@example.com"), ("password", PASSWORD)]).await;
            page.assert_redirect_to("/sign-in/code");
        } else {
            laptop.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/sign-in/code");
        }
        laptop.forget_csrf();
        laptop.get("/sign-in/code").await;
        laptop.post("/sign-in/code", &[("code", &code)]).await.assert_redirect_to("/settings");
        laptop.forget_csrf();
        app.config.clock.advance(30);
    }
    assert!(signed_in(&laptop).await);
    assert_eq!(session_ids(&app, ann.id).await.len(), 1);
}

#[actix_web::test]
async fn a_browsers_update_is_no_new_device() {
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    signed_in_with(&app, "ann@example.com", FIREFOX).await;
    signed_in_with(&app, "ann@example.com", &FIREFOX.replace("133.0", "134.0")).await;
    assert!(mails(&app, "new_device").await.is_empty());
}

/// Many sign-ins of one user at once each get a session: none fails while waiting for another
/// (on PostgreSQL, storing the sessions and then taking turns on the user deadlocked).
#[actix_web::test]
async fn many_sign_ins_of_one_user_at_once_all_succeed() {
    let app = spawn_app().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let browsers: Vec<Browser> = (0..12).map(|_| Browser::with_agent(&app.address, FIREFOX)).collect();
    let answers = futures_util::future::join_all(browsers.iter().map(|b| b.sign_in("ann@example.com", PASSWORD))).await;
    for answer in &answers {
        answer.assert_redirect_to("/settings");
    }
    assert_eq!(session_ids(&app, ann.id).await.len(), browsers.len());
    assert!(mails(&app, "new_device").await.is_empty(), "one browser, never new after the first");
}
