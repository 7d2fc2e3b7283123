//! First run, the request pipeline, headers, error pages.

use concierge::db::tokens::{self, NewToken, Purpose};
use concierge::domain::UserStatus;

use crate::helpers::*;

async fn setup_link(app: &TestApp) -> String {
    let link = app
        .with_db(|conn| concierge::owner::setup_link(conn, "http://127.0.0.1").unwrap().expect("no owner yet"))
        .await;
    link.trim_start_matches("http://127.0.0.1").to_owned()
}

fn owner_form<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("first_name", "Olive"),
        ("last_name", "Owner"),
        ("email", "Olive@Example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ]
}

#[actix_web::test]
async fn the_setup_link_makes_the_owner_once_and_signs_them_in() {
    let app = spawn_app().await;
    let path = setup_link(&app).await;
    let browser = app.browser();
    browser.get(&path).await.assert_status(200).assert_contains("Create owner account");
    browser.post(&path, &owner_form()).await.assert_redirect_to("/settings");
    browser.follow("/settings").await.assert_status(200).assert_contains("olive@example.com").assert_contains("Owner");

    let again = app.browser();
    again.get(&path).await.assert_status(410).assert_contains("already used");
    again.post(&path, &owner_form()).await.assert_status(410);
    assert!(app.audit_actions().await.contains(&"owner.created".to_owned()));
}

#[actix_web::test]
async fn an_expired_setup_link_is_refused() {
    let app = spawn_app().await;
    let path = app
        .with_db(|conn| {
            let (_, secret) = tokens::issue(
                conn,
                NewToken {
                    purpose: Purpose::OwnerSetup,
                    user_id: None,
                    email: None,
                    details: serde_json::json!({}),
                    created_by: None,
                    ttl: chrono::Duration::seconds(-1),
                },
            )
            .unwrap();
            format!("/setup/{secret}")
        })
        .await;
    let browser = app.browser();
    browser.get(&path).await.assert_status(410).assert_contains("expired");
    browser.post(&path, &owner_form()).await.assert_status(410);
}

#[actix_web::test]
async fn a_newer_setup_link_supersedes_the_older_one() {
    let app = spawn_app().await;
    let first = setup_link(&app).await;
    let second = setup_link(&app).await;
    let browser = app.browser();
    browser.get(&first).await.assert_status(410).assert_contains("newer setup link");
    browser.get(&second).await.assert_status(200);
}

#[actix_web::test]
async fn a_made_up_setup_link_is_not_found() {
    let app = spawn_app().await;
    app.browser().get(&format!("/setup/{}", "ab".repeat(32))).await.assert_status(404);
    app.browser().get("/setup/short").await.assert_status(404);
}

#[actix_web::test]
async fn setup_keeps_what_was_typed_and_explains_each_mistake() {
    let app = spawn_app().await;
    let path = setup_link(&app).await;
    let browser = app.browser();
    browser.get(&path).await;
    let page = browser
        .post(
            &path,
            &[
                ("first_name", "Olive"),
                ("last_name", ""),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    page.assert_status(422)
        .assert_contains("value=\"Olive\"")
        .assert_contains("value=\"not-an-email\"")
        .assert_contains("Enter an email address like")
        .assert_contains("Use at least 12 characters")
        .assert_contains("This is required");
    let owner = app.with_db(|conn| concierge::db::users::owner_exists(conn).unwrap()).await;
    assert!(!owner, "nothing was written");
}

#[actix_web::test]
async fn a_form_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let path = setup_link(&app).await;
    let browser = app.browser();
    browser.get(&path).await;
    let mut fields = owner_form();
    browser.post_raw(&path, &fields).await.assert_status(403).assert_contains("This form has expired");
    fields.push(("csrf_token", "0000"));
    browser.post_raw(&path, &fields).await.assert_status(403);
    let owner = app.with_db(|conn| concierge::db::users::owner_exists(conn).unwrap()).await;
    assert!(!owner);
    // A token from another session is no better.
    let other = app.browser();
    let foreign = other.csrf_token().await;
    fields.pop();
    fields.push(("csrf_token", &foreign));
    browser.post_raw(&path, &fields).await.assert_status(403);
}

#[actix_web::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/sign-in", "/healthz", "/no-such-page", "/static/app.css"] {
        let page = app.browser().get(path).await;
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(page.header("referrer-policy"), Some("same-origin"), "{path}");
    }
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = spawn_app().await;
    let page = app.browser().get("/sign-in").await;
    let cookie = page.header("set-cookie").expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
}

#[actix_web::test]
async fn an_unknown_page_gets_the_not_found_page() {
    let app = spawn_app().await;
    app.browser().get("/no-such-page").await.assert_status(404).assert_contains("Page not found");
}

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    app.browser().get("/healthz").await.assert_status(200);
    app.browser().get("/readyz").await.assert_status(200);
}

#[actix_web::test]
async fn a_protected_page_sends_a_visitor_to_sign_in_and_back() {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let browser = app.browser();
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
    browser.get("/sign-in?next=/profile").await;
    browser
        .post("/sign-in", &[("email", &owner.email), ("password", PASSWORD), ("next", "/profile")])
        .await
        .assert_redirect_to("/profile");
}

#[actix_web::test]
async fn the_database_file_unreadable_gives_a_503_page_and_the_portal_recovers() {
    let app = spawn_app().await;
    if app.database.is_postgres() {
        return; // The PostgreSQL outage is covered by the fault tests, which stop the server.
    }
    let (browser, _) = app.signed_in_owner().await;
    browser.get("/profile").await.assert_status(200);
    let file = app.database.url.trim_start_matches("sqlite://").to_owned();
    // Overwrite the files in place (open connections keep their handles), so that every
    // connection finds something that is not a database.
    let parts = [file.clone(), format!("{file}-wal"), format!("{file}-shm")];
    let originals: Vec<Option<Vec<u8>>> = parts.iter().map(|p| std::fs::read(p).ok()).collect();
    for (path, original) in parts.iter().zip(&originals) {
        if let Some(bytes) = original {
            std::fs::write(path, vec![0x5a; bytes.len()]).unwrap();
        }
    }

    let page = browser.get("/profile").await;
    page.assert_status(503).assert_contains("Temporarily unavailable");
    assert!(!page.body.contains("sqlite") && !page.body.contains("diesel"), "no cause leaks");
    browser.get("/readyz").await.assert_status(503);

    for (path, original) in parts.iter().zip(&originals) {
        if let Some(bytes) = original {
            std::fs::write(path, bytes).unwrap();
        }
    }
    browser.get("/readyz").await.assert_status(200);
    browser.get("/profile").await.assert_status(200);
}

#[actix_web::test]
async fn a_disabled_users_session_ends() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in("ann@example.com", "regular").await;
    browser.get("/profile").await.assert_status(200);
    app.with_db(move |conn| concierge::db::users::set_status(conn, user.id, UserStatus::Disabled).unwrap()).await;
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
}

#[test]
fn the_migration_trees_are_in_lock_step() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}
