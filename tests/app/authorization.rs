//! The authorization matrix: every route the router registers, for every kind of session.
//! A route missing from the table fails the test, so a new route can't be forgotten.

use concierge::domain::{Permission, UserStatus};
use concierge::web::router::ROUTES;

use crate::helpers::*;

#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Anyone; answers are whatever the page says (a made-up token is a 404).
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Signed in with this permission.
    Needs(Permission),
    /// Signed in with one of these permissions.
    NeedsOne(&'static [Permission]),
    /// Signed in as the owner.
    Owner,
    /// Other software with an API token: a session, whatever its user, is answered 401.
    Bearer,
}

fn rule(method: &str, path: &str) -> Option<Rule> {
    use Permission::*;
    use Rule::*;
    Some(match (method, path) {
        (_, "/healthz" | "/readyz" | "/static/app.css" | "/static/app.js") => Public,
        // Served to loopback (where the tests run) or a bearer token: see `operations.rs`.
        (_, "/metrics") => Public,
        (_, "/sign-in" | "/sign-out" | "/forgot-password" | "/signup" | "/sign-in/code") => Public,
        (_, "/sign-in/passkey/start" | "/sign-in/passkey") => Public,
        (_, "/profile/passkeys/new" | "/profile/passkeys" | "/profile/passkeys/{id}/remove") => SignedIn,
        (_, "/profile/two-step" | "/profile/two-step/on" | "/profile/two-step/codes" | "/profile/two-step/off") => {
            SignedIn
        }
        (_, "/users/{id}/two-step/reset") => Needs(UsersManage),
        (_, "/profile/sessions/others/end" | "/profile/sessions/{id}/end") => SignedIn,
        (_, "/users/{id}/sessions/end") => Needs(UsersManage),
        (_, "/setup/{token}" | "/invite/{token}" | "/reset-password/{token}") => Public,
        (_, "/verify-email/{token}" | "/confirm-email/{token}") => Public,
        (_, "/" | "/settings" | "/profile" | "/profile/edit" | "/profile/password" | "/profile/email") => SignedIn,
        ("get", "/users" | "/users/{id}") => Needs(UsersView),
        ("get" | "post", "/users/new") => Needs(UsersManage),
        ("post", "/users/{id}") | ("get", "/users/{id}/edit") => Needs(UsersManage),
        (_, "/users/{id}/access" | "/users/{id}/disable" | "/users/{id}/enable") => Needs(UsersManage),
        (_, "/users/{id}/ends") => Needs(UsersManage),
        (_, "/users/{id}/delete" | "/users/{id}/restore") => Needs(UsersManage),
        (_, "/users/{id}/resend-invite") => Needs(InvitesSend),
        (_, "/users/{id}/send-password-reset") => Needs(UsersResetPassword),
        (_, "/invites" | "/invites/{id}/resend" | "/invites/{id}/revoke") => Needs(InvitesSend),
        (_, "/organization" | "/organization/test-email" | "/organization/get-started/dismiss") => {
            Needs(SettingsManage)
        }
        (_, "/groups" | "/groups/new" | "/groups/{id}" | "/groups/{id}/delete") => Needs(GroupsManage),
        (_, "/groups/{id}/two-step" | "/groups/{id}/two-step/remind" | "/groups/{id}/sign-in") => Needs(GroupsManage),
        ("get", "/buildings" | "/buildings/{id}") => SignedIn,
        ("post", "/buildings/{id}") | (_, "/buildings/{id}/edit") => NeedsOne(&[BuildingsEdit, BuildingsManage]),
        (_, "/buildings/new" | "/buildings/{id}/delete" | "/buildings/{id}/access") => Needs(BuildingsManage),
        (_, "/accounts/new" | "/accounts/{id}" | "/accounts/{id}/delete") => Needs(BuildingsManage),
        (_, "/users/export.csv") => Needs(UsersExport),
        (_, "/users/bulk" | "/users/import" | "/users/import/confirm") => Needs(UsersManage),
        (_, "/users/{id}/impersonate") => Needs(UsersImpersonate),
        (_, "/impersonation/stop") => SignedIn,
        (_, "/audit" | "/audit/export.csv" | "/audit/{id}") => Needs(AuditView),
        (_, "/organization/ownership") => Owner,
        (_, "/api-tokens" | "/api-tokens/{id}/revoke") => Needs(ApiManage),
        (_, "/sign-in/oidc/{id}" | "/sign-in/oidc/{id}/callback") => Public,
        (_, "/organization/sign-in" | "/organization/sign-in/{id}" | "/organization/sign-in/{id}/delete") => {
            Needs(SettingsManage)
        }
        (_, p) if p.starts_with("/scim/v2/") => Bearer,
        _ => return None,
    })
}

fn refused(page: &Page) -> bool {
    page.status == 403
        || (page.status == 303 && page.location().is_some_and(|l| l.starts_with("/sign-in?next=")))
        || (page.status == 303 && page.location() == Some("/sign-in"))
}

#[actix_web::test]
async fn every_route_is_in_the_matrix_and_answers_as_it_says() {
    let missing: Vec<String> =
        ROUTES.iter().filter(|(m, p)| rule(m, p).is_none()).map(|(m, p)| format!("{m} {p}")).collect();
    assert!(missing.is_empty(), "routes missing from the authorization matrix: {missing:?}");

    let app = spawn_app().await;
    app.create_owner().await;
    let owner = app.browser();
    owner.sign_in("owner@example.com", PASSWORD).await.assert_redirect_to("/settings");
    let mut sessions: Vec<(String, Option<Browser>, Option<concierge::domain::PermissionSet>)> =
        vec![("anonymous".into(), None, None)];
    for group in ["customer", "read_only", "regular", "support", "admin"] {
        let (browser, user) = app.signed_in(&format!("{group}@example.com"), group).await;
        let permissions =
            app.with_db(move |c| concierge::db::users::find_with_group(c, user.id).unwrap().unwrap().2).await;
        sessions.push((group.into(), Some(browser), Some(permissions)));
    }
    sessions.push(("owner".into(), Some(owner), Some(concierge::domain::PermissionSet::all())));
    let (old, gone) = app.signed_in("disabled@example.com", "admin").await;
    app.with_db(move |c| concierge::db::users::set_status(c, gone.id, UserStatus::Disabled).unwrap()).await;
    sessions.push(("disabled user's old session".into(), Some(old), None));
    // An administrator signed in as a Regular user: their pages, and no admin screen at all.
    let (impersonating, _) = app.signed_in("impersonator@example.com", "admin").await;
    let regular =
        app.create_user(UserSpec { email: "as-regular@example.com", group: "regular", ..UserSpec::default() }).await;
    impersonating
        .post(&format!("/users/{}/impersonate", regular.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    impersonating.forget_csrf();
    sessions.push((
        "impersonated session".into(),
        Some(impersonating),
        Some(concierge::domain::PermissionSet::default()),
    ));

    // Deletions after the rest (their confirmations first), then signing in as the target and
    // back, sign-out last: every other route is tried on objects that exist, in the session's
    // own name.
    let mut routes: Vec<&(&str, &str)> = ROUTES.iter().collect();
    routes.sort_by_key(|(m, p)| match *p {
        "/users/{id}/impersonate" => 3,
        "/impersonation/stop" => 4,
        "/sign-out" => 5,
        p if p.ends_with("/delete") => 1 + usize::from(*m == "post"),
        _ => 0,
    });

    let mut failures = Vec::new();
    for (name, browser, permissions) in &sessions {
        let anonymous;
        let browser = match browser {
            Some(b) => b,
            None => {
                anonymous = app.browser();
                &anonymous
            }
        };
        // Each session acts on a user of its own, so one session's changes don't touch another's.
        let target_email = format!("target-{}@example.com", name.replace(' ', "-"));
        let target = app
            .create_user(UserSpec { email: &target_email, status: UserStatus::Invited, ..UserSpec::default() })
            .await;
        // And real objects of every other kind, so a permitted session meets no 404.
        let objects = Objects::new(&app, name, target.id, browser_user(&app, name).await).await;
        for (method, pattern) in &routes {
            let id = match pattern.split('/').nth(1) {
                Some("buildings") => objects.building,
                Some("accounts") => objects.account,
                Some("groups") => objects.group,
                Some("invites") => objects.invite,
                Some("organization" | "sign-in") if pattern.contains("sign-in/") => objects.provider,
                _ => target.id,
            };
            let path = pattern
                .replace("{id}", &id.to_string())
                .replace("{token}", &"ab".repeat(32))
                .replace("{tail:.*}", "Users");
            if matches!(rule(method, pattern), Some(Rule::Bearer)) {
                // With the session's cookie but no token, in the route's own method.
                let verb = if *method == "route" { "GET" } else { &method.to_uppercase() };
                let status = browser.request_status(verb, &path).await;
                if status != 401 {
                    failures.push(format!("{name}: {method} {path} answered {status} to a session, not 401"));
                }
                continue;
            }
            let page = if *method == "get" { browser.get(&path).await } else { browser.post(&path, &[]).await };
            // A POST may have started a new session (and token): read the token afresh.
            browser.forget_csrf();
            // (Its provider's issuer answers nobody: the start of its sign-in is a 503 page.)
            if page.status >= 500 && !(page.status == 503 && *pattern == "/sign-in/oidc/{id}") {
                failures.push(format!("{name}: {method} {path} answered {}", page.status));
                continue;
            }
            let expect_refusal = match rule(method, pattern).unwrap() {
                Rule::Bearer => unreachable!("answered above"),
                Rule::Public => false,
                Rule::SignedIn => permissions.is_none(),
                Rule::Needs(p) => permissions.as_ref().is_none_or(|set| !set.has(p)),
                Rule::NeedsOne(ps) => permissions.as_ref().is_none_or(|set| !ps.iter().any(|p| set.has(*p))),
                Rule::Owner => name != "owner",
            };
            let public = matches!(rule(method, pattern).unwrap(), Rule::Public);
            // (A token's id is no user's: revoking the user's id finds no token, rightly a 404.)
            if !public && !expect_refusal && page.status == 404 && *pattern != "/api-tokens/{id}/revoke" {
                failures.push(format!("{name}: {method} {path} answered 404 to a permitted session"));
            }
            if matches!(rule(method, pattern).unwrap(), Rule::Public) {
                if page.status == 403 {
                    failures.push(format!("{name}: {method} {path} refused a public page"));
                }
            } else if refused(&page) != expect_refusal {
                let title = page.body.split("<title>").nth(1).and_then(|t| t.split('<').next()).unwrap_or("");
                failures.push(format!(
                    "{name}: {method} {path} answered {} {:?} ({title}), expected {}",
                    page.status,
                    page.location(),
                    if expect_refusal { "a refusal" } else { "no refusal" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The user behind a session of the matrix, by the address it signed in with.
async fn browser_user(app: &TestApp, session: &str) -> Option<i64> {
    let email = match session {
        "anonymous" | "disabled user's old session" => return None,
        "owner" => "owner@example.com".to_owned(),
        "impersonated session" => "as-regular@example.com".to_owned(),
        group => format!("{group}@example.com"),
    };
    app.with_db(move |c| concierge::db::users::find_by_email(c, &email).unwrap().map(|u| u.id)).await
}

/// One object of each kind for a session to act on: a building in an account (reached by the
/// session's user), an empty custom group, and an invitation of the target's.
struct Objects {
    account: i64,
    building: i64,
    group: i64,
    invite: i64,
    /// An OpenID provider (at an issuer nobody answers on).
    provider: i64,
}

impl Objects {
    async fn new(app: &TestApp, session: &str, target: i64, reached_by: Option<i64>) -> Objects {
        let name: &'static str = Box::leak(format!("Account of {session}").into_boxed_str());
        let (account, buildings) = app.account_with_buildings(name, 1).await;
        let building = buildings[0];
        let group = app.custom_group(&format!("Group of {session}"), &[]).await;
        if let Some(user) = reached_by {
            app.grant(user, building).await;
        }
        let invite = app
            .with_db(move |c| {
                use concierge::db::tokens::{self, NewToken, Purpose};
                let new = NewToken {
                    purpose: Purpose::Invite,
                    user_id: Some(target),
                    email: None,
                    details: serde_json::json!({}),
                    created_by: None,
                    ttl: chrono::Duration::days(7),
                };
                tokens::issue(c, new).unwrap().0.id
            })
            .await;
        let provider = app.provider(&format!("Provider {target}"), "http://127.0.0.1:9").await;
        Objects { account, building, group, invite, provider }
    }
}

#[actix_web::test]
async fn every_post_without_a_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let target = app.create_user(UserSpec { email: "t@example.com", ..UserSpec::default() }).await;
    // SCIM takes a bearer token, not a cookie: it has no CSRF token to check (see `scim.rs`).
    for (method, pattern) in ROUTES.iter().filter(|(m, p)| *m == "post" && !p.starts_with("/scim/")) {
        let path = pattern.replace("{id}", &target.id.to_string()).replace("{token}", &"ab".repeat(32));
        for browser in [&owner, &app.browser()] {
            let page = browser.post_raw(&path, &[]).await;
            assert_eq!(page.status, 403, "{method} {path} without a CSRF token answered {}", page.status);
        }
    }
    assert_eq!(app.user(target.id).await.status(), UserStatus::Active, "nothing changed");
}
