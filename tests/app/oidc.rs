//! Signing in with an OpenID provider: a real, certified one (npm `oidc-provider`, in
//! tests/oidc) started on a free port per test, driven over HTTP like a browser, with the
//! provider's login and consent given without forms (see tests/oidc/provider.mjs).

use concierge::db::schema::{oidc_links, sessions};
use concierge::db::users as users_db;
use concierge::domain::UserStatus;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = IDP_SECRET;

/// The provider, with the portal's providers 1 to 3 coming back to the test address.
fn idp(accounts: Value) -> Idp {
    start_idp(accounts, "http://127.0.0.1")
}

fn accounts() -> Value {
    json!([
        { "sub": "ann-1", "email": "ann@example.com", "email_verified": true, "given_name": "Ann", "family_name": "Lee" },
        { "sub": "new-1", "email": "nora@corp.example", "email_verified": true, "given_name": "Nora", "family_name": "New" },
        { "sub": "out-1", "email": "olaf@elsewhere.example", "email_verified": true },
        { "sub": "unv-1", "email": "uma@example.com", "email_verified": false },
        { "sub": "dis-1", "email": "dan@example.com", "email_verified": true },
        { "sub": "entra-1", "email": "eve@example.com", "xms_edov": true }
    ])
}

/// Adds the provider through Organization → Sign-in, as the owner; its id.
async fn add_provider(app: &TestApp, owner: &Browser, issuer: &str, fields: &[(&str, &str)]) -> i64 {
    let mut form = vec![
        ("name", "Test IdP"),
        ("issuer", issuer),
        ("client_id", "concierge"),
        ("client_secret", SECRET),
        ("scopes", "openid email profile"),
        ("email_claim", "email"),
    ];
    form.retain(|(k, _)| !fields.iter().any(|(f, _)| f == k));
    form.extend_from_slice(fields);
    owner.post("/organization/sign-in", &form).await.assert_redirect_to("/organization/sign-in");
    app.with_db(|c| concierge::db::oidc::list(c).unwrap().last().unwrap().id).await
}

/// The provider's part, as a browser walks it: from its authorization URL, logged in as
/// `account`, to the portal's callback; the callback's path and query.
async fn through_provider(authorize: &str, account: &str) -> String {
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut url = authorize.to_owned();
    for _ in 0..10 {
        if url.contains("/interaction/") && !url.contains("login=") {
            url = format!("{url}?login={account}");
        }
        let res = client.get(&url).send().await.unwrap();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let Some(next) = location else { panic!("the provider answered {} at {url}", res.status()) };
        let next =
            if next.starts_with('/') { format!("{}{next}", &url[..url[8..].find('/').unwrap() + 8]) } else { next };
        if let Some(path) = next.strip_prefix("http://127.0.0.1/") {
            return format!("/{path}");
        }
        url = next;
    }
    panic!("the provider never sent the browser back");
}

/// Signs in through provider `id` as `account`: the portal's last answer.
async fn sign_in_with(browser: &Browser, id: i64, account: &str) -> Page {
    browser.get("/sign-in").await;
    let start = browser.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let callback = through_provider(start.location().unwrap(), account).await;
    browser.get(&callback).await
}

#[actix_web::test]
async fn a_provider_signs_in_links_and_makes_users_within_its_rules() {
    if !idp_available() {
        return;
    }
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let idp = idp(accounts());
    let ann = app.create_user(UserSpec { email: "ann@example.com", first_name: "Ann", ..UserSpec::default() }).await;
    let dan = app.create_user(UserSpec { email: "dan@example.com", first_name: "Dan", ..UserSpec::default() }).await;
    app.with_db(move |c| users_db::set_status(c, dan.id, UserStatus::Disabled).unwrap()).await;
    let regular = app.builtin_group("regular").await;
    let group = regular.to_string();
    let id = add_provider(
        &app,
        &owner,
        &idp.issuer,
        &[("create_users", "on"), ("create_in_group_id", &group), ("create_domains", "corp.example")],
    )
    .await;

    // Discovery worked: the sign-in page offers the button, and the secret is kept sealed.
    let visitor = Browser::new(&app.address);
    let page = visitor.get("/sign-in").await;
    assert!(page.body.contains("Sign in with Test IdP"));
    // Its form may lead to the provider (browsers check a form's redirect against the policy).
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains(&format!("form-action 'self' {};", idp.issuer)), "{policy}");
    let sealed = app.with_db(move |c| concierge::db::oidc::find(c, id).unwrap().unwrap().client_secret_sealed).await;
    assert!(!sealed.contains(SECRET) && !sealed.is_empty());

    // A user whose verified email matches: signed in, linked, the session names the provider.
    sign_in_with(&visitor, id, "ann-1").await.assert_redirect_to("/settings");
    visitor.get("/profile").await.assert_status(200);
    let linked: Vec<(String, i64)> =
        app.with_db(|c| oidc_links::table.select((oidc_links::subject, oidc_links::user_id)).load(c).unwrap()).await;
    assert_eq!(linked, [("ann-1".to_owned(), ann.id)]);
    let via: Vec<Option<i64>> = app
        .with_db(move |c| {
            sessions::table.filter(sessions::user_id.eq(ann.id)).select(sessions::provider_id).load(c).unwrap()
        })
        .await;
    assert_eq!(via, [Some(id)]);
    assert!(visitor.get("/profile").await.body.contains("signed in with Test IdP"));
    let page = owner.get(&format!("/users/{}", ann.id)).await;
    assert!(page.body.contains("Test IdP (ann@example.com, since"), "{}", page.body);

    // A new person of an allowed domain is made, active, in the chosen group, without a password.
    let nora_browser = Browser::new(&app.address);
    sign_in_with(&nora_browser, id, "new-1").await.assert_redirect_to("/settings");
    let nora = app.with_db(|c| users_db::find_by_email(c, "nora@corp.example").unwrap().unwrap()).await;
    assert_eq!(
        (nora.status(), nora.group_id, nora.first_name.as_str(), nora.last_name.as_str()),
        (UserStatus::Active, regular, "Nora", "New")
    );
    assert!(nora.password_hash.is_none());

    // Another domain, an unverified email, a disabled user: refused, nobody made or signed in.
    for (account, email) in
        [("out-1", "olaf@elsewhere.example"), ("unv-1", "uma@example.com"), ("dis-1", "dan@example.com")]
    {
        let browser = Browser::new(&app.address);
        sign_in_with(&browser, id, account).await.assert_redirect_to("/sign-in");
        assert!(browser.get("/sign-in").await.body.contains("no active account here matches it"));
        browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
        let email = email.to_owned();
        let found = app.with_db(move |c| users_db::find_by_email(c, &email).unwrap()).await;
        assert!(found.is_none_or(|u| u.status() != UserStatus::Active), "{account}");
    }
    let refused = app.audit_actions().await.iter().filter(|a| *a == "sign_in.failed").count();
    assert_eq!(refused, 3);
    let log = owner.get("/audit").await.body;
    for words in [
        "added the sign-in provider Test IdP",
        "Ann User linked their account to Test IdP",
        "Ann User signed in with Test IdP",
        "A sign-in with Test IdP (“olaf@elsewhere.example”) was refused.",
        "A sign-in with Test IdP (“uma@example.com”) was refused.",
    ] {
        assert!(log.contains(words), "{words}: {log}");
    }

    // Entra ID's way of saying the address is verified: its domain is the tenant's.
    app.create_user(UserSpec { email: "eve@example.com", first_name: "Eve", ..UserSpec::default() }).await;
    sign_in_with(&Browser::new(&app.address), id, "entra-1").await.assert_redirect_to("/settings");

    // The link holds even when the provider's email changes later: the subject decides.
    let again = Browser::new(&app.address);
    sign_in_with(&again, id, "ann-1").await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn a_tampered_state_a_replayed_code_and_a_provider_that_is_down_are_refused() {
    if !idp_available() {
        return;
    }
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let idp = idp(accounts());
    app.create_user(UserSpec { email: "ann@example.com", first_name: "Ann", ..UserSpec::default() }).await;
    let id = add_provider(&app, &owner, &idp.issuer, &[]).await;

    // A state that is not the one sent.
    let browser = Browser::new(&app.address);
    browser.get("/sign-in").await;
    let start = browser.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
    let callback = through_provider(start.location().unwrap(), "ann-1").await;
    let tampered = callback.replace("state=", "state=x");
    browser.get(&tampered).await.assert_redirect_to("/sign-in");
    assert!(browser.get("/sign-in").await.body.contains("That sign-in can"));
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");

    // The right callback, but once only: the flow was used up by the refusal above.
    browser.get(&callback).await.assert_redirect_to("/sign-in");
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");

    // A code carried into a new flow of the same browser: the provider refuses it (its PKCE
    // verifier is the new flow's).
    let used = callback.clone();
    let fresh = browser.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
    let new_state =
        fresh.location().unwrap().split(['?', '&']).find_map(|p| p.strip_prefix("state=")).unwrap().to_owned();
    let old_code = used.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).unwrap().to_owned();
    let replay = format!("/sign-in/oidc/{id}/callback?code={old_code}&state={new_state}");
    browser.get(&replay).await.assert_redirect_to("/sign-in");
    browser.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");

    // A code used once signs in; its callback replayed does not.
    let ok = Browser::new(&app.address);
    ok.get("/sign-in").await;
    let start = ok.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
    let callback = through_provider(start.location().unwrap(), "ann-1").await;
    ok.get(&callback).await.assert_redirect_to("/settings");
    // The same answer again, in a browser that signed out: the flow it belonged to is gone.
    ok.get("/profile").await.assert_status(200);
    ok.post("/sign-out", &[]).await.assert_redirect_to("/sign-in?signed_out=1");
    ok.get(&callback).await.assert_redirect_to("/sign-in");
    ok.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");

    // The provider goes down: a clear page, 503, never a 500; the password form still works.
    drop(idp);
    let late = Browser::new(&app.address);
    late.get("/sign-in").await;
    let down = late.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("<h1>Test IdP can") && down.body.contains("t be reached</h1>"), "{}", down.body);
    late.sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
}

#[actix_web::test]
async fn a_group_held_to_a_provider_signs_in_through_it_but_the_owner_keeps_a_password() {
    if !idp_available() {
        return;
    }
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let idp = idp(accounts());
    app.create_user(UserSpec { email: "ann@example.com", first_name: "Ann", group: "regular", ..UserSpec::default() })
        .await;
    let id = add_provider(&app, &owner, &idp.issuer, &[]).await;
    let regular = app.builtin_group("regular").await;
    let admin = app.builtin_group("admin").await;
    for group in [regular, admin] {
        owner
            .post(&format!("/groups/{group}/sign-in"), &[("provider", &id.to_string())])
            .await
            .assert_redirect_to(&format!("/groups/{group}"));
    }
    let held: Vec<Option<i64>> = app
        .with_db(move |c| {
            use concierge::db::schema::groups;
            groups::table
                .filter(groups::id.eq_any([regular, admin]))
                .select(groups::sign_in_provider_id)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(held, [Some(id), Some(id)]);
    assert!(owner.get(&format!("/groups/{regular}")).await.body.contains("Only with Test IdP"));

    // Ann's right password is refused, and only then is she told why; a wrong one says nothing more.
    let ann = Browser::new(&app.address);
    let wrong = ann.sign_in("ann@example.com", "not her password").await;
    assert!(!wrong.body.contains("Test IdP:"), "{}", wrong.body);
    let right = ann.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(right.status, 422);
    assert!(right.body.contains("Your organization signs you in with Test IdP"), "{}", right.body);
    ann.get("/profile").await.assert_redirect_to("/sign-in?next=/profile");
    sign_in_with(&ann, id, "ann-1").await.assert_redirect_to("/settings");

    // The owner, in the Admin group held to it too, keeps a password way in.
    Browser::new(&app.address).sign_in("owner@example.com", PASSWORD).await.assert_redirect_to("/settings");

    // Removing the provider frees the group: Ann's password works again.
    owner.get(&format!("/organization/sign-in/{id}")).await.assert_status(200);
    owner.post(&format!("/organization/sign-in/{id}/delete"), &[]).await.assert_redirect_to("/organization/sign-in");
    Browser::new(&app.address).sign_in("ann@example.com", PASSWORD).await.assert_redirect_to("/settings");
    let actions = app.audit_actions().await;
    let log = owner.get("/audit").await.body;
    assert!(
        log.contains("to signing in with Test IdP") && log.contains("removed the sign-in provider Test IdP"),
        "{log}"
    );
    for action in ["settings.provider_added", "group.provider_required", "settings.provider_removed"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[actix_web::test]
async fn the_provider_form_keeps_what_was_typed_and_never_shows_the_secret() {
    if !idp_available() {
        return;
    }
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    // Bad bytes and addresses answered beside their fields, the rest kept.
    let page = owner
        .post(
            "/organization/sign-in",
            &[
                ("name", "Entra\u{0}ID"),
                ("issuer", "ftp://login.example.com"),
                ("client_id", "app-1"),
                ("client_secret", ""),
                ("scopes", "openid email\r\nx"),
                ("email_claim", "e mail"),
                ("create_users", "on"),
                ("create_in_group_id", "999999"),
                ("create_domains", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    for field in ["name", "issuer", "client_secret", "email_claim", "create_in_group_id", "create_domains"] {
        assert!(page.body.contains(&format!("id=\"f-{field}-error\"")), "{field}: {}", page.body);
    }
    assert!(page.body.contains("value=\"app-1\""));
    assert!(app.with_db(|c| concierge::db::oidc::list(c).unwrap()).await.is_empty());
    // A plain-http issuer elsewhere than this machine is refused; a made one never shows its secret.
    let page = owner
        .post(
            "/organization/sign-in",
            &[
                ("name", "Okta"),
                ("issuer", "http://okta.example.com"),
                ("client_id", "a"),
                ("client_secret", "TOPSECRET-1"),
                ("email_claim", "email"),
            ],
        )
        .await;
    assert!(page.body.contains("id=\"f-issuer-error\""), "{}", page.body);
    assert!(!page.body.contains("TOPSECRET-1"));
    owner
        .post(
            "/organization/sign-in",
            &[
                ("name", "Okta"),
                ("issuer", "https://okta.example.com/"),
                ("client_id", "a"),
                ("client_secret", "TOPSECRET-1"),
                ("email_claim", "email"),
            ],
        )
        .await
        .assert_redirect_to("/organization/sign-in");
    let provider = app.with_db(|c| concierge::db::oidc::list(c).unwrap().pop().unwrap()).await;
    assert_eq!(
        (provider.issuer.as_str(), provider.scopes.as_str()),
        ("https://okta.example.com", "openid email profile")
    );
    let edit = owner.get(&format!("/organization/sign-in/{}", provider.id)).await;
    assert!(!edit.body.contains("TOPSECRET-1") && edit.body.contains("/sign-in/oidc/"), "{}", edit.body);
    let audit: Vec<String> = app
        .with_db(|c| {
            use concierge::db::schema::audit_events;
            audit_events::table.select(audit_events::details).load::<String>(c).unwrap()
        })
        .await;
    assert!(audit.iter().all(|d| !d.contains("TOPSECRET")), "{audit:?}");
    // Changed without a secret: the sealed one is kept.
    owner
        .post(
            &format!("/organization/sign-in/{}", provider.id),
            &[
                ("name", "Okta EU"),
                ("issuer", "https://okta.example.com"),
                ("client_id", "a"),
                ("client_secret", ""),
                ("email_claim", "email"),
            ],
        )
        .await
        .assert_redirect_to("/organization/sign-in");
    let after = app.with_db(move |c| concierge::db::oidc::find(c, provider.id).unwrap().unwrap()).await;
    assert_eq!(
        (after.name.as_str(), after.client_secret_sealed.as_str()),
        ("Okta EU", provider.client_secret_sealed.as_str())
    );
}

#[actix_web::test]
async fn second_factors_after_a_provider_only_when_the_organization_asks() {
    if !idp_available() {
        return;
    }
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let idp = idp(accounts());
    let ann = app
        .create_user(UserSpec { email: "ann@example.com", first_name: "Ann", group: "regular", ..UserSpec::default() })
        .await;
    let id = add_provider(&app, &owner, &idp.issuer, &[]).await;
    let regular = app.builtin_group("regular").await;
    owner
        .post(&format!("/groups/{regular}/two-step"), &[("required", "1"), ("days", "0")])
        .await
        .assert_redirect_to(&format!("/groups/{regular}"));
    app.config.clock.advance(60);

    // Her group requires two-step sign-in, which she has not set up: a password sign-in is sent
    // to set it up, a provider's is not (the provider's own second factor stands).
    let by_password = Browser::new(&app.address);
    by_password.sign_in("ann@example.com", PASSWORD).await;
    by_password.get("/profile").await.assert_redirect_to("/profile/two-step");
    let by_provider = Browser::new(&app.address);
    sign_in_with(&by_provider, id, "ann-1").await.assert_redirect_to("/settings");
    by_provider.get("/profile").await.assert_status(200);

    // Asked for: a user with two-step sign-in gives their code after the provider.
    let form = [
        ("name", "Test IdP"),
        ("issuer", idp.issuer.as_str()),
        ("client_id", "concierge"),
        ("client_secret", ""),
        ("scopes", "openid email profile"),
        ("email_claim", "email"),
        ("ask_second_factor", "on"),
    ];
    owner.post(&format!("/organization/sign-in/{id}"), &form).await.assert_redirect_to("/organization/sign-in");
    app.with_db(move |c| {
        use concierge::db::schema::users;
        diesel::update(users::table.find(ann.id)).set(users::totp_secret.eq("JBSWY3DPEHPK3PXP")).execute(c).unwrap()
    })
    .await;
    let asked = Browser::new(&app.address);
    sign_in_with(&asked, id, "ann-1").await.assert_redirect_to("/sign-in/code");
    asked.get("/settings").await.assert_redirect_to("/sign-in?next=/settings");
}

/// A server on a free port that answers every request with `body` (as JSON): an "issuer"
/// that is not what it claims.
fn fake_issuer(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let start = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(start.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    address
}

#[actix_web::test]
async fn a_provider_that_answers_wrongly_gives_a_clear_page_not_a_500() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let huge = fake_issuer(vec![b' '; 2 * 1024 * 1024]);
    let other = fake_issuer(br#"{"issuer":"https://someone-else.example","authorization_endpoint":"https://x/auth","jwks_uri":"https://x/jwks","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}"#.to_vec());
    for (name, issuer) in [("Huge", huge), ("Other", other)] {
        add_provider(&app, &owner, &issuer, &[("name", name)]).await;
    }
    let ids: Vec<i64> = app.with_db(|c| concierge::db::oidc::list(c).unwrap().iter().map(|p| p.id).collect()).await;
    for id in ids {
        let visitor = Browser::new(&app.address);
        visitor.get("/sign-in").await;
        let page = visitor.post(&format!("/sign-in/oidc/{id}"), &[("next", "")]).await;
        assert_eq!(page.status, 503, "{}", page.body);
        assert!(page.body.contains("t be reached</h1>"), "{}", page.body);
    }
}

#[actix_web::test]
async fn a_group_new_users_join_is_not_deleted_from_under_its_provider() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let group = app.custom_group("Contractors", &[]).await;
    let id = add_provider(
        &app,
        &owner,
        "https://login.example.com",
        &[("create_users", "on"), ("create_in_group_id", &group.to_string()), ("create_domains", "example.com")],
    )
    .await;
    owner.post(&format!("/groups/{group}/delete"), &[]).await;
    let page = owner.get(&format!("/groups/{group}")).await;
    assert_eq!(page.status, 200, "the group stands");
    assert!(page.body.contains("Test IdP adds new users to it"), "{}", page.body);
    // Once the provider adds them elsewhere (or not at all), it can go.
    let form = [
        ("name", "Test IdP"),
        ("issuer", "https://login.example.com"),
        ("client_id", "concierge"),
        ("client_secret", ""),
        ("email_claim", "email"),
    ];
    owner.post(&format!("/organization/sign-in/{id}"), &form).await.assert_redirect_to("/organization/sign-in");
    owner.post(&format!("/groups/{group}/delete"), &[]).await.assert_redirect_to("/groups");
}
