//! Forgot / reset password, self-signup, email change, and the Pending invites view.

use concierge::db::schema::outbox;
use concierge::domain::UserStatus;
use diesel::prelude::*;

use crate::helpers::*;
use crate::smtp::link_path;

/// (to, subject, text) of every queued mail, oldest first.
async fn mails(app: &TestApp) -> Vec<(String, String, String)> {
    app.with_db(|c| {
        outbox::table
            .order(outbox::id)
            .select((outbox::to_address, outbox::subject, outbox::body_text))
            .load(c)
            .unwrap()
    })
    .await
}

#[actix_web::test]
async fn forgot_password_answers_the_same_and_the_link_resets_once() {
    let app = spawn_app().await;
    let (elsewhere, user) = app.signed_in("ann@example.com", "regular").await;
    let browser = app.browser();
    browser.get("/sign-in").await.assert_contains("Forgot your password?");
    browser.get("/forgot-password").await.assert_status(200);
    let known = browser.post("/forgot-password", &[("email", "ANN@example.com")]).await;
    let unknown = browser.post("/forgot-password", &[("email", "nobody@example.com")]).await;
    known.assert_status(200).assert_contains("If an active account uses that address");
    let strip = |b: &str| b.lines().filter(|l| !l.contains("csrf_token")).collect::<String>();
    assert_eq!(strip(&known.body), strip(&unknown.body));
    let queued = mails(&app).await;
    assert_eq!(queued.len(), 1, "only the real account gets mail");
    assert_eq!(queued[0].0, "ann@example.com");
    let path = link_path(&queued[0].2, "/reset-password/");

    browser.get(&path).await.assert_status(200);
    let new = "marble-cactus-lantern-97";
    browser.post(&path, &[("password", new), ("password_confirm", new)]).await.assert_redirect_to("/settings");
    browser.follow("/settings").await.assert_contains("Your password was changed");
    elsewhere.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
    app.browser().get(&path).await.assert_status(410).assert_contains("already used");
    assert!(mails(&app).await.iter().any(|m| m.1.contains("password was changed")), "a notice goes out");
    let after = app.user(user.id).await;
    assert!(bcrypt::verify(new, after.password_hash.as_deref().unwrap()).unwrap());
}

#[actix_web::test]
async fn forgot_password_is_rate_limited_per_address() {
    let app = spawn_app().await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let browser = app.browser();
    for _ in 0..15 {
        browser.post("/forgot-password", &[("email", "ann@example.com")]).await.assert_status(200);
    }
    let n = mails(&app).await.len();
    assert_eq!(n, concierge::db::throttle::RESET_MAILS.max as usize, "{n} mails for 15 requests");
}

#[actix_web::test]
async fn a_flood_of_reset_requests_never_kills_the_link_its_owner_got() {
    let app =
        spawn_app_with(|c| c.trusted_proxies = concierge::auth::client::Networks::parse("127.0.0.1").unwrap()).await;
    app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let ann = app.browser();
    ann.get("/forgot-password").await;
    ann.post_from("198.51.100.7", "/forgot-password", &[("email", "ann@example.com")]).await.assert_status(200);
    let link = crate::smtp::link_path(&mails(&app).await.last().unwrap().2, "/reset-password/");
    let attacker = app.browser();
    attacker.get("/forgot-password").await;
    for i in 0..30 {
        let client = format!("203.0.113.{i}");
        attacker.post_from(&client, "/forgot-password", &[("email", "ann@example.com")]).await.assert_status(200);
    }
    let sent = mails(&app).await.len();
    assert_eq!(sent, concierge::db::throttle::RESET_MAILS.max as usize);
    // The link sent last still works; it is the one in Ann's inbox now.
    let last = crate::smtp::link_path(&mails(&app).await.last().unwrap().2, "/reset-password/");
    app.browser().get(&last).await.assert_status(200);
    assert!(sent > 1 || last == link);
}

#[actix_web::test]
async fn an_admin_or_support_sends_a_reset_link_but_a_customer_cannot() {
    let app = spawn_app().await;
    app.create_owner().await;
    let target = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let (support, _) = app.signed_in("help@example.com", "support").await;
    let path = format!("/users/{}/send-password-reset", target.id);
    support.get(&format!("/users/{}", target.id)).await.assert_contains("Send password-reset link");
    support.post(&path, &[]).await.assert_redirect_to(&format!("/users/{}", target.id));
    assert_eq!(mails(&app).await.len(), 1);
    let (customer, _) = app.signed_in("cu@example.com", "customer").await;
    customer.post(&path, &[]).await.assert_status(403);
    assert_eq!(mails(&app).await.len(), 1);
    assert!(!mails(&app).await[0].2.contains(PASSWORD), "never a password");
}

#[actix_web::test]
async fn self_signup_is_off_by_default_and_when_on_verifies_the_address() {
    let app = spawn_app().await;
    app.browser().get("/signup").await.assert_status(404);
    app.with_db(|c| {
        concierge::db::settings::set(c, "self_signup", "true").unwrap();
        concierge::db::settings::set(c, "signup_domains", "example.com").unwrap();
    })
    .await;
    let browser = app.browser();
    browser.get("/sign-in").await.assert_contains("href=\"/signup\"");
    browser.get("/signup").await.assert_status(200);
    let form = |email: &'static str| vec![("first_name", "Sam"), ("last_name", "Signer"), ("email", email)];
    browser.post("/signup", &form("sam@elsewhere.org")).await.assert_status(422).assert_contains("example.com only");
    browser.post("/signup", &form("sam@example.com")).await.assert_status(200).assert_contains("Check your email");
    let nobody = app.with_db(|c| concierge::db::users::find_by_email(c, "sam@example.com").unwrap()).await;
    assert!(nobody.is_none(), "no account before the address is confirmed");

    let queued = mails(&app).await;
    assert_eq!(queued.len(), 1);
    let path = link_path(&queued[0].2, "/verify-email/");
    let sam_browser = app.browser();
    // Opening the link (as a mail scanner would) changes nothing; choosing the password does.
    let page = sam_browser.get(&path).await;
    page.assert_status(200).assert_contains("Sam Signer").assert_contains("sam@example.com");
    let form = page.form(&path);
    form.clone()
        .set("password", "short")
        .set("password_confirm", "short")
        .submit(&sam_browser)
        .await
        .assert_status(422);
    let chosen = "quiet-harbour-lantern-58";
    let done = form.set("password", chosen).set("password_confirm", chosen).submit(&sam_browser).await;
    done.assert_redirect_to("/settings");
    sam_browser.follow("/settings").await.assert_contains("Your email is confirmed");
    let sam = app.with_db(|c| concierge::db::users::find_by_email(c, "sam@example.com").unwrap().unwrap()).await;
    assert_eq!(sam.status(), UserStatus::Active);
    let group = app.with_db(move |c| concierge::db::groups::find(c, sam.group_id).unwrap().unwrap()).await;
    assert_eq!(group.builtin_key.as_deref(), Some("customer"));
    app.browser().sign_in("sam@example.com", chosen).await.assert_redirect_to("/settings");
    app.browser().get(&path).await.assert_status(410);

    // The same address again: the same page, and a notice to the mailbox instead of a link.
    browser.post("/signup", &form_again()).await.assert_status(200).assert_contains("Check your email");
    let last = mails(&app).await.pop().unwrap();
    assert!(last.1.contains("tried to sign up"), "{}", last.1);
}

fn form_again() -> Vec<(&'static str, &'static str)> {
    vec![("first_name", "Sam"), ("last_name", "Signer"), ("email", "sam@example.com")]
}

#[actix_web::test]
async fn signing_up_with_someone_elses_address_claims_nothing() {
    let app = spawn_app().await;
    app.with_db(|c| concierge::db::settings::set(c, "self_signup", "true").unwrap()).await;
    let attacker = app.browser();
    attacker.get("/signup").await;
    let claim = [
        ("first_name", "Mallory"),
        ("last_name", "M"),
        ("email", "victim@example.com"),
        ("password", "attacker-chosen-passphrase-1"),
        ("password_confirm", "attacker-chosen-passphrase-1"),
    ];
    attacker.post("/signup", &claim).await.assert_status(200);
    let stored: i64 = app
        .with_db(|c| {
            use concierge::db::schema::users;
            use diesel::prelude::*;
            users::table.filter(users::password_hash.is_not_null()).count().get_result(c).unwrap()
        })
        .await;
    assert_eq!(stored, 0, "no password is stored before the address is confirmed");
    // The victim follows the link and chooses their own password; the attacker's opens nothing.
    let path = link_path(&mails(&app).await[0].2, "/verify-email/");
    let victim = app.browser();
    let form = victim.get(&path).await.form(&path);
    let own = "victims-own-passphrase-77";
    form.set("password", own).set("password_confirm", own).submit(&victim).await.assert_redirect_to("/settings");
    app.browser().sign_in("victim@example.com", "attacker-chosen-passphrase-1").await.assert_status(422);
    app.browser().sign_in("victim@example.com", own).await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn a_signup_link_dies_when_signup_is_turned_off() {
    let app = spawn_app().await;
    app.with_db(|c| concierge::db::settings::set(c, "self_signup", "true").unwrap()).await;
    let someone = app.browser();
    someone.get("/signup").await;
    someone.post("/signup", &[("first_name", "Late"), ("last_name", "Comer"), ("email", "late@example.com")]).await;
    let path = link_path(&mails(&app).await[0].2, "/verify-email/");
    let form = someone.get(&path).await.form(&path);
    app.with_db(|c| concierge::db::settings::set(c, "self_signup", "false").unwrap()).await;
    let own = "late-comer-passphrase-88";
    form.set("password", own).set("password_confirm", own).submit(&someone).await.assert_status(410);
    let none = app.with_db(|c| concierge::db::users::find_by_email(c, "late@example.com").unwrap()).await;
    assert!(none.is_none());
}

#[actix_web::test]
async fn an_email_change_happens_when_the_link_to_the_new_address_is_followed() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("ann@example.com", "regular").await;
    browser.get("/profile").await.assert_contains("href=\"/profile/email\"");
    browser.get("/profile/email").await.assert_status(200);
    browser
        .post(
            "/profile/email",
            &[("current_password", "wrong"), ("email", "new@example.com"), ("email_confirm", "other@example.com")],
        )
        .await
        .assert_status(422)
        .assert_contains("This is not your current password")
        .assert_contains("value=\"new@example.com\"");
    browser
        .post(
            "/profile/email",
            &[("current_password", PASSWORD), ("email", "New@Example.com"), ("email_confirm", "new@example.com")],
        )
        .await
        .assert_redirect_to("/profile");
    let queued = mails(&app).await;
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].0, "new@example.com");
    assert_eq!(queued[1].0, "ann@example.com", "a notice to the old address");
    assert_eq!(app.user(user.id).await.email, "ann@example.com", "nothing changes before the link");

    let path = link_path(&queued[0].2, "/confirm-email/");
    app.browser().get(&path).await.assert_status(200).assert_contains("Use this address");
    assert_eq!(app.user(user.id).await.email, "ann@example.com", "opening the link changes nothing");
    app.browser().post(&path, &[]).await.assert_status(200).assert_contains("Your email was changed");
    assert_eq!(app.user(user.id).await.email, "new@example.com");
    app.browser().sign_in("ann@example.com", PASSWORD).await.assert_status(422);
    app.browser().sign_in("new@example.com", PASSWORD).await.assert_redirect_to("/settings");
    app.browser().get(&path).await.assert_status(410);
    app.browser().post(&path, &[]).await.assert_status(410);
}

#[actix_web::test]
async fn pending_invites_tell_the_truth_and_can_be_revoked_and_resent() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let group = app.with_db(|c| concierge::db::groups::find_builtin(c, "customer").unwrap().id).await.to_string();
    admin
        .post(
            "/users/new",
            &[
                ("first_name", "Ivy"),
                ("last_name", "Invitee"),
                ("email", "ivy@example.com"),
                ("phone", "+1 702 555 0142"),
                ("title", "Rep"),
                ("job_function", "tenant"),
                ("group_id", &group),
                ("entry", "invite"),
            ],
        )
        .await
        .assert_status(303);
    let page = admin.get("/invites").await;
    page.assert_status(200).assert_contains("ivy@example.com").assert_contains("Queued").assert_contains("Open");
    let token_id = app
        .with_db(|c| {
            concierge::db::schema::tokens::table.select(concierge::db::schema::tokens::id).first::<i64>(c).unwrap()
        })
        .await;
    let link = link_path(&mails(&app).await[0].2, "/invite/");
    admin.post(&format!("/invites/{token_id}/revoke"), &[]).await.assert_redirect_to("/invites");
    app.browser().get(&link).await.assert_status(410).assert_contains("can no longer be used");
    admin.get("/invites").await.assert_contains("Revoked");
    admin.post(&format!("/invites/{token_id}/resend"), &[]).await.assert_redirect_to("/invites");
    let latest = link_path(&mails(&app).await[1].2, "/invite/");
    app.browser().get(&latest).await.assert_status(200);

    let (customer, _) = app.signed_in("cu@example.com", "customer").await;
    customer.get("/invites").await.assert_status(403);
    customer.post(&format!("/invites/{token_id}/resend"), &[]).await.assert_status(403);
}
