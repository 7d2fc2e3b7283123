//! The Users tab: the list, Add New User, the user page, and every user's lifecycle.

use concierge::db::schema::{buildings, outbox, tokens};
use concierge::domain::UserStatus;
use diesel::prelude::*;

use crate::helpers::*;

async fn group_id(app: &TestApp, key: &'static str) -> i64 {
    app.builtin_group(key).await
}

async fn account_with_buildings(app: &TestApp, name: &'static str, count: usize) -> (i64, Vec<i64>) {
    app.account_with_buildings(name, count).await
}

fn new_user_form(group: &str, email: &str) -> Vec<(String, String)> {
    [
        ("first_name", "Nina"),
        ("last_name", "Novak"),
        ("email", email),
        ("phone", "+1 702 555 0199"),
        ("title", "Property manager"),
        ("job_function", "property_manager"),
        ("company", "Acme"),
        ("group_id", group),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn user_by_email(app: &TestApp, email: &'static str) -> concierge::db::users::User {
    app.with_db(move |conn| concierge::db::users::find_by_email(conn, email).unwrap().expect("the user exists")).await
}

#[actix_web::test]
async fn an_admin_adds_a_user_with_an_invitation_and_buildings() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let (_, towers) = account_with_buildings(&app, "Harbor", 2).await;
    let regular = group_id(&app, "regular").await.to_string();
    browser.get("/users/new").await.assert_status(200).assert_contains("Harbor Tower 0");
    let mut form = new_user_form(&regular, "Nina@Example.com");
    form.push(("building".into(), towers[1].to_string()));
    form.push(("entry".into(), "invite".into()));
    form.push(("bcc_me".into(), "on".into()));
    let page = browser.post("/users/new", &pairs(&form)).await;
    assert_eq!(page.status, 303, "{}", page.body);

    let nina = user_by_email(&app, "nina@example.com").await;
    assert_eq!(nina.status(), UserStatus::Invited);
    assert!(nina.password_hash.is_none());
    let (mail_to, bcc, invites): (String, Option<String>, i64) = app
        .with_db(move |conn| {
            let (to, bcc) = outbox::table
                .select((outbox::to_address, outbox::bcc_address))
                .first::<(String, Option<String>)>(conn)
                .unwrap();
            let n = tokens::table.filter(tokens::user_id.eq(nina.id)).count().get_result(conn).unwrap();
            (to, bcc, n)
        })
        .await;
    assert_eq!(mail_to, "nina@example.com");
    assert_eq!(bcc.as_deref(), Some("owner@example.com"));
    assert_eq!(invites, 1);

    let show = browser.follow(&format!("/users/{}", nina.id)).await;
    show.assert_contains("Nina Novak").assert_contains("Invited").assert_contains("Queued");
    assert!(app.audit_actions().await.contains(&"user.created".into()));
    assert!(app.audit_actions().await.contains(&"invite.sent".into()));
}

#[actix_web::test]
async fn an_admin_adds_a_user_with_a_password_and_no_mail() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let customer = group_id(&app, "customer").await.to_string();
    let mut form = new_user_form(&customer, "nina@example.com");
    form.extend([
        ("entry".into(), "password".into()),
        ("password".into(), PASSWORD.into()),
        ("password_confirm".into(), PASSWORD.into()),
        ("require_new_password".into(), "on".into()),
    ]);
    assert_eq!(browser.post("/users/new", &pairs(&form)).await.status, 303);
    let nina = user_by_email(&app, "nina@example.com").await;
    assert_eq!(nina.status(), UserStatus::Active);
    assert!(nina.must_change_password);
    let mails: i64 = app.with_db(|conn| outbox::table.count().get_result(conn).unwrap()).await;
    assert_eq!(mails, 0, "the portal never emails a password");
    let nina_browser = app.browser();
    nina_browser.sign_in("nina@example.com", PASSWORD).await.assert_redirect_to("/settings");
    nina_browser.get("/profile").await.assert_redirect_to("/profile/password");
}

#[actix_web::test]
async fn a_wrong_form_is_explained_field_by_field_and_writes_nothing() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let page = browser
        .post(
            "/users/new",
            &[("first_name", "Nina"), ("email", "not an email"), ("phone", "call me"), ("entry", "invite")],
        )
        .await;
    page.assert_status(422)
        .assert_contains("value=\"Nina\"")
        .assert_contains("value=\"not an email\"")
        .assert_contains("Enter an email address like")
        .assert_contains("Enter a phone number like")
        .assert_contains("Pick the closest job function")
        .assert_contains("Choose a group");
    let count: i64 = app.with_db(|conn| concierge::db::schema::users::table.count().get_result(conn).unwrap()).await;
    assert_eq!(count, 1, "only the owner");
}

#[actix_web::test]
async fn a_duplicate_email_in_any_case_is_refused_and_a_deleted_one_offered_for_restore() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let existing = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let gone = app
        .create_user(UserSpec { email: "gone@example.com", status: UserStatus::Deleted, ..UserSpec::default() })
        .await;
    let customer = group_id(&app, "customer").await.to_string();
    browser
        .post("/users/new", &pairs(&new_user_form(&customer, "NINA@example.com")))
        .await
        .assert_status(422)
        .assert_contains("A user with this address exists already")
        .assert_contains(&format!("href=\"/users/{}\"", existing.id));
    browser
        .post("/users/new", &pairs(&new_user_form(&customer, "gone@example.com")))
        .await
        .assert_status(422)
        .assert_contains("Restore them")
        .assert_contains(&format!("href=\"/users/{}\"", gone.id));
}

#[actix_web::test]
async fn the_list_searches_filters_hides_disabled_and_pages() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    for i in 0..30 {
        let email: &'static str = Box::leak(format!("person{i:02}@example.com").into_boxed_str());
        let last: &'static str = Box::leak(format!("Zed{i:02}").into_boxed_str());
        app.create_user(UserSpec { email, last_name: last, ..UserSpec::default() }).await;
    }
    app.create_user(UserSpec {
        email: "off@example.com",
        last_name: "Offline",
        status: UserStatus::Disabled,
        ..UserSpec::default()
    })
    .await;

    let page = browser.get("/users?per_page=25").await;
    page.assert_status(200).assert_contains("Zed00").assert_contains("rel=\"next\"");
    assert!(!page.body.contains("Offline"), "disabled users are hidden by default");
    assert!(!page.body.contains("Zed29"), "the first page has 25 rows");

    let next = page.body.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().to_owned();
    let next = next.trim_end_matches("\" ").replace("&#38;", "&").replace("&amp;", "&");
    let second = browser.get(&next).await;
    second.assert_status(200).assert_contains("Zed29").assert_contains("rel=\"prev\"");
    assert!(!second.body.contains("Zed05"));

    browser.get("/users?show_disabled=1&per_page=200").await.assert_contains("Offline");
    let search = browser.get("/users?q=ZED07").await;
    search.assert_contains("Zed07");
    assert!(!search.body.contains("Zed08"));
    browser
        .get("/users?q=nobody-by-that-name")
        .await
        .assert_contains("No users match")
        .assert_contains("Clear the search");
    let by_status = browser.get("/users?status=disabled").await;
    by_status.assert_contains("Offline");
    assert!(!by_status.body.contains("Zed01"));
    let desc = browser.get("/users?sort=email&dir=desc&per_page=25").await;
    let first_row = desc.body.find("person29@").unwrap();
    let later_row = desc.body.find("person10@").unwrap();
    assert!(first_row < later_row);
}

#[actix_web::test]
async fn who_may_see_the_users_tab() {
    let app = spawn_app().await;
    app.create_owner().await;
    app.browser().get("/users").await.assert_redirect_to("/sign-in?next=/users");
    let (customer, _) = app.signed_in("cu@example.com", "customer").await;
    customer.get("/users").await.assert_status(403);
    customer.get("/users/1").await.assert_status(403);
    let (read_only, _) = app.signed_in("ro@example.com", "read_only").await;
    read_only.get("/users").await.assert_status(200);
    let page = read_only.get("/users/1").await;
    page.assert_status(200);
    assert!(!page.body.contains("/disable\""), "no action buttons without users.manage");
    read_only.get("/users/new").await.assert_status(403);
    read_only.post("/users/1/disable", &[]).await.assert_status(403);
}

#[actix_web::test]
async fn editing_over_a_newer_change_is_refused_with_what_changed() {
    let app = spawn_app().await;
    let (first, _) = app.signed_in_owner().await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", first_name: "Nina", ..UserSpec::default() }).await;
    let (second, _) = app.signed_in("admin2@example.com", "admin").await;
    let customer = group_id(&app, "customer").await.to_string();
    let form = |first_name: &str, title: &str| {
        let mut f = new_user_form(&customer, "nina@example.com");
        f.retain(|(k, _)| k != "first_name" && k != "title");
        f.push(("first_name".into(), first_name.into()));
        f.push(("title".into(), title.into()));
        f.push(("version".into(), "1".into()));
        f
    };
    first
        .get(&format!("/users/{}/edit", nina.id))
        .await
        .assert_status(200)
        .assert_contains("name=\"version\" value=\"1\"");
    second
        .post(&format!("/users/{}", nina.id), &pairs(&form("Nina", "Director")))
        .await
        .assert_redirect_to(&format!("/users/{}", nina.id));
    let refused = first.post(&format!("/users/{}", nina.id), &pairs(&form("Nineta", "Manager"))).await;
    refused.assert_status(409).assert_contains("Someone else saved changes").assert_contains("Director");
    let saved = app.user(nina.id).await;
    assert_eq!(saved.title, "Director");
    assert_eq!(saved.first_name, "Nina");
    assert_eq!(saved.version, 2);
}

#[actix_web::test]
async fn property_access_is_checked_and_unchecked_and_a_whole_account_covers_new_buildings() {
    let app = spawn_app().await;
    let (browser, owner) = app.signed_in_owner().await;
    let (harbor, towers) = account_with_buildings(&app, "Harbor", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let path = format!("/users/{}/access", nina.id);
    let t0 = towers[0].to_string();
    browser.post(&path, &[("building", &t0)]).await.assert_redirect_to(&format!("/users/{}", nina.id));
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert_eq!(access.buildings.into_iter().collect::<Vec<_>>(), vec![towers[0]]);

    let account = harbor.to_string();
    browser.post(&path, &[("account", &account)]).await;
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert!(access.buildings.is_empty(), "unchecked buildings are removed");
    assert!(access.accounts.contains(&harbor));
    account_with_buildings(&app, "Later", 0).await;
    let list = browser.get("/users?q=nina").await;
    assert!(
        list.body.contains("<td data-label=\"Buildings\">2</td>"),
        "the whole account's buildings count:\n{}",
        list.body
    );
    let _ = owner;
    assert!(app.audit_actions().await.contains(&"user.access_changed".into()));
}

#[actix_web::test]
async fn disable_enable_delete_and_restore() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (nina_browser, nina) = app.signed_in("nina@example.com", "regular").await;
    let base = format!("/users/{}", nina.id);

    admin.post(&format!("{base}/disable"), &[]).await.assert_redirect_to(&base);
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Disabled);
    nina_browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
    admin.post(&format!("{base}/enable"), &[]).await;
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Active);

    admin
        .get(&format!("{base}/delete"))
        .await
        .assert_status(200)
        .assert_contains("Delete Uma User?")
        .assert_contains("Cancel");
    admin.get(&format!("{base}/delete")).await;
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Active, "GET changes nothing");
    admin.post(&format!("{base}/delete"), &[]).await.assert_redirect_to(&base);
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Deleted);
    admin.get("/users").await;
    assert!(!admin.get("/users").await.body.contains("nina@example.com"));
    admin.post(&format!("{base}/restore"), &[]).await;
    assert_eq!(app.user(nina.id).await.status(), UserStatus::Disabled, "restored users come back disabled");
    let actions = app.audit_actions().await;
    for a in ["user.disable", "user.enable", "user.delete", "user.restore"] {
        assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
    }
}

#[actix_web::test]
async fn nobody_disables_deletes_or_demotes_the_owner_and_no_one_disables_themselves() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let (admin, me) = app.signed_in("admin2@example.com", "admin").await;
    for action in ["disable", "delete"] {
        admin
            .post(&format!("/users/{}/{action}", owner.id), &[])
            .await
            .assert_redirect_to(&format!("/users/{}", owner.id));
        admin.post(&format!("/users/{}/{action}", me.id), &[]).await;
    }
    assert_eq!(app.user(owner.id).await.status(), UserStatus::Active);
    assert_eq!(app.user(me.id).await.status(), UserStatus::Active);
    admin.get(&format!("/users/{}", me.id)).await.assert_contains("own account");
}

#[actix_web::test]
async fn only_the_owner_changes_an_admins_group() {
    let app = spawn_app().await;
    let (owner_browser, _) = app.signed_in_owner().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    let other = app.create_user(UserSpec { email: "admin3@example.com", group: "admin", ..UserSpec::default() }).await;
    let customer = group_id(&app, "customer").await.to_string();
    let mut form = new_user_form(&customer, "admin3@example.com");
    form.push(("version".into(), "1".into()));
    // Another administrator's details are the owner's to change, the group with them.
    admin
        .post(&format!("/users/{}", other.id), &pairs(&form))
        .await
        .assert_status(403)
        .assert_contains("Only the owner");
    admin.post(&format!("/users/{}/disable", other.id), &[]).await;
    assert_eq!(app.user(other.id).await.status(), UserStatus::Active);
    owner_browser
        .post(&format!("/users/{}", other.id), &pairs(&form))
        .await
        .assert_redirect_to(&format!("/users/{}", other.id));
    assert_eq!(app.user(other.id).await.group_id, customer.parse::<i64>().unwrap());
}

#[actix_web::test]
async fn a_support_user_resends_invites_but_cannot_delete_anyone() {
    let app = spawn_app().await;
    app.create_owner().await;
    let (support, _) = app.signed_in("help@example.com", "support").await;
    let invited = app
        .create_user(UserSpec { email: "new@example.com", status: UserStatus::Invited, ..UserSpec::default() })
        .await;
    support.post(&format!("/users/{}/delete", invited.id), &[]).await.assert_status(403);
    support
        .post(&format!("/users/{}/resend-invite", invited.id), &[])
        .await
        .assert_redirect_to(&format!("/users/{}", invited.id));
    support.post(&format!("/users/{}/resend-invite", invited.id), &[]).await;
    let (open, superseded): (i64, i64) = app
        .with_db(move |conn| {
            let mine = tokens::table.filter(tokens::user_id.eq(invited.id));
            (
                mine.filter(tokens::superseded_at.is_null()).count().get_result(conn).unwrap(),
                tokens::table
                    .filter(tokens::user_id.eq(invited.id))
                    .filter(tokens::superseded_at.is_not_null())
                    .count()
                    .get_result(conn)
                    .unwrap(),
            )
        })
        .await;
    assert_eq!((open, superseded), (1, 1), "resending supersedes the earlier link");
    assert_eq!(app.user(invited.id).await.status(), UserStatus::Invited);
}

#[actix_web::test]
async fn an_admin_cannot_make_someone_an_admin_only_the_owner_can() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    app.create_owner().await;
    let admin_group = group_id(&app, "admin").await.to_string();
    admin
        .post("/users/new", &pairs(&new_user_form(&admin_group, "x@example.com")))
        .await
        .assert_status(422)
        .assert_contains("Only the owner can make");
}

#[actix_web::test]
async fn export_csv_streams_every_user_or_just_the_results() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    app.create_user(UserSpec {
        email: "gone@example.com",
        last_name: "Gone",
        status: UserStatus::Deleted,
        ..UserSpec::default()
    })
    .await;
    app.create_user(UserSpec {
        email: "eve@example.com",
        first_name: "=HYPERLINK(1)",
        last_name: "Evil",
        ..UserSpec::default()
    })
    .await;
    let all = admin.get("/users/export.csv").await;
    all.assert_status(200);
    assert!(all.header("content-type").unwrap().starts_with("text/csv"));
    assert!(all.header("content-disposition").unwrap().contains("attachment"));
    let lines: Vec<&str> = all.body.lines().collect();
    assert!(lines[0].starts_with("id,email,first_name"));
    assert_eq!(lines.len(), 4, "header, owner, deleted and evil: {lines:?}");
    assert!(all.body.contains("'=HYPERLINK(1)"), "formulas are neutralised");
    let results = admin.get("/users/export.csv?results=1&q=evil").await;
    assert_eq!(results.body.lines().count(), 2, "{}", results.body);
    assert!(app.audit_actions().await.contains(&"users.exported".into()));
    let (support, _) = app.signed_in("help@example.com", "support").await;
    support.get("/users/export.csv").await.assert_status(403);
}

#[actix_web::test]
async fn an_admin_signs_in_as_a_user_reaches_no_admin_screen_and_returns() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let nina = app
        .create_user(UserSpec {
            email: "nina@example.com",
            first_name: "Nina",
            group: "regular",
            ..UserSpec::default()
        })
        .await;
    admin.get(&format!("/users/{}", nina.id)).await.assert_contains("Sign in as this user");
    admin
        .post(&format!("/users/{}/impersonate", nina.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    admin.forget_csrf();
    let profile = admin.follow("/settings").await;
    profile.assert_contains("nina@example.com").assert_contains("You are signed in as <strong>Nina");
    admin.get("/users").await.assert_status(403);
    admin.get("/organization").await.assert_status(403);
    admin.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{}", nina.id));
    admin.forget_csrf();
    admin.get("/users").await.assert_status(200);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"impersonation.started".into()) && actions.contains(&"impersonation.stopped".into()));
    let _ = owner;
}

#[actix_web::test]
async fn nobody_signs_in_as_an_admin_or_the_owner_and_support_cannot_impersonate() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    let other_admin =
        app.create_user(UserSpec { email: "admin3@example.com", group: "admin", ..UserSpec::default() }).await;
    for id in [owner.id, other_admin.id] {
        admin
            .post(&format!("/users/{id}/impersonate"), &[("reason", "Checking what they see")])
            .await
            .assert_redirect_to(&format!("/users/{id}"));
        admin.get("/users").await.assert_status(200);
    }
    let (support, _) = app.signed_in("help@example.com", "support").await;
    let customer = app.create_user(UserSpec { email: "cu@example.com", ..UserSpec::default() }).await;
    support
        .post(&format!("/users/{}/impersonate", customer.id), &[("reason", "Checking what they see")])
        .await
        .assert_status(403);
}

#[actix_web::test]
async fn bulk_actions_apply_the_same_rules_to_each_selected_user() {
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in("admin2@example.com", "admin").await;
    let real_owner = app.create_owner().await;
    let a = app.create_user(UserSpec { email: "a@example.com", ..UserSpec::default() }).await;
    let b = app.create_user(UserSpec { email: "b@example.com", ..UserSpec::default() }).await;
    let (ids_a, ids_b, ids_o, ids_me) =
        (a.id.to_string(), b.id.to_string(), real_owner.id.to_string(), owner.id.to_string());
    let page = admin
        .post(
            "/users/bulk",
            &[
                ("ids", &ids_a),
                ("ids", &ids_b),
                ("ids", &ids_o),
                ("ids", &ids_me),
                ("action", "disable"),
                ("return_to", "/users?q=example"),
                ("confirm", "1"),
            ],
        )
        .await;
    page.assert_redirect_to("/users?q=example");
    let after = admin.get("/users?q=example").await;
    let (a_name, b_name) = (a.full_name(), b.full_name());
    after.assert_contains(&format!("Disabled {a_name} and {b_name}.")).assert_contains("Skipped");
    after.assert_contains(&real_owner.full_name()).assert_contains("Enable them");
    assert_eq!(app.user(a.id).await.status(), UserStatus::Disabled);
    assert_eq!(app.user(b.id).await.status(), UserStatus::Disabled);
    assert_eq!(app.user(real_owner.id).await.status(), UserStatus::Active, "the owner is skipped");
    assert_eq!(app.user(owner.id).await.status(), UserStatus::Active, "so is the actor");

    let regular = group_id(&app, "regular").await.to_string();
    let fields = [("ids", ids_a.as_str()), ("action", "change_group"), ("group_id", &regular), ("confirm", "1")];
    admin.post("/users/bulk", &fields).await;
    assert_eq!(app.user(a.id).await.group_id.to_string(), regular);
    let (_, towers) = account_with_buildings(&app, "Harbor", 1).await;
    let t = towers[0].to_string();
    admin
        .post(
            "/users/bulk",
            &[("ids", &ids_a), ("ids", &ids_b), ("action", "grant_building"), ("building_id", &t), ("confirm", "1")],
        )
        .await;
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, b.id).unwrap()).await;
    assert!(access.buildings.contains(&towers[0]));
    let (support, _) = app.signed_in("help@example.com", "support").await;
    support.post("/users/bulk", &[("ids", &ids_b), ("action", "delete")]).await.assert_status(403);
    assert_eq!(app.user(b.id).await.status(), UserStatus::Disabled);
}

async fn upload(browser: &Browser, csv: &str) -> Page {
    let token = browser.csrf_token().await;
    let boundary = "----concierge-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let response = browser
        .client
        .post(format!("{}/users/import?csrf_token={token}", browser.base))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Page { status, headers, body: response.text().await.unwrap() }
}

/// A preview writes nothing, so it does not wait for the turn to write: an administrator
/// previewing a file while someone else's change is being saved is answered at once.
#[actix_web::test]
async fn an_import_preview_does_not_wait_for_a_writer() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (holding, held) = tokio::sync::oneshot::channel::<()>();
    let db = app.db().clone();
    let writer = actix_web::rt::spawn(async move {
        db.transaction(move |_conn| {
            holding.send(()).ok();
            // Released by the test once the preview answered; else, after 20 s, by itself.
            Ok(released.recv_timeout(std::time::Duration::from_secs(20)).is_ok())
        })
        .await
    });
    held.await.expect("the writer began");
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let csv = format!("{header}\nann@example.com,Ann,Lee,+1 702 555 0100,Manager,Operations,Acme,Customer\n");
    upload(&admin, &csv).await.assert_status(200).assert_contains("Import 1 user");
    release.send(()).ok();
    assert!(writer.await.unwrap().unwrap(), "the preview waited until the writer gave up");
}

#[actix_web::test]
async fn import_csv_previews_every_row_and_writes_all_or_nothing() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    admin.get("/users/import").await.assert_status(200).assert_contains("enctype=\"multipart/form-data\"");
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let bad = format!(
        "{header}\nann@example.com,Ann,Lee,+1 702 555 0100,Manager,Operations,Acme,Customer\nnot-an-email,Bo,,123,Clerk,nope,,Nobody\nann@example.com,Ann,Again,+1 702 555 0100,Manager,operations,,Customer\n"
    );
    let preview = upload(&admin, &bad).await;
    preview
        .assert_status(422)
        .assert_contains("Enter an email address like")
        .assert_contains("no group is called")
        .assert_contains("appears twice in this file")
        .assert_contains("Nothing was imported");
    let count =
        || async { app.with_db(|c| concierge::db::schema::users::table.count().get_result::<i64>(c).unwrap()).await };
    assert_eq!(count().await, 1, "a preview writes nothing");
    admin.post("/users/import/confirm", &[("csv", &bad)]).await.assert_status(422);
    assert_eq!(count().await, 1, "all or nothing");

    let good = format!(
        "{header}\nann@example.com,Ann,Lee,+1 702 555 0100,Manager,Operations,Acme,Customer\nbo@example.com,Bo,Berg,+1 702 555 0101,Clerk,tenant,,Regular\n"
    );
    upload(&admin, &good).await.assert_status(200).assert_contains("Import 2 users");
    admin.post("/users/import/confirm", &[("csv", &good)]).await.assert_redirect_to("/users");
    assert_eq!(count().await, 3);
    let mails: i64 = app.with_db(|c| outbox::table.count().get_result(c).unwrap()).await;
    assert_eq!(mails, 2, "every imported user is invited");
    let (customer, _) = app.signed_in("cu@example.com", "customer").await;
    customer.get("/users/import").await.assert_status(403);
    customer.post("/users/import/confirm", &[("csv", &good)]).await.assert_status(403);
}

/// An imported user is invited as Add New User invites: the mail's link opens the set-up page
/// with what the file gave, the invite is listed, and the Audit log names the new user and who
/// imported them.
#[actix_web::test]
async fn an_imported_user_can_follow_their_invite_and_the_log_names_them() {
    use concierge::db::schema::audit_events as events;
    let app = spawn_app().await;
    let (admin, owner) = app.signed_in_owner().await;
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let csv = format!(
        "{header}\nann@example.com,Ann,Lee,+1 702 555 0100,Manager,Operations,Acme,Customer\nbo@example.com,Bo,Berg,+1 702 555 0101,Clerk,tenant,,Regular\n"
    );
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");
    let body: String = app
        .with_db(|c| {
            outbox::table.filter(outbox::to_address.eq("bo@example.com")).select(outbox::body_text).first(c).unwrap()
        })
        .await;
    let link = crate::smtp::link_path(&body, "/invite/");
    app.browser().get(&link).await.assert_status(200).assert_contains("bo@example.com").assert_contains("value=\"Bo\"");
    admin.get("/invites").await.assert_contains("bo@example.com").assert_contains("Queued");
    let logged: Vec<(String, String, String)> = app
        .with_db(|c| {
            events::table
                .filter(events::target_label.like("%bo@example.com%"))
                .order(events::id)
                .select((events::action, events::actor_label, events::target_label))
                .load(c)
                .unwrap()
        })
        .await;
    let by = concierge::db::audit::person_label(&owner.first_name, &owner.last_name, &owner.email);
    let bo = "Bo Berg (bo@example.com)".to_owned();
    assert_eq!(logged, [("user.created".into(), by.clone(), bo.clone()), ("invite.sent".into(), by, bo)]);
}

/// A file of as many rows as an import takes is written whole: every user with an id of their
/// own, an invite link and its mail, and both events in the log.
#[actix_web::test]
async fn an_import_of_the_most_rows_allowed_writes_every_user() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let mut csv = String::from("email,first_name,last_name,phone,title,job_function,company,group\n");
    for i in 0..concierge::ops::import::MAX_ROWS {
        csv.push_str(&format!("row.{i}@example.com,Ivy,Import {i},+1 702 555 0100,Clerk,tenant,Co,Customer\n"));
    }
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");
    let (users, links, mails, events) = app
        .with_db(|c| {
            use concierge::db::schema::{audit_events as e, users as u};
            let imported = u::table.filter(u::email.like("row.%"));
            let users: Vec<(i64, String, String)> =
                imported.order(u::id).select((u::id, u::email, u::last_name)).load(c).unwrap();
            // Each link is carried by a mail to its own user.
            let links: i64 = tokens::table
                .inner_join(outbox::table.on(outbox::id.nullable().eq(tokens::mail_id)))
                .filter(outbox::to_address.nullable().eq(tokens::email))
                .count()
                .get_result(c)
                .unwrap();
            let mails: i64 = outbox::table.count().get_result(c).unwrap();
            let events: i64 =
                e::table.filter(e::action.eq_any(["user.created", "invite.sent"])).count().get_result(c).unwrap();
            (users, links, mails, events)
        })
        .await;
    let max = concierge::ops::import::MAX_ROWS;
    assert_eq!(users.len(), max);
    for (id, email, last_name) in &users {
        let i = email.trim_start_matches("row.").trim_end_matches("@example.com");
        assert_eq!(last_name, &format!("Import {i}"), "user {id}");
    }
    assert_eq!((links, mails, events), (max as i64, max as i64, 2 * max as i64));
}

/// The write checks again what may have changed since the file was judged: an address taken
/// or a group deleted meanwhile refuses the whole file, and nothing of it is written.
#[actix_web::test]
async fn an_import_refuses_what_changed_after_it_was_judged() {
    use concierge::ops::{Actor, import};
    let app = spawn_app().await;
    app.create_owner().await;
    let night = app.custom_group("Night shift", &[]).await;
    let customer = app.builtin_group("customer").await;
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let row = |email: &str, group: &str| format!("{email},Ann,Lee,+1 702 555 0100,Manager,Operations,Acme,{group}\n");
    let file = |other: &str| format!("{header}\n{}{}", row("ann@example.com", "Customer"), row(other, "Night shift"));
    // What someone else changes between the judging and the write.
    type Change = Box<dyn Fn(&mut concierge::db::DbConnection) + Send>;
    let changes: [Change; 2] = [
        Box::new(move |c| {
            let bo = ("bo@example.com".into(), "Bo".into(), "B".into());
            let bo = concierge::db::users::NewUser::new(bo.0, bo.1, bo.2, customer, UserStatus::Active);
            concierge::db::users::insert(c, &bo).unwrap();
        }),
        Box::new(move |c| {
            diesel::delete(concierge::db::schema::groups::table.find(night)).execute(c).unwrap();
        }),
    ];
    let rounds =
        [(file("bo@example.com"), "bo@example.com exists already"), (file("cy@example.com"), "no longer exists")];
    for (change, (csv, expected)) in changes.into_iter().zip(rounds) {
        let outcome = app
            .with_db(move |c| {
                let owner = Actor::owner(c).unwrap();
                let ready = import::ready(c, &owner, "http://portal", &csv, true).unwrap();
                let ready = ready.ok().expect("every row is fine when judged");
                change(c);
                concierge::db::transaction(c, |c| import::write(c, &owner, ready))
            })
            .await;
        match outcome {
            Err(concierge::error::AppError::Unfit(message)) => assert!(message.contains(expected), "{message}"),
            Err(other) => panic!("{other:?}"),
            Ok(count) => panic!("{count} users were imported"),
        }
        let ann = app.with_db(|c| concierge::db::users::find_by_email(c, "ann@example.com").unwrap()).await;
        assert!(ann.is_none(), "nothing of the file is written");
        assert_eq!(app.with_db(|c| outbox::table.count().get_result::<i64>(c).unwrap()).await, 0);
        assert_eq!(app.with_db(|c| tokens::table.count().get_result::<i64>(c).unwrap()).await, 0);
    }
}

/// Every user's stored building count against the one definition (the `user_building_reach` view).
async fn building_counts(app: &TestApp) -> Vec<(i64, i64, i64)> {
    app.with_db(|conn| {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            stored: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            reach: i64,
        }
        diesel::sql_query(
            "SELECT u.id, CAST(u.building_count AS BIGINT) AS stored, CAST(r.building_count AS BIGINT) AS reach \
             FROM users u JOIN user_building_reach r ON r.user_id = u.id ORDER BY u.id",
        )
        .load::<Count>(conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.stored, c.reach))
        .collect()
    })
    .await
}

async fn assert_counts_kept(app: &TestApp, after: &str) {
    for (id, stored, reach) in building_counts(app).await {
        assert_eq!(stored, reach, "user {id}'s building count after {after}");
    }
}

#[actix_web::test]
async fn building_counts_follow_every_change_and_the_list_sorts_by_them() {
    use concierge::db::directory::REACHES_ALL;
    let app = spawn_app().await;
    let (browser, owner) = app.signed_in_owner().await;
    let (harbor, towers) = account_with_buildings(&app, "Harbor", 3).await;
    let (_, docks) = account_with_buildings(&app, "Docks", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", first_name: "Nina", ..UserSpec::default() }).await;
    let omar = app.create_user(UserSpec { email: "omar@example.com", first_name: "Omar", ..UserSpec::default() }).await;
    let rita = app
        .create_user(UserSpec {
            email: "rita@example.com",
            first_name: "Rita",
            group: "regular",
            ..UserSpec::default()
        })
        .await;
    assert_eq!(app.user(owner.id).await.building_count, REACHES_ALL, "an admin reaches every building");
    assert_eq!(app.user(nina.id).await.building_count, 0);

    // Direct grants and a whole-account grant that overlaps them are counted once.
    let (d0, t0, acct) = (docks[0].to_string(), towers[0].to_string(), harbor.to_string());
    browser
        .post(&format!("/users/{}/access", nina.id), &[("building", &d0), ("building", &t0), ("account", &acct)])
        .await;
    assert_eq!(app.user(nina.id).await.building_count, 4, "Harbor's three and one of the Docks");
    browser.post(&format!("/users/{}/access", omar.id), &[("building", &d0)]).await;
    assert_eq!(app.user(omar.id).await.building_count, 1);
    assert_counts_kept(&app, "grants").await;

    // A building added to Harbor reaches Nina through her whole-account grant; one deleted leaves.
    account_with_buildings(&app, "Empty", 0).await;
    app.with_db(move |conn| {
        let at = concierge::db::now();
        diesel::insert_into(buildings::table)
            .values((
                buildings::account_id.eq(harbor),
                buildings::name.eq("Harbor Annex"),
                buildings::city.eq("Reno"),
                buildings::created_at.eq(at),
                buildings::updated_at.eq(at),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_eq!(app.user(nina.id).await.building_count, 5);
    browser.post(&format!("/buildings/{}/delete", docks[0]), &[]).await;
    assert_eq!(app.user(nina.id).await.building_count, 4, "the deleted building is no longer reached");
    assert_eq!(app.user(omar.id).await.building_count, 0);
    assert_counts_kept(&app, "buildings added and deleted").await;

    // A group that reaches every building, given and taken away.
    let regular = group_id(&app, "regular").await;
    let add = |permission: &'static str| {
        app.with_db(move |conn| {
            diesel::insert_into(concierge::db::schema::group_permissions::table)
                .values((
                    concierge::db::schema::group_permissions::group_id.eq(regular),
                    concierge::db::schema::group_permissions::permission.eq(permission),
                ))
                .execute(conn)
                .unwrap();
        })
    };
    add("buildings.view_all").await;
    assert_eq!(app.user(rita.id).await.building_count, REACHES_ALL);
    app.with_db(move |conn| {
        use concierge::db::schema::group_permissions::dsl::*;
        diesel::delete(group_permissions.filter(group_id.eq(regular).and(permission.eq("buildings.view_all"))))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_eq!(app.user(rita.id).await.building_count, 0);

    // Moving Nina into a group that reaches everything, and back.
    let (admin, customer) = (group_id(&app, "admin").await.to_string(), group_id(&app, "customer").await.to_string());
    let ids = nina.id.to_string();
    let bulk = |group: String| {
        let (browser, ids) = (&browser, ids.clone());
        async move {
            let fields = [
                ("action", "change_group"),
                ("ids", &ids),
                ("group_id", &group),
                ("return_to", "/users"),
                ("confirm", "1"),
            ];
            browser.post("/users/bulk", &fields).await
        }
    };
    bulk(admin).await;
    assert_eq!(app.user(nina.id).await.building_count, REACHES_ALL);
    bulk(customer).await;
    assert_eq!(app.user(nina.id).await.building_count, 4);
    assert_counts_kept(&app, "group changes").await;

    // The list shows the counts and sorts by them, both ways, a page at a time.
    let page = browser.get("/users?sort=buildings&per_page=25").await;
    let order = |body: &str| ["Omar", "Rita", "Nina", "Olive"].map(|n| body.find(&format!("Select {n} ")).expect(n));
    let at = order(&page.body);
    assert!(
        at[0] < at[2] && at[1] < at[2] && at[2] < at[3],
        "fewest buildings first, admins last: {at:?}\n{}",
        page.body
    );
    assert!(page.body.contains("<td data-label=\"Buildings\">All</td>"));
    let page = browser.get("/users?sort=buildings&dir=desc&per_page=25").await;
    let at = order(&page.body);
    assert!(at[3] < at[2] && at[2] < at[0], "most buildings first");
    // A tampered cursor is a bad request answered with the first page, not a database error.
    browser.get("/users?sort=buildings&after=3%1Fmany").await.assert_status(200);

    // Deleting the account takes its buildings, and the grants on them, out of every count.
    browser.post(&format!("/accounts/{harbor}/delete"), &[]).await;
    assert_eq!(app.user(nina.id).await.building_count, 0);
    assert_counts_kept(&app, "an account deleted").await;
}

#[actix_web::test]
async fn with_many_buildings_property_access_lists_grants_and_a_search_and_saving_keeps_the_rest() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let (_, towers) = account_with_buildings(&app, "Harbor", 200).await;
    let (docks_account, docks) = account_with_buildings(&app, "Docks", 150).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let path = format!("/users/{}/access", nina.id);
    let (t0, t1) = (towers[0].to_string(), towers[1].to_string());
    browser.post(&path, &[("building", &t0), ("building", &t1)]).await;

    // Add New User offers the two accounts whole, not 350 checkboxes.
    let page = browser.get("/users/new").await;
    page.assert_status(200).assert_contains("too many buildings to list here");
    assert_eq!(page.body.matches("name=\"building\"").count(), 0);
    assert_eq!(page.body.matches("name=\"account\"").count(), 2);

    // The page lists her two buildings, not all 350.
    let page = browser.get(&format!("/users/{}", nina.id)).await;
    page.assert_status(200).assert_contains("Find buildings or accounts to grant");
    assert_eq!(page.body.matches("name=\"building\"").count(), 2, "only her grants are listed");
    assert!(!page.body.contains("all_buildings"), "no \"select all\" that would grant buildings not listed");

    // A search lists the Docks; granting one of them keeps her Harbor grants, which the form
    // showed, and the whole Docks account is offered too.
    let page = browser.get(&format!("/users/{}?buildings_q=docks+tower+1", nina.id)).await;
    assert!(page.body.contains(&format!("value=\"{docks_account}\"")), "the Docks account is offered");
    let listed = page.body.matches("name=\"building\"").count();
    assert!(listed > 2 && listed <= 52, "her two and up to fifty found: {listed}");
    let shown_buildings = hidden_value(&page.body, "shown_buildings");
    let shown_accounts = hidden_value(&page.body, "shown_accounts");
    let d1 = docks[1].to_string();
    browser
        .post(
            &path,
            &[
                ("shown_buildings", &shown_buildings),
                ("shown_accounts", &shown_accounts),
                ("building", &t0),
                ("building", &d1),
            ],
        )
        .await;
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert_eq!(access.buildings.into_iter().collect::<Vec<_>>(), vec![towers[0], docks[1]], "t1 unchecked, d1 added");

    // Saving a form that showed only the Docks leaves the Harbor grant alone.
    let only = docks.iter().take(5).map(i64::to_string).collect::<Vec<_>>().join(",");
    browser.post(&path, &[("shown_buildings", &only), ("shown_accounts", "")]).await;
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert_eq!(access.buildings.into_iter().collect::<Vec<_>>(), vec![towers[0]], "only what was shown changed");
}

fn hidden_value(body: &str, name: &str) -> String {
    let start = body.find(&format!("name=\"{name}\" value=\"")).expect(name) + name.len() + 15;
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// How many indexes the users table has on SQLite (0 on PostgreSQL).
async fn sqlite_user_indexes(app: &TestApp) -> i64 {
    app.with_db(|conn| {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        match conn {
            concierge::db::DbConnection::Sqlite(_) => {
                diesel::sql_query("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'")
                    .get_result::<N>(conn)
                    .unwrap()
                    .n
            }
            concierge::db::DbConnection::Postgresql(_) => 0,
        }
    })
    .await
}

#[actix_web::test]
async fn seed_demo_fills_a_fresh_database_keeps_every_index_and_count_and_adds_more() {
    let app = spawn_app().await;
    let before = sqlite_user_indexes(&app).await;
    let hash = bcrypt::hash("demo", 4).unwrap();
    let h = hash.clone();
    let seeded = app.with_db(move |conn| concierge::seed::seed(conn, 2_000, 60, 3_000, &h, false).unwrap()).await;
    assert_eq!((seeded.users, seeded.events), (2_000, 3_000));
    assert_eq!(sqlite_user_indexes(&app).await, before, "every index of users is back");
    assert_counts_kept(&app, "the seed").await;
    let h = hash.clone();
    let again = app.with_db(move |conn| concierge::seed::seed(conn, 10, 0, 0, &h, false).is_err()).await;
    assert!(again, "a second seed needs --force");
    app.with_db(move |conn| concierge::seed::seed(conn, 10, 0, 0, &hash, true).unwrap()).await;
    let total = app.with_db(|conn| concierge::db::schema::users::table.count().get_result::<i64>(conn).unwrap()).await;
    assert_eq!(total, 2_010, "ten more, added row by row");
    assert_counts_kept(&app, "a second seed").await;
    let demo = user_by_email(&app, "admin@demo.example").await;
    assert_eq!(demo.building_count, concierge::db::directory::REACHES_ALL);
    // The list and a search work on what was seeded.
    let (browser, _) = app.signed_in("lead@example.com", "admin").await;
    browser.get("/users?q=novak").await.assert_status(200).assert_contains("Novak");
    // So do the audit log's pages, on seeded events of every kind.
    for path in ["/audit", "/audit?category=sign_ins", "/audit?category=users&impersonated=1", "/audit?before=1500"] {
        let page = browser.get(path).await;
        page.assert_status(200);
        assert!(page.body.matches("data-label=\"What happened\"").count() > 0, "{path}");
    }
}

/// The "Quill NN" names on a page, in the order they appear (each once).
fn quills(page: &Page) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (at, _) in page.body.match_indices("Quill ") {
        let name = page.body[at..at + 8].to_owned();
        if names.last() != Some(&name) && name[6..].chars().all(|c| c.is_ascii_digit()) {
            names.push(name);
        }
    }
    names
}

/// The addresses of the listed users whose email ends in @example.com, up to the @, in order.
fn emails(page: &Page) -> Vec<String> {
    page.body
        .split("<td class=\"nowrap\" data-label=\"Email\">")
        .skip(1)
        .filter_map(|cell| cell.split_once("example.com</td>").map(|(address, _)| address.to_owned()))
        .filter(|address| address.ends_with('@') && !address.contains('<'))
        .collect()
}

fn link(page: &Page, rel: &str) -> String {
    let marker = format!("rel=\"{rel}\"");
    let before = page.body.split(&marker).next().unwrap();
    before.rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&")
}

#[actix_web::test]
async fn a_word_of_one_or_two_letters_is_found_at_the_beginning_of_a_word() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let rows = [
        "wei@example.com,Wei,Li,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "mia@example.com,Mia,Lindqvist,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "liv.north@example.com,Olivia,North,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "julia@example.com,Julia,Baker,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "ola@example.com,Ola,Berg,+1 702 555 0100,Clerk,tenant,Lime & Co,Customer",
    ];
    let csv = format!("{header}\n{}", rows.join("\n"));
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");
    // Li, Lindqvist, Liv's email and Lime & Co; not Julia or Olivia, with "li" inside a word.
    for sort in ["name", "email", "company", "last_sign_in", "group"] {
        let page = admin.get(&format!("/users?q=LI&sort={sort}")).await;
        for found in ["wei@", "mia@", "liv.north@", "ola@"] {
            page.assert_contains(found);
        }
        assert!(!page.body.contains("julia@"), "by {sort}");
        let page = admin.get(&format!("/users?q=wei+li&sort={sort}")).await;
        assert!(page.body.contains("wei@") && !page.body.contains("mia@"), "by {sort}");
    }
    // Three letters or more are found anywhere.
    admin.get("/users?q=uli").await.assert_contains("julia@");
    admin.get("/users?q=ivi").await.assert_contains("Olivia");
}

#[actix_web::test]
async fn a_search_filtered_by_group_or_status_follows_every_change_of_them() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let rows = [
        "ann@example.com,Ann,Quill,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "bo@example.com,Bo,Quill,+1 702 555 0100,Clerk,tenant,Harbor,Regular",
        "cy@example.com,Cy,Quill,+1 702 555 0100,Clerk,tenant,Lime & Co,Customer",
        "dee@example.com,Dee,Aquila,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
    ];
    let csv = format!("{header}\n{}", rows.join("\n"));
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");
    let (customer, regular) = (group_id(&app, "customer").await, group_id(&app, "regular").await);
    let found = |page: &Page| -> Vec<String> {
        let mut found = emails(page);
        found.retain(|e| ["ann@", "bo@", "cy@", "dee@"].contains(&e.as_str()));
        found.sort();
        found
    };
    let sorts = ["name", "email", "company", "last_sign_in", "group", "status", "buildings"];
    for sort in sorts {
        let page = admin.get(&format!("/users?q=quill&group={customer}&sort={sort}")).await;
        assert_eq!(found(&page), ["ann@", "cy@"], "by {sort}");
        // One letter, at a word's beginning: Quill, not Aquila.
        let page = admin.get(&format!("/users?q=Q&group={customer}&sort={sort}&dir=desc")).await;
        assert_eq!(found(&page), ["ann@", "cy@"], "one letter, by {sort}");
        let page = admin.get(&format!("/users?q=quill&group={regular}&status=invited&sort={sort}")).await;
        assert_eq!(found(&page), ["bo@"], "by {sort}");
    }
    // Ann moves to Regular, then is disabled; Cy is deleted.
    let ann = user_by_email(&app, "ann@example.com").await.id.to_string();
    let group = regular.to_string();
    admin
        .post("/users/bulk", &[("ids", &ann), ("action", "change_group"), ("group_id", &group), ("confirm", "1")])
        .await;
    admin.post(&format!("/users/{ann}/disable"), &[]).await;
    let cy = user_by_email(&app, "cy@example.com").await.id;
    admin.post(&format!("/users/{cy}/delete"), &[]).await;
    for sort in sorts {
        let page = admin.get(&format!("/users?q=quill&group={regular}&show_disabled=1&sort={sort}")).await;
        assert_eq!(found(&page), ["ann@", "bo@"], "by {sort}");
        let page = admin.get(&format!("/users?q=quill&group={customer}&show_disabled=1&sort={sort}")).await;
        assert_eq!(found(&page), ["cy@"], "by {sort}");
        let page = admin.get(&format!("/users?q=q&status=disabled&sort={sort}")).await;
        assert_eq!(found(&page), ["ann@"], "by {sort}");
        let page = admin.get(&format!("/users?q=quill&status=deleted&group={customer}&sort={sort}")).await;
        assert_eq!(found(&page), ["cy@"], "by {sort}");
        let page = admin.get(&format!("/users?q=quill&status=invited&sort={sort}")).await;
        assert_eq!(found(&page), ["bo@"], "by {sort}");
    }
}

#[actix_web::test]
async fn a_search_sorted_by_name_pages_in_name_order_however_users_were_added_and_renamed() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    // Added in reverse name order, each just before the one before it.
    let header = "email,first_name,last_name,phone,title,job_function,company,group";
    let mut csv = String::from(header);
    for i in (0..45).rev() {
        csv += &format!("\nquill{i:02}@example.com,Ann,Quill {i:02},+1 702 555 0100,Clerk,tenant,,Customer");
    }
    csv += "\nquill-twin@example.com,Ann,Quill 07,+1 702 555 0100,Clerk,tenant,,Customer";
    admin.post("/users/import/confirm", &[("csv", &csv)]).await.assert_redirect_to("/users");

    let expected: Vec<String> = (0..45).map(|i| format!("Quill {i:02}")).collect();
    let first = admin.get("/users?q=quill&per_page=25").await;
    let mut seen = quills(&first);
    let second = admin.get(&link(&first, "next")).await;
    seen.extend(quills(&second));
    assert_eq!(seen, expected, "ascending, across two pages (the two Quill 07s read as one)");
    let (older, twin) = (first.body.find("quill07@").unwrap(), first.body.find("quill-twin@").unwrap());
    assert!(older < twin, "the same name, in the order they were added");
    assert_eq!(quills(&admin.get(&link(&second, "prev")).await), quills(&first), "back to the first page");
    let down = admin.get("/users?q=quill&per_page=25&dir=desc").await;
    let reversed: Vec<String> = expected.iter().rev().take(25).cloned().collect();
    assert_eq!(quills(&down), reversed, "descending");
    // Sorted by email (added in reverse email order too), the same across pages and back.
    let mut addresses: Vec<String> = (0..45).map(|i| format!("quill{i:02}@")).collect();
    addresses.insert(0, "quill-twin@".to_owned());
    let by_email = admin.get("/users?q=quill&sort=email&per_page=25").await;
    let next = admin.get(&link(&by_email, "next")).await;
    assert_eq!([emails(&by_email), emails(&next)].concat(), addresses, "by email, across two pages");
    assert_eq!(emails(&admin.get(&link(&next, "prev")).await), emails(&by_email), "back to the first page");
    let down = admin.get("/users?q=quill&sort=email&dir=desc&per_page=25").await;
    assert_eq!(emails(&down), addresses.iter().rev().take(25).cloned().collect::<Vec<_>>(), "by email, descending");
    // Every word is found, in any order; a word shorter than three letters too.
    assert_eq!(quills(&admin.get("/users?q=ANN+quill&per_page=25").await), quills(&first));
    assert_eq!(quills(&admin.get("/users?q=07+QUILL").await), vec!["Quill 07".to_owned()]);

    // A rename moves the user, made by the portal or outside it.
    let moved = user_by_email(&app, "quill00@example.com").await.id;
    app.with_db(move |conn| {
        concierge::db::transaction(conn, |conn| {
            diesel::update(concierge::db::schema::users::table.find(moved))
                .set(concierge::db::schema::users::last_name.eq("Quill 99"))
                .execute(conn)?;
            Ok(())
        })
        .unwrap()
    })
    .await;
    let down = admin.get("/users?q=quill&per_page=25&dir=desc").await;
    assert_eq!(quills(&down)[0], "Quill 99");

    // A new email is found, the old one no longer.
    app.with_db(move |conn| {
        diesel::update(concierge::db::schema::users::table.find(moved))
            .set(concierge::db::schema::users::email.eq("feather@example.com"))
            .execute(conn)
            .unwrap()
    })
    .await;
    admin.get("/users?q=feather").await.assert_contains("Quill 99");
    assert!(!admin.get("/users?q=quill00").await.body.contains("Quill 99"));
    // Sorted by email too: between "Ann Quill" addresses, the first of them.
    admin.get("/users?q=feather&sort=email").await.assert_contains("Quill 99");
    let by_email = admin.get("/users?q=ann&sort=email&per_page=100").await;
    assert_eq!(emails(&by_email)[0], "feather@");
    assert!(!admin.get("/users?q=quill00&sort=email").await.body.contains("Quill 99"));
}

#[actix_web::test]
async fn granting_a_building_to_selected_users_picks_it_on_a_page_of_its_own() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in("admin2@example.com", "admin").await;
    let a = app.create_user(UserSpec { email: "a@example.com", first_name: "Ann", ..UserSpec::default() }).await;
    let b = app.create_user(UserSpec { email: "b@example.com", first_name: "Bo", ..UserSpec::default() }).await;
    account_with_buildings(&app, "Harbor", 60).await;
    let (_, cedar) = account_with_buildings(&app, "Cedar", 2).await;
    let list = admin.get("/users").await;
    list.assert_contains("Grant a building");
    assert!(!list.body.contains("Harbor Tower"), "the list carries no building picker");

    let (ids_a, ids_b) = (a.id.to_string(), b.id.to_string());
    let chosen = [("ids", ids_a.as_str()), ("ids", ids_b.as_str()), ("return_to", "/users?q=example")];
    let to_pick = admin.post("/users/bulk", &[&chosen[..], &[("action", "grant_building")]].concat()).await;
    let picker = to_pick.location().expect("sent on to pick the building").to_owned();
    assert!(picker.starts_with("/users/bulk?"));
    let page = admin.get(&picker).await;
    page.assert_status(200).assert_contains("Grant a building").assert_contains("Ann").assert_contains("Bo ");
    page.assert_contains("the first 50");
    assert!(!page.body.contains("Harbor Tower 9 "), "at most 50 listed, by account and name");
    let found = admin.get(&format!("{picker}&q=harbor+tower+9")).await;
    found.assert_contains("Harbor Tower 9 ");
    assert!(!found.body.contains("Cedar Tower"));
    admin.get(&format!("{picker}&q=nowhere")).await.assert_contains("No building matches");

    let c = cedar[1].to_string();
    admin
        .post(
            "/users/bulk",
            &[&chosen[..], &[("action", "grant_building"), ("building_id", &c), ("confirm", "1")]].concat(),
        )
        .await
        .assert_redirect_to("/users?q=example");
    for id in [a.id, b.id] {
        let access = app.with_db(move |conn| concierge::db::user_access::of_user(conn, id).unwrap()).await;
        assert_eq!(access.buildings.into_iter().collect::<Vec<_>>(), vec![cedar[1]]);
    }
    let revoke = admin.post("/users/bulk", &[&chosen[..], &[("action", "revoke_building")]].concat()).await;
    admin.get(revoke.location().unwrap()).await.assert_contains("Revoke a building");
    let revoke = [("action", "revoke_building"), ("building_id", &c), ("confirm", "1")];
    admin.post("/users/bulk", &[&chosen[..], &revoke].concat()).await;
    let access = app.with_db(move |conn| concierge::db::user_access::of_user(conn, a.id).unwrap()).await;
    assert!(access.buildings.is_empty());

    // Nothing selected, or no building action: back to the list with a message.
    admin.get("/users/bulk?action=grant_building").await.assert_redirect_to("/users");
    let (viewer, _) = app.signed_in("ro@example.com", "read_only").await;
    viewer.get(&picker).await.assert_status(403);
}

#[actix_web::test]
async fn import_users_on_the_command_line_follows_the_same_rules_all_or_nothing() {
    let app = spawn_app().await;
    app.create_owner().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    let run = |file: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
            .args(["import-users", file.to_str().unwrap()])
            .env("DATABASE_URL", &app.config.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let header = "email,first_name,last_name,phone,title,job_function,company,group\n";
    let good = "cli@example.com,Cleo,Line,+1 702 555 0101,Manager,operations,Acme,Customer\n";
    std::fs::write(
        &file,
        format!("{header}{good}owner@example.com,Dup,Licate,+1 702 555 0102,X,operations,,Customer\n"),
    )
    .unwrap();
    let refused = run(file.clone());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("line 3"), "{refused:?}");
    let none = app.with_db(|c| concierge::db::users::find_by_email(c, "cli@example.com").unwrap()).await;
    assert!(none.is_none(), "nothing is written when a row is refused");

    std::fs::write(&file, format!("{header}{good}")).unwrap();
    let done = run(file);
    assert!(done.status.success(), "{done:?}");
    let cleo = user_by_email(&app, "cli@example.com").await;
    assert_eq!(cleo.status(), UserStatus::Invited);
    let invited: i64 =
        app.with_db(move |c| tokens::table.filter(tokens::user_id.eq(cleo.id)).count().get_result(c).unwrap()).await;
    assert_eq!(invited, 1, "an invitation is queued for the serving process to deliver");
}

#[actix_web::test]
async fn property_access_shows_what_is_granted_first_and_a_whole_accounts_buildings_ticked_and_locked() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let (harbor, towers) = account_with_buildings(&app, "Harbor", 3).await;
    let (_, docks) = account_with_buildings(&app, "Docks", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let path = format!("/users/{}/access", nina.id);
    let (account, d1) = (harbor.to_string(), docks[1].to_string());
    browser.post(&path, &[("account", &account), ("building", &d1)]).await.assert_status(303);

    let page = browser.get(&format!("/users/{}", nina.id)).await;
    page.assert_contains("Granted: the whole of Harbor (3 buildings, and any added later) and 1 more building.");
    for tower in &towers {
        assert!(
            page.body.contains(&format!("value=\"{tower}\" data-in-account=\"{harbor}\" checked disabled>")),
            "Harbor's buildings are ticked and locked:\n{}",
            page.body
        );
    }
    page.assert_contains("Its 3 buildings, covered");
    let at = |text: &str| page.body.find(text).unwrap_or_else(|| panic!("{text}"));
    assert!(at("Docks Tower 1") < at("Grant more buildings"), "what is granted comes first");
    assert!(at("Grant more buildings") < at("Docks Tower 0"), "the rest waits under Grant more");

    // Saving the form untouched changes nothing: the locked boxes are not sent, the account is.
    let form = page.form(&path);
    form.submit(&browser).await.assert_status(303);
    let access = app.access_of(nina.id).await;
    assert_eq!(access.accounts.iter().copied().collect::<Vec<_>>(), vec![harbor]);
    assert_eq!(access.buildings.iter().copied().collect::<Vec<_>>(), vec![docks[1]]);

    // Unticking the whole account takes its buildings with it.
    page.form(&path).without("account").submit(&browser).await.assert_status(303);
    let access = app.access_of(nina.id).await;
    assert!(access.accounts.is_empty());
    assert_eq!(access.buildings.iter().copied().collect::<Vec<_>>(), vec![docks[1]]);
    browser.get(&format!("/users/{}", nina.id)).await.assert_contains("Granted: 1 building.");
}

#[actix_web::test]
async fn a_search_on_a_users_page_works_with_few_buildings_and_saving_keeps_what_it_did_not_list() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let (harbor, _) = account_with_buildings(&app, "Harbor", 3).await;
    let (_, docks) = account_with_buildings(&app, "Docks", 2).await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", ..UserSpec::default() }).await;
    let path = format!("/users/{}/access", nina.id);
    browser.post(&path, &[("account", &harbor.to_string())]).await.assert_status(303);

    let page = browser.get(&format!("/users/{}?buildings_q=docks+tower+0", nina.id)).await;
    page.assert_status(200).assert_contains("Docks Tower 0").assert_contains("<details class=\"grant-more\" open>");
    assert!(!page.body.contains("Docks Tower 1"), "only what matches is offered");
    assert!(!page.body.contains("all_buildings"), "no \"select all\" over a partial list");
    let form = page.form(&path);
    assert_eq!(form.get("buildings_q"), None, "the search box belongs to the search, not to the save");
    form.add("building", &docks[0].to_string()).submit(&browser).await.assert_status(303);
    let access = app.access_of(nina.id).await;
    assert_eq!(access.accounts.iter().copied().collect::<Vec<_>>(), vec![harbor], "the whole account is kept");
    assert_eq!(access.buildings.iter().copied().collect::<Vec<_>>(), vec![docks[0]]);
}

#[actix_web::test]
async fn add_new_user_sent_back_keeps_the_subject_and_shows_the_chosen_buildings_first() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in_owner().await;
    let (_, towers) = account_with_buildings(&app, "Harbor", 3).await;
    let page = browser.get("/users/new").await;
    page.assert_contains("Nothing granted yet.").assert_contains("<details class=\"grant-more\">");
    page.assert_contains("Choose buildings");
    let regular = group_id(&app, "regular").await.to_string();
    let mut form = page.form("/users/new").add("building", &towers[2].to_string()).set("subject", "Your keys");
    for (name, value) in new_user_form(&regular, "not an address") {
        form = form.set(&name, &value);
    }
    let again = form.submit(&browser).await;
    again.assert_status(422).assert_contains("Granted: 1 building.");
    assert!(again.body.contains("value=\"Your keys\""), "the subject is kept:\n{}", again.body);
    let at = |text: &str| again.body.find(text).unwrap_or_else(|| panic!("{text}"));
    assert!(at("Harbor Tower 2") < at("Grant more buildings") && at("Grant more buildings") < at("Harbor Tower 0"));
    let resent = again.form("/users/new").set("email", "nina@example.com");
    assert_eq!(resent.get("subject"), Some("Your keys"));
    resent.submit(&browser).await.assert_status(303);
    let nina = app.with_db(|c| concierge::db::users::find_by_email(c, "nina@example.com").unwrap().unwrap()).await;
    assert_eq!(app.access_of(nina.id).await.buildings.into_iter().collect::<Vec<_>>(), vec![towers[2]]);
}

#[actix_web::test]
async fn the_list_shows_the_last_sign_in_whatever_date_style_the_database_speaks() {
    // PostgreSQL writes timestamps as text in its session's DateStyle; the list must not depend
    // on it. (On SQLite the option is not added: there is nothing to vary.)
    let app = spawn_app_with(|config| {
        if config.database_url.starts_with("postgres") {
            config.database_url.push_str("?options=-c%20datestyle%3DSQL%2CDMY");
        }
    })
    .await;
    let (admin, _) = app.signed_in_owner().await;
    let (_, uma) = app.signed_in("uma@example.com", "customer").await;
    assert!(app.user(uma.id).await.last_sign_in_at.is_some(), "the sign-in is recorded");
    let list = admin.get("/users?q=uma").await;
    let cell = list.body.split("data-label=\"Last sign-in\">").nth(1).expect("a row").split('<').next().unwrap();
    let year = concierge::db::now().format("%Y").to_string();
    assert!(cell.contains(&year), "the date of the sign-in, not \"{cell}\"");
}

#[actix_web::test]
async fn a_change_of_group_or_job_function_is_recorded_by_name_not_by_key() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let ivy = app.create_user(UserSpec { email: "ivy@example.com", group: "regular", ..UserSpec::default() }).await;
    let support = group_id(&app, "support").await.to_string();
    let edit = admin.get(&format!("/users/{}/edit", ivy.id)).await;
    let form = edit.form(&format!("/users/{}", ivy.id)).set("group_id", &support).set("job_function", "leasing");
    form.submit(&admin).await.assert_redirect_to(&format!("/users/{}", ivy.id));
    let page = admin.get(&format!("/users/{}", ivy.id)).await;
    page.assert_contains("Group: Regular → Support").assert_contains("→ Leasing");
    let (_, _, details) = app
        .with_db(|c| {
            use concierge::db::schema::audit_events as e;
            e::table
                .filter(e::action.eq("user.updated"))
                .select((e::id, e::action, e::details))
                .first::<(i64, String, String)>(c)
                .unwrap()
        })
        .await;
    assert!(details.contains("\"Group\":\"Support\""), "{details}");
}

#[actix_web::test]
async fn the_list_finds_who_never_signed_in_who_left_an_invitation_and_who_is_dormant() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let now = concierge::db::now();
    let mut ids = Vec::new();
    for (email, status, created_days_ago, signed_in_days_ago) in [
        ("fresh@example.com", UserStatus::Active, 0, None),
        ("late@example.com", UserStatus::Invited, 100, None),
        ("soon@example.com", UserStatus::Invited, 0, None),
        ("idle@example.com", UserStatus::Active, 300, Some(200)),
        ("recent@example.com", UserStatus::Active, 300, Some(1)),
    ] {
        let user = app.create_user(UserSpec { email, status, ..UserSpec::default() }).await;
        app.with_db(move |c| {
            use concierge::db::schema::users as u;
            let created = now - chrono::Duration::days(created_days_ago);
            let signed_in = signed_in_days_ago.map(|d| now - chrono::Duration::days(d));
            diesel::update(u::table.find(user.id))
                .set((u::created_at.eq(created), u::last_sign_in_at.eq(signed_in)))
                .execute(c)
                .unwrap();
        })
        .await;
        ids.push(user.id);
    }
    let listed = |body: &str| -> Vec<&'static str> {
        ["fresh", "late", "soon", "idle", "recent", "owner"]
            .into_iter()
            .filter(|name| body.contains(&format!(">{name}@example.com<")))
            .collect()
    };
    let page = admin.get("/users?activity=never_signed_in").await;
    page.assert_status(200);
    assert_eq!(listed(&page.body), ["fresh", "late", "soon"]);
    let page = admin.get("/users?activity=invitation_unanswered").await;
    page.assert_status(200);
    assert_eq!(listed(&page.body), ["late"]);
    let page = admin.get("/users?activity=dormant").await;
    page.assert_status(200);
    assert_eq!(listed(&page.body), ["idle"], "90 days by default");
    assert!(page.body.contains("value=\"dormant\" selected"));
    // The organization says what "a while" is: at 250 days, nobody here is dormant yet.
    let org = admin.get("/organization").await;
    org.form("/organization").set("dormant_days", "250").submit(&admin).await.assert_status(303);
    assert!(listed(&admin.get("/users?activity=dormant").await.body).is_empty());
    // Nonsense is no filter at all.
    let page = admin.get("/users?activity=%00bogus").await;
    page.assert_status(200);
    assert_eq!(listed(&page.body).len(), 6);

    // The invitation left unanswered is revoked from the list; a user without one is skipped.
    let (late, recent) = (ids[1].to_string(), ids[4].to_string());
    admin.post(&format!("/users/{late}/resend-invite"), &[]).await.assert_status(303);
    let fields =
        [("action", "revoke_invite"), ("ids", late.as_str()), ("ids", recent.as_str()), ("return_to", "/users")];
    admin.post("/users/bulk", &fields).await.assert_redirect_to("/users");
    admin.get("/users").await.assert_contains("Revoked the invitations of");
    let invites = admin.get(&format!("/users/{late}")).await;
    assert!(!invites.body.contains(">Open<"), "no open invitation is left");
    assert!(app.audit_actions().await.contains(&"invite.revoked".into()));
}
