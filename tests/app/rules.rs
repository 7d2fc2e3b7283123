//! Who may act on whom, tried as an attacker would: each test reproduces a way past DESIGN's
//! table that once worked, and reads back what was stored.

use concierge::db::schema::{outbox, tokens};
use concierge::domain::{PermissionSet, UserStatus};
use diesel::prelude::*;

use crate::helpers::*;

/// A browser signed in as a new user of a custom group holding `permissions`.
async fn member_of(app: &TestApp, email: &str, permissions: &[&str]) -> (Browser, concierge::db::users::User, i64) {
    let group = app.custom_group(&format!("Group of {email}"), permissions).await;
    let user = app.create_user(UserSpec { email, ..UserSpec::default() }).await;
    app.put_in_group(user.id, group).await;
    let browser = app.browser();
    browser.sign_in(email, PASSWORD).await.assert_redirect_to("/settings");
    (browser, user, group)
}

fn with_permissions(form: Form, permissions: &[&str]) -> Form {
    permissions.iter().fold(form.without("permission"), |form, p| form.add("permission", p))
}

#[actix_web::test]
async fn a_non_owner_administrator_cannot_make_or_unmake_administrators_through_a_group() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    let x = app.create_user(UserSpec { email: "x@example.com", ..UserSpec::default() }).await;
    let small = app.custom_group("Viewers", &["users.view"]).await;
    app.put_in_group(x.id, small).await;

    let form = admin.get(&format!("/groups/{small}")).await.form(&format!("/groups/{small}"));
    assert_eq!(form.get("name"), Some("Viewers"), "the form shows the group's own name");
    let page = with_permissions(form, &EVERY_PERMISSION).submit(&admin).await;
    page.assert_status(422).assert_contains("Only the owner");
    assert_eq!(app.group_permissions(small).await, PermissionSet::from_keys(["users.view"]));

    // The owner makes a group of administrators; another administrator cannot strip it.
    let everything = app.custom_group("Deputies", &EVERY_PERMISSION).await;
    let form = admin.get(&format!("/groups/{everything}")).await.form(&format!("/groups/{everything}"));
    with_permissions(form, &["users.view"]).submit(&admin).await.assert_status(422);
    assert!(app.group_permissions(everything).await.is_admin());

    // The owner may do both.
    let form = owner.get(&format!("/groups/{small}")).await.form(&format!("/groups/{small}"));
    with_permissions(form, &EVERY_PERMISSION).submit(&owner).await.assert_redirect_to(&format!("/groups/{small}"));
    assert!(app.group_permissions(small).await.is_admin());
    let saved = owner.get(&format!("/groups/{small}")).await.form(&format!("/groups/{small}"));
    assert_eq!(saved.get("name"), Some("Viewers"), "saving kept the name");
}

#[actix_web::test]
async fn a_holder_of_groups_manage_alone_cannot_empty_a_group_above_them_nor_change_their_own() {
    let app = spawn_app().await;
    app.create_owner().await;
    let (keeper, _, own_group) = member_of(&app, "keeper@example.com", &["groups.manage"]).await;
    let support_like = app.custom_group("Helpers", &["users.view", "invites.send"]).await;
    keeper
        .post(&format!("/groups/{support_like}"), &[("name", "Helpers"), ("description", "")])
        .await
        .assert_status(422);
    assert_eq!(app.group_permissions(support_like).await, PermissionSet::from_keys(["users.view", "invites.send"]));
    keeper
        .post(&format!("/groups/{own_group}"), &[("name", "Mine"), ("permission", "groups.manage")])
        .await
        .assert_status(422)
        .assert_contains("your own group");
    keeper.post(&format!("/groups/{support_like}/delete"), &[]).await;
    assert_eq!(app.group_permissions(support_like).await.iter().count(), 2, "not deleted");
}

#[actix_web::test]
async fn a_user_manager_cannot_widen_their_own_reach_or_change_their_own_email() {
    let app = spawn_app().await;
    app.create_owner().await;
    let (manager, me, _) = member_of(&app, "manager@example.com", &["users.view", "users.manage"]).await;
    let (account, towers) = app.account_with_buildings("Harbor", 3).await;
    let page = manager
        .post(
            &format!("/users/{}/access", me.id),
            &[("all_buildings", "on"), ("account", &account.to_string()), ("building", &towers[0].to_string())],
        )
        .await;
    page.assert_redirect_to(&format!("/users/{}", me.id));
    manager.get(&format!("/users/{}", me.id)).await.assert_contains("your own account");
    assert_eq!(app.access_of(me.id).await, Default::default());

    let edit = [
        ("first_name", "Mal"),
        ("last_name", "Manager"),
        ("email", "taken-over@evil.example"),
        ("phone", "+1 702 555 0100"),
        ("title", "Manager"),
        ("job_function", "operations"),
        ("company", "Acme"),
        ("group_id", &me.group_id.to_string()),
        ("version", &me.version.to_string()),
    ];
    manager.post(&format!("/users/{}", me.id), &edit).await.assert_status(403);
    assert_eq!(app.user(me.id).await.email, "manager@example.com");

    // Nor grant a customer a building the manager does not reach.
    let customer = app.create_user(UserSpec { email: "c@example.com", ..UserSpec::default() }).await;
    manager
        .post(&format!("/users/{}/access", customer.id), &[("building", &towers[1].to_string())])
        .await
        .assert_redirect_to(&format!("/users/{}", customer.id));
    assert_eq!(app.access_of(customer.id).await, Default::default());
}

#[actix_web::test]
async fn a_user_manager_grants_what_they_reach_themselves() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let (manager, me, _) = member_of(&app, "manager@example.com", &["users.view", "users.manage"]).await;
    let (account, towers) = app.account_with_buildings("Harbor", 2).await;
    let customer = app.create_user(UserSpec { email: "c@example.com", ..UserSpec::default() }).await;
    // The owner gives the manager the whole account, from the manager's page.
    let form = owner.get(&format!("/users/{}", me.id)).await.form(&format!("/users/{}/access", me.id));
    form.add("account", &account.to_string()).submit(&owner).await.assert_redirect_to(&format!("/users/{}", me.id));
    assert!(app.access_of(me.id).await.accounts.contains(&account));

    let form = manager.get(&format!("/users/{}", customer.id)).await.form(&format!("/users/{}/access", customer.id));
    form.add("building", &towers[1].to_string()).submit(&manager).await;
    assert_eq!(app.access_of(customer.id).await.buildings.into_iter().collect::<Vec<_>>(), vec![towers[1]]);
}

#[actix_web::test]
async fn an_administrator_cannot_undo_the_owners_decisions_about_another_administrator() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    let other = app
        .create_user(UserSpec {
            email: "admin3@example.com",
            group: "admin",
            status: UserStatus::Disabled,
            ..UserSpec::default()
        })
        .await;
    for action in ["enable", "restore", "send-password-reset", "resend-invite"] {
        admin.post(&format!("/users/{}/{action}", other.id), &[]).await;
    }
    assert_eq!(app.user(other.id).await.status(), UserStatus::Disabled);
    admin.post("/users/bulk", &[("ids", &other.id.to_string()), ("action", "enable")]).await;
    assert_eq!(app.user(other.id).await.status(), UserStatus::Disabled);
    admin.get(&format!("/users/{}/edit", other.id)).await.assert_status(403);
    let mails: i64 = app.with_db(|c| outbox::table.count().get_result(c).unwrap()).await;
    assert_eq!(mails, 0, "no reset link, no invitation");

    // The owner may, and changing the address tells the old one.
    owner.post(&format!("/users/{}/enable", other.id), &[]).await;
    assert_eq!(app.user(other.id).await.status(), UserStatus::Active);
    let form = owner.get(&format!("/users/{}/edit", other.id)).await.form(&format!("/users/{}", other.id));
    form.set("email", "admin3-new@example.com")
        .submit(&owner)
        .await
        .assert_redirect_to(&format!("/users/{}", other.id));
    assert_eq!(app.user(other.id).await.email, "admin3-new@example.com");
    let to: Vec<String> = app.with_db(|c| outbox::table.select(outbox::to_address).load(c).unwrap()).await;
    assert_eq!(to, vec!["admin3@example.com".to_owned()]);
}

/// The pending links of a user, by purpose, that still work.
async fn live_links(app: &TestApp, user_id: i64) -> Vec<String> {
    app.with_db(move |c| {
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::used_at.is_null())
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::superseded_at.is_null())
            .select(tokens::purpose)
            .load(c)
            .unwrap()
    })
    .await
}

#[actix_web::test]
async fn a_security_event_ends_every_pending_link_of_the_user() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let ann = app.create_user(UserSpec { email: "ann@example.com", ..UserSpec::default() }).await;
    let stranger = app.browser();
    stranger.get("/forgot-password").await;
    stranger.post("/forgot-password", &[("email", "ann@example.com")]).await;
    assert_eq!(live_links(&app, ann.id).await, vec!["password_reset".to_owned()]);
    let link = {
        let body: String =
            app.with_db(|c| outbox::table.order(outbox::id.desc()).select(outbox::body_text).first(c).unwrap()).await;
        crate::smtp::link_path(&body, "/reset-password/")
    };
    owner.post(&format!("/users/{}/disable", ann.id), &[]).await;
    owner.post(&format!("/users/{}/enable", ann.id), &[]).await;
    assert_eq!(app.user(ann.id).await.status(), UserStatus::Active);
    assert!(live_links(&app, ann.id).await.is_empty());
    let page = stranger.get(&link).await;
    assert_ne!(page.status, 200, "the reset link died with the disable:\n{}", page.body);
}

#[actix_web::test]
async fn impersonation_ends_with_the_administrators_own_session() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let user = app.create_user(UserSpec { email: "reg@example.com", group: "regular", ..UserSpec::default() }).await;
    admin
        .post(&format!("/users/{}/impersonate", user.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    admin.get("/profile").await.assert_status(200).assert_contains("reg@example.com");

    // The owner's password changes elsewhere: every session of theirs ends, this one too.
    let elsewhere = app.browser();
    elsewhere.sign_in(&owner.email, PASSWORD).await;
    app.with_db(move |c| concierge::ops::users::security_event(c, owner.id, false).unwrap()).await;
    let page = admin.get("/profile").await;
    assert!(page.location().is_some_and(|l| l.starts_with("/sign-in")), "{}: {}", page.status, page.body);
    // "Return to my account" signs nobody in again.
    admin.post("/impersonation/stop", &[]).await;
    let users = admin.get("/users").await;
    assert!(users.location().is_some_and(|l| l.starts_with("/sign-in")), "{}: {}", users.status, users.body);
}

#[actix_web::test]
async fn an_impersonated_session_changes_no_building_and_returns_past_a_forced_password_change() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (_, towers) = app.account_with_buildings("Harbor", 1).await;
    let user = app.create_user(UserSpec { email: "reg@example.com", group: "regular", ..UserSpec::default() }).await;
    let grant = admin.get(&format!("/users/{}", user.id)).await.form(&format!("/users/{}/access", user.id));
    grant.add("building", &towers[0].to_string()).submit(&admin).await;
    app.with_db(move |c| {
        use concierge::db::schema::users as u;
        diesel::update(u::table.find(user.id)).set(u::must_change_password.eq(true)).execute(c).unwrap()
    })
    .await;
    admin
        .post(&format!("/users/{}/impersonate", user.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    admin.get("/profile").await.assert_status(200);
    admin
        .post(&format!("/buildings/{}", towers[0]), &[("name", "Renamed"), ("account_id", "1")])
        .await
        .assert_status(403);
    admin.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{}", user.id));
    admin.get("/users").await.assert_status(200);
}

#[actix_web::test]
async fn an_impersonated_session_learns_nothing_of_the_password_and_changes_it_not() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let user = app.create_user(UserSpec { email: "reg@example.com", group: "regular", ..UserSpec::default() }).await;
    admin
        .post(&format!("/users/{}/impersonate", user.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    admin.forget_csrf();
    let new = "taken-over-passphrase-12";
    for current in ["a-wrong-guess", PASSWORD] {
        let fields = [("current_password", current), ("password", new), ("password_confirm", new)];
        admin.post("/profile/password", &fields).await.assert_redirect_to("/profile");
        let email = [("current_password", current), ("email", "x@evil.example"), ("email_confirm", "x@evil.example")];
        admin.post("/profile/email", &email).await.assert_redirect_to("/profile");
    }
    let after = app.user(user.id).await;
    assert!(bcrypt::verify(PASSWORD, after.password_hash.as_deref().unwrap()).unwrap());
    assert_eq!(after.email, "reg@example.com");
}

#[actix_web::test]
async fn a_user_manager_without_users_view_sees_nobody_through_bulk_import_or_edit() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let (manager, _, _) = member_of(&app, "blind@example.com", &["users.manage"]).await;
    let page = manager.post("/users/bulk", &[("ids", &owner.id.to_string()), ("action", "disable")]).await;
    page.assert_status(403);
    assert!(!page.body.contains("owner@example.com"));
    manager.get(&format!("/users/{}/edit", owner.id)).await.assert_status(403);
    let csv = "email,first_name,last_name,phone,title,job_function,company,group\nowner@example.com,A,B,+1 702 555 0100,T,operations,,Customer\n";
    manager.post("/users/import/confirm", &[("csv", csv)]).await.assert_status(403);
}

#[actix_web::test]
async fn a_next_with_a_tab_or_line_break_stays_on_this_site() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    for next in ["/\t/evil.example", "/\r\nSet-Cookie: a=b", "/\\evil.example", "//evil.example"] {
        let browser = app.browser();
        browser.get("/sign-in").await;
        browser
            .post("/sign-in", &[("email", &owner.email), ("password", PASSWORD), ("next", next)])
            .await
            .assert_redirect_to("/settings");
        let signed_in = browser.get(&format!("/sign-in?next={}", concierge::web::urlencode(next))).await;
        signed_in.assert_redirect_to("/settings");
    }
}

#[actix_web::test]
async fn a_buildings_manager_grants_only_within_the_rules_and_tells_nobody_who_has_an_account() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let (manager, me, _) = member_of(&app, "bm@example.com", &["buildings.manage"]).await;
    let (_, towers) = app.account_with_buildings("Harbor", 1).await;
    let b = towers[0];
    app.with_db(move |c| {
        use concierge::db::schema::building_access as ba;
        diesel::insert_into(ba::table)
            .values((ba::user_id.eq(owner.id), ba::building_id.eq(b), ba::granted_at.eq(concierge::db::now())))
            .execute(c)
            .unwrap()
    })
    .await;
    manager.post(&format!("/buildings/{b}/access"), &[("revoke", &owner.id.to_string())]).await;
    assert!(app.access_of(owner.id).await.buildings.contains(&b), "the owner keeps the building");
    manager.post(&format!("/buildings/{b}/access"), &[("email", "bm@example.com")]).await;
    assert!(app.access_of(me.id).await.buildings.is_empty(), "no one widens their own reach");
    let mut answers = Vec::new();
    for email in ["nobody@example.com", "owner@example.com"] {
        manager.post(&format!("/buildings/{b}/access"), &[("email", email)]).await;
        let page = manager.get(&format!("/buildings/{b}")).await;
        let flash = page.body.split("role=\"alert\"").nth(1).unwrap_or_default().to_owned();
        answers.push(flash.chars().take(200).collect::<String>());
    }
    assert_eq!(answers[0], answers[1], "one answer for both");
}

#[actix_web::test]
async fn bad_bytes_are_answered_without_a_server_error() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    for path in [
        "/users?q=%00",
        "/users?q=a%00b",
        "/buildings?q=%00",
        "/buildings?page=9223372036854775807",
        "/users?sort=email&after=1%1F%00",
        "/users?sort=last_sign_in&after=1%1F-5000-01-01%2000:00:00",
    ] {
        let page = owner.get(path).await;
        assert!(page.status < 500, "{path}: {}", page.status);
        assert!(!page.body.contains("page=-"), "{path} offers a negative page");
    }
    let stranger = app.browser();
    stranger.get("/sign-in").await;
    let page = stranger.post("/sign-in", &[("email", "a\u{0}@example.com"), ("password", "x")]).await;
    assert!(page.status < 500, "{}", page.status);
    let page = owner
        .post(
            "/users/bulk",
            &[("ids", "999"), ("action", "disable"), ("return_to", "/users\r\nX: y"), ("confirm", "1")],
        )
        .await;
    page.assert_redirect_to("/users");
}

#[actix_web::test]
async fn a_bulk_resend_over_many_users_answers_with_a_short_message() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let mut ids = Vec::new();
    for i in 0..120 {
        let email = format!("someone-with-a-long-address-{i}@example.com");
        let status = if i % 10 == 0 { UserStatus::Invited } else { UserStatus::Active };
        ids.push(app.create_user(UserSpec { email: &email, status, ..UserSpec::default() }).await.id.to_string());
    }
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    fields.push(("action", "resend_invite"));
    owner.post("/users/bulk", &fields).await.assert_redirect_to("/users");
    owner
        .get("/users")
        .await
        .assert_contains("Sent a new invitation to ")
        .assert_contains("and 10 others.")
        .assert_contains("and 106 others.");
}

#[actix_web::test]
async fn refusals_carry_the_security_headers_and_https_adds_hsts() {
    let app = spawn_app_with(|c| c.public_url = "https://portal.example".into()).await;
    let browser = app.browser();
    let page = browser.post_raw("/sign-in", &[("email", "a@example.com"), ("password", "x")]).await;
    page.assert_status(403);
    assert!(page.header("content-security-policy").is_some(), "{:?}", page.headers);
    assert!(page.header("x-content-type-options").is_some());
    let page = browser.get("/sign-in").await;
    assert!(page.header("strict-transport-security").is_some_and(|v| v.contains("max-age=")));
}
