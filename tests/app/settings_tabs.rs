//! My Profile editing, the Groups tab and the Organization tab.

use concierge::db::schema::{group_permissions, groups, outbox};
use diesel::prelude::*;

use crate::helpers::*;

#[actix_web::test]
async fn a_user_edits_their_own_profile_and_bad_input_is_explained() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("ann@example.com", "customer").await;
    browser.get("/profile/edit").await.assert_status(200).assert_contains("value=\"Uma\"");
    let mut form = vec![
        ("first_name", "Annabel"),
        ("last_name", "Lee"),
        ("phone", "letters"),
        ("title", "Tenant rep"),
        ("job_function", "tenant"),
        ("notification_preference", "security"),
    ];
    browser
        .post("/profile", &form)
        .await
        .assert_status(422)
        .assert_contains("Enter a phone number")
        .assert_contains("value=\"Annabel\"");
    assert_eq!(app.user(user.id).await.first_name, "Uma", "nothing saved");
    form[2] = ("phone", "+44 20 7946 0958");
    browser.post("/profile", &form).await.assert_redirect_to("/profile");
    let saved = app.user(user.id).await;
    assert_eq!((saved.first_name.as_str(), saved.notification_preference.as_str()), ("Annabel", "security"));
    browser.get("/profile").await.assert_contains("Only mail about my account");
    assert!(app.audit_actions().await.contains(&"user.profile_updated".into()));
}

#[actix_web::test]
async fn a_password_change_sends_a_notice() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("ann@example.com", "customer").await;
    let new = "marble-cactus-lantern-97";
    browser.get("/profile/password").await;
    browser
        .post("/profile/password", &[("current_password", PASSWORD), ("password", new), ("password_confirm", new)])
        .await;
    let subjects: Vec<String> = app.with_db(|c| outbox::table.select(outbox::subject).load(c).unwrap()).await;
    assert!(subjects.iter().any(|s| s.contains("password was changed")), "{subjects:?}");
}

#[actix_web::test]
async fn an_admin_makes_a_custom_group_and_deletes_it_only_when_empty() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    admin.get("/groups").await.assert_status(200).assert_contains("Support").assert_contains("Built-in");
    admin
        .post("/groups/new", &[("name", ""), ("permission", "users.view")])
        .await
        .assert_status(422)
        .assert_contains("This is required");
    admin
        .post("/groups/new", &[("name", "Support"), ("permission", "users.view")])
        .await
        .assert_status(422)
        .assert_contains("has this name");
    let page = admin
        .post(
            "/groups/new",
            &[
                ("name", "Auditors"),
                ("description", "Read the log"),
                ("permission", "audit.view"),
                ("permission", "users.view"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let id: i64 =
        app.with_db(|c| groups::table.filter(groups::name.eq("Auditors")).select(groups::id).first(c).unwrap()).await;
    let keys: Vec<String> = app
        .with_db(move |c| {
            group_permissions::table
                .filter(group_permissions::group_id.eq(id))
                .select(group_permissions::permission)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(keys.len(), 2);

    app.create_user(UserSpec { email: "member@example.com", ..UserSpec::default() }).await;
    app.with_db(move |c| {
        use concierge::db::schema::users;
        diesel::update(users::table.filter(users::email.eq("member@example.com")))
            .set(users::group_id.eq(id))
            .execute(c)
            .unwrap();
    })
    .await;
    admin.post(&format!("/groups/{id}/delete"), &[]).await.assert_redirect_to(&format!("/groups/{id}"));
    admin.get(&format!("/groups/{id}")).await.assert_contains("1 user is in it");
    app.with_db(|c| {
        use concierge::db::schema::users;
        diesel::delete(users::table.filter(users::email.eq("member@example.com"))).execute(c).unwrap();
    })
    .await;
    admin.post(&format!("/groups/{id}/delete"), &[]).await.assert_redirect_to("/groups");
    assert!(app.audit_actions().await.contains(&"group.deleted".into()));
}

#[actix_web::test]
async fn the_admin_group_never_loses_a_permission_and_built_ins_stay_as_they_are() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let admin_group = app.with_db(|c| concierge::db::groups::find_builtin(c, "admin").unwrap().id).await;
    admin
        .post(&format!("/groups/{admin_group}"), &[("name", "Admin"), ("permission", "users.view")])
        .await
        .assert_redirect_to(&format!("/groups/{admin_group}"));
    let permissions =
        app.with_db(move |c| concierge::db::groups::permissions(c, admin_group, Some("admin")).unwrap()).await;
    assert!(permissions.is_admin());
    let rows: i64 = app
        .with_db(move |c| {
            group_permissions::table.filter(group_permissions::group_id.eq(admin_group)).count().get_result(c).unwrap()
        })
        .await;
    assert_eq!(rows, concierge::domain::Permission::ALL.len() as i64);
    admin.post(&format!("/groups/{admin_group}/delete"), &[]).await;
    assert!(app.with_db(move |c| concierge::db::groups::find(c, admin_group).unwrap()).await.is_some());
}

#[actix_web::test]
async fn nobody_without_groups_manage_changes_a_group_or_grants_more_than_they_hold() {
    let app = spawn_app().await;
    app.create_owner().await;
    let (regular, _) = app.signed_in("reg@example.com", "regular").await;
    regular.get("/groups").await.assert_status(403);
    regular.post("/groups/new", &[("name", "Mine"), ("permission", "users.view")]).await.assert_status(403);
    // A custom group manager who lacks settings.manage can't hand it out.
    let (manager, _) = app.signed_in("mgr@example.com", "customer").await;
    app.with_db(|c| {
        use concierge::db::schema::users;
        let at = concierge::db::now();
        let id: i64 = diesel::insert_into(groups::table)
            .values((groups::name.eq("Group managers"), groups::created_at.eq(at), groups::updated_at.eq(at)))
            .returning(groups::id)
            .get_result(c)
            .unwrap();
        diesel::insert_into(group_permissions::table)
            .values((group_permissions::group_id.eq(id), group_permissions::permission.eq("groups.manage")))
            .execute(c)
            .unwrap();
        diesel::update(users::table.filter(users::email.eq("mgr@example.com")))
            .set(users::group_id.eq(id))
            .execute(c)
            .unwrap();
    })
    .await;
    let (manager, _) = {
        drop(manager);
        let b = app.browser();
        b.sign_in("mgr@example.com", PASSWORD).await;
        (b, ())
    };
    manager.get("/groups").await.assert_status(200);
    manager
        .post("/groups/new", &[("name", "Sneaky"), ("permission", "settings.manage")])
        .await
        .assert_status(422)
        .assert_contains("You can&#39;t grant a permission you don&#39;t hold");
}

#[actix_web::test]
async fn organization_settings_are_validated_saved_and_audited() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    admin.get("/organization").await.assert_status(200).assert_contains("value=\"Concierge\"");
    let mut form = vec![
        ("org_name", "Harbor Properties"),
        ("self_signup", "on"),
        ("signup_domains", "harbor.example, not a domain"),
        ("invite_ttl_hours", "0"),
        ("password_reset_ttl_minutes", "60"),
        ("email_change_ttl_hours", "24"),
        ("session_idle_minutes", "480"),
        ("session_absolute_hours", "168"),
        ("mail_from", "Harbor <portal@harbor.example>"),
        ("time_zone", "UTC"),
        ("impersonation_minutes", "30"),
        ("access_end_warning_days", "7"),
        ("dormant_days", "90"),
    ];
    admin
        .post("/organization", &form)
        .await
        .assert_status(422)
        .assert_contains("is not a domain")
        .assert_contains("A whole number of hours from 1")
        .assert_contains("value=\"Harbor Properties\"");
    form[2] = ("signup_domains", "harbor.example");
    form[3] = ("invite_ttl_hours", "72");
    admin.post("/organization", &form).await.assert_redirect_to("/organization");
    let settings = app.with_db(|c| concierge::db::settings::Settings::load(c).unwrap()).await;
    assert_eq!(settings.org_name, "Harbor Properties");
    assert!(settings.self_signup);
    assert_eq!(settings.signup_domains, vec!["harbor.example".to_owned()]);
    assert_eq!(settings.invite_ttl_hours, 72);
    admin.get("/profile").await.assert_contains("Harbor Properties");
    app.browser().get("/signup").await.assert_status(200);
    assert!(app.audit_actions().await.contains(&"settings.updated".into()));

    let page = admin.post("/organization/test-email", &[]).await;
    let location = page.location().unwrap().to_owned();
    assert!(location.starts_with("/organization?test_mail="));
    admin.get(&location).await.assert_contains("is queued");
    let (customer, _) = app.signed_in("cu@example.com", "customer").await;
    customer.get("/organization").await.assert_status(403);
    customer.post("/organization/test-email", &[]).await.assert_status(403);
}
