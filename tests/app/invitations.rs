//! Invitations end to end through a real SMTP server, and mail that is never lost.

use std::time::Duration;

use concierge::db::schema::outbox;
use concierge::domain::UserStatus;
use diesel::prelude::*;

use crate::helpers::*;
use crate::smtp::{self, SmtpServer};

async fn customer_group(app: &TestApp) -> String {
    app.with_db(|conn| concierge::db::groups::find_builtin(conn, "customer").unwrap().id).await.to_string()
}

async fn invite(browser: &Browser, group: &str, email: &str) -> Page {
    browser
        .post(
            "/users/new",
            &[
                ("first_name", "Ivy"),
                ("last_name", "Invitee"),
                ("email", email),
                ("phone", "+1 702 555 0142"),
                ("title", "Tenant rep"),
                ("job_function", "tenant"),
                ("group_id", group),
                ("entry", "invite"),
            ],
        )
        .await
}

#[actix_web::test]
async fn an_invitation_arrives_and_the_invitee_sets_up_their_account() {
    if !smtp::available() {
        return;
    }
    let server = SmtpServer::start().await;
    let url = server.url();
    let app = spawn_app_with(|c| {
        c.deliver_mail = true;
        c.smtp_url = Some(url);
    })
    .await;
    let (admin, _) = app.signed_in_owner().await;
    let group = customer_group(&app).await;
    invite(&admin, &group, "ivy@example.com").await.assert_status(303);

    let mails = server.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: ivy@example.com"), "{}", mails[0]);
    assert!(mails[0].contains("You're invited to Concierge") || mails[0].contains("invited to Concierge"));
    assert!(mails[0].contains("text/html"), "an HTML part too");
    let path = smtp::link_path(&mails[0], "/invite/");
    // Once delivered, the outbox keeps to whom and when, not the link.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (sent, body): (Option<chrono::NaiveDateTime>, String) = app
            .with_db(|c| {
                use concierge::db::schema::outbox;
                use diesel::prelude::*;
                outbox::table.select((outbox::sent_at, outbox::body_text)).first(c).unwrap()
            })
            .await;
        if sent.is_some() {
            assert!(!body.contains("/invite/"), "{body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the delivery was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let ivy = app.browser();
    ivy.get(&path).await.assert_status(200).assert_contains("ivy@example.com").assert_contains("value=\"Ivy\"");
    ivy.post(
        &path,
        &[
            ("first_name", "Ivy"),
            ("last_name", "Invitee"),
            ("phone", "+1 702 555 0142"),
            ("password", "x"),
            ("password_confirm", "x"),
        ],
    )
    .await
    .assert_status(422)
    .assert_contains("Use at least 12 characters");
    ivy.post(
        &path,
        &[
            ("first_name", "Ivy"),
            ("last_name", "Invitee"),
            ("phone", "+1 702 555 0142"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await
    .assert_redirect_to("/settings");
    ivy.follow("/settings").await.assert_contains("Welcome, Ivy").assert_contains("ivy@example.com");

    let user = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap()).await;
    assert_eq!(user.status(), UserStatus::Active);
    admin.get(&format!("/users/{}", user.id)).await.assert_contains("Used").assert_contains("Sent");
    app.browser().get(&path).await.assert_status(410).assert_contains("already used");
}

#[actix_web::test]
async fn an_old_link_says_a_newer_invitation_was_sent_and_expired_links_say_so() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let group = customer_group(&app).await;
    invite(&admin, &group, "ivy@example.com").await.assert_status(303);
    let first_secret = app
        .with_db(|conn| {
            // The mail in the outbox holds the only copy of the secret.
            let body: String = outbox::table.select(outbox::body_text).first(conn).unwrap();
            body
        })
        .await;
    let first = smtp::link_path(&first_secret, "/invite/");
    let user = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap()).await;
    admin
        .post(&format!("/users/{}/resend-invite", user.id), &[])
        .await
        .assert_redirect_to(&format!("/users/{}", user.id));
    app.browser().get(&first).await.assert_status(410).assert_contains("A newer invitation was sent");

    let newest: String =
        app.with_db(|conn| outbox::table.order(outbox::id.desc()).select(outbox::body_text).first(conn).unwrap()).await;
    let newest = smtp::link_path(&newest, "/invite/");
    app.with_db(|conn| {
        use concierge::db::schema::tokens;
        diesel::update(tokens::table)
            .set(tokens::expires_at.eq(concierge::db::now() - chrono::Duration::minutes(1)))
            .execute(conn)
            .unwrap();
    })
    .await;
    app.browser().get(&newest).await.assert_status(410).assert_contains("expired").assert_contains("resend");
    app.browser().get(&format!("/invite/{}", "0".repeat(64))).await.assert_status(404);
}

#[actix_web::test]
async fn with_smtp_down_a_hundred_invites_wait_and_then_go_out_exactly_once() {
    if !smtp::available() {
        return;
    }
    let mut server = SmtpServer::stopped();
    let url = server.url();
    let app = spawn_app_with(|c| {
        c.deliver_mail = true;
        c.smtp_url = Some(url);
        c.mail_retry_base = Duration::from_millis(300);
    })
    .await;
    let (admin, _) = app.signed_in_owner().await;
    let group = customer_group(&app).await;
    for i in 0..100 {
        invite(&admin, &group, &format!("ivy{i}@example.com")).await.assert_status(303);
    }
    // Every invite is accepted by the portal and shown as retrying.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let retrying: i64 = app
            .with_db(|c| {
                outbox::table
                    .filter(outbox::attempts.ge(1))
                    .filter(outbox::sent_at.is_null())
                    .count()
                    .get_result(c)
                    .unwrap()
            })
            .await;
        if retrying == 100 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {retrying} of 100 were tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let someone = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy7@example.com").unwrap().unwrap()).await;
    admin.get(&format!("/users/{}", someone.id)).await.assert_contains("Retrying");

    server.resume().await;
    let mails = server.wait_for(100, Duration::from_secs(30)).await;
    assert_eq!(mails.len(), 100);
    // Once every mail is recorded as sent, none can go out again.
    wait_until_all_sent(&app).await;
    let mails = server.messages();
    assert_eq!(mails.len(), 100, "each mail exactly once");
    let mut recipients: Vec<String> =
        mails.iter().map(|m| m.lines().find(|l| l.starts_with("To: ")).unwrap_or_default().to_owned()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 100);
    let unsent: i64 =
        app.with_db(|c| outbox::table.filter(outbox::sent_at.is_null()).count().get_result(c).unwrap()).await;
    assert_eq!(unsent, 0);
}

#[actix_web::test]
async fn two_processes_on_one_database_send_each_mail_once() {
    if !smtp::available() {
        return;
    }
    let server = SmtpServer::start().await;
    let url = server.url();
    let first = spawn_app().await;
    let (admin, _) = first.signed_in_owner().await;
    let group = customer_group(&first).await;
    for i in 0..40 {
        invite(&admin, &group, &format!("pair{i}@example.com")).await.assert_status(303);
    }
    // Two delivering processes over the same database.
    let mut config = first.config.clone();
    config.deliver_mail = true;
    config.smtp_url = Some(url);
    let a = RunningApp::start(config.clone()).await;
    let b = RunningApp::start(config).await;
    let mails = server.wait_for(40, Duration::from_secs(30)).await;
    assert_eq!(mails.len(), 40);
    wait_until_all_sent(&first).await;
    // Both stopped, their workers done: what the server holds is all that was ever sent.
    drop((a, b));
    assert_eq!(server.messages().len(), 40, "no mail twice");
}

async fn wait_until_all_sent(app: &TestApp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let unsent: i64 =
            app.with_db(|c| outbox::table.filter(outbox::sent_at.is_null()).count().get_result(c).unwrap()).await;
        if unsent == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{unsent} mails were never recorded as sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
