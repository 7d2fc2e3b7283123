//! Signing in as someone, in the open: a reason is needed and kept, the user is mailed (unless
//! the organization turned that off), a banner names both people and the time left, every event
//! carries both, and the time limit returns the administrator to their own account (the clock is
//! moved, not waited for).

use concierge::db::schema::{audit_events, outbox};
use diesel::prelude::*;

use crate::helpers::*;

/// The impersonation mails to `to`: (subject, text).
async fn mails_to(app: &TestApp, to: &'static str) -> Vec<(String, String)> {
    app.with_db(move |c| {
        outbox::table
            .filter(outbox::kind.eq("impersonation"))
            .filter(outbox::to_address.eq(to))
            .select((outbox::subject, outbox::body_text))
            .load(c)
            .unwrap()
    })
    .await
}

async fn last_event(app: &TestApp, action: &'static str) -> (Option<i64>, Option<i64>, String) {
    app.with_db(move |c| {
        audit_events::table
            .filter(audit_events::action.eq(action))
            .order(audit_events::id.desc())
            .select((audit_events::actor_id, audit_events::impersonator_id, audit_events::details))
            .first(c)
            .unwrap()
    })
    .await
}

#[actix_web::test]
async fn a_reason_is_needed_kept_and_mailed_and_the_banner_names_both_people() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let uma = app.create_user(UserSpec { email: "uma@example.com", group: "regular", ..UserSpec::default() }).await;
    let start = format!("/users/{}/impersonate", uma.id);
    let page = admin.get(&start).await;
    page.assert_status(200).assert_contains("for 30 minutes at most").assert_contains("gets an email");

    // No reason, a reason of control characters, a reason too long: the page says so, keeps it.
    for (typed, message) in [
        ("", "Say why you sign in as them"),
        ("\0\r\n\t", "Say why you sign in as them"),
        (&"x".repeat(400)[..], "At most 300 characters."),
    ] {
        let refused = admin.post(&start, &[("reason", typed)]).await;
        refused.assert_status(422).assert_contains(message);
    }
    assert!(mails_to(&app, "uma@example.com").await.is_empty(), "nothing sent for a refused form");
    admin.get("/users").await.assert_status(200);

    // A reason with a line break and a header-like tail is kept as one line.
    admin
        .post(&start, &[("reason", "Checking her buildings\r\nBcc: evil@example.com")])
        .await
        .assert_redirect_to("/settings");
    admin.forget_csrf();
    let (actor, impersonator, details) = last_event(&app, "impersonation.started").await;
    assert_eq!((actor, impersonator), (Some(owner.id), None));
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["reason"], "Checking her buildings Bcc: evil@example.com");
    let mails = mails_to(&app, "uma@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "Olive Owner (owner@example.com) signed in to Concierge as you");
    assert!(mails[0].1.contains("“Checking her buildings Bcc: evil@example.com”"), "{}", mails[0].1);

    // The banner: whose account, who is behind it, the time left.
    let settings = admin.get("/profile").await;
    settings.assert_contains("You are signed in as <strong>Uma User</strong> (uma@example.com)");
    settings.assert_contains("Olive Owner (owner@example.com) is behind it. It ends at ");
    settings.assert_contains("in 30 minutes.");
    // What is done meanwhile carries both people.
    let edit = admin.get("/profile/edit").await;
    edit.form("/profile").set("title", "Caretaker").submit(&admin).await.assert_status(303);
    let (actor, impersonator, _) = last_event(&app, "user.profile_updated").await;
    assert_eq!((actor, impersonator), (Some(uma.id), Some(owner.id)));
    admin.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{}", uma.id));
    let (_, _, details) = last_event(&app, "impersonation.stopped").await;
    assert!(details.contains("returned"));
}

#[actix_web::test]
async fn the_time_limit_returns_the_administrator_to_their_own_account() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let org = admin.get("/organization").await;
    org.form("/organization").set("impersonation_minutes", "5").submit(&admin).await.assert_status(303);
    let refused = org.form("/organization").set("impersonation_minutes", "45").submit(&admin).await;
    refused.assert_status(422).assert_contains("A whole number of minutes from 1 to 30");
    let uma = app.create_user(UserSpec { email: "uma@example.com", group: "regular", ..UserSpec::default() }).await;
    admin.post(&format!("/users/{}/impersonate", uma.id), &[("reason", "Her buildings")]).await.assert_status(303);
    admin.forget_csrf();
    admin.get("/profile").await.assert_contains("in 5 minutes.");

    app.config.clock.advance(4 * 60 + 30);
    admin.get("/profile").await.assert_contains("in 1 minute.").assert_contains("uma@example.com");
    app.config.clock.advance(60);
    let ended = admin.get("/profile").await;
    assert_eq!(ended.status, 303, "the time is up");
    admin.forget_csrf();
    let back = admin.follow("/settings").await;
    back.assert_contains("you are back in your own account").assert_contains("owner@example.com");
    assert!(!back.body.contains("is behind it"));
    admin.get("/users").await.assert_status(200);
    let (actor, impersonator, details) = last_event(&app, "impersonation.stopped").await;
    assert_eq!((actor, impersonator), (Some(owner.id), None));
    assert!(details.contains("time limit"), "{details}");
}

#[actix_web::test]
async fn the_organization_may_turn_the_mail_off_and_that_is_audited() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let org = admin.get("/organization").await;
    org.form("/organization").without("impersonation_mail").submit(&admin).await.assert_status(303);
    let settings = app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await;
    assert!(!settings.impersonation_mail);
    let (_, _, details) = last_event(&app, "settings.updated").await;
    assert!(details.contains("impersonation_mail"), "{details}");
    let uma = app.create_user(UserSpec { email: "uma@example.com", group: "regular", ..UserSpec::default() }).await;
    let page = admin.get(&format!("/users/{}/impersonate", uma.id)).await;
    assert!(!page.body.contains("gets an email"));
    admin.post(&format!("/users/{}/impersonate", uma.id), &[("reason", "Her buildings")]).await.assert_status(303);
    assert!(mails_to(&app, "uma@example.com").await.is_empty());
    let (_, _, details) = last_event(&app, "impersonation.started").await;
    assert!(details.contains("\"user_mailed\":false"), "{details}");
}
