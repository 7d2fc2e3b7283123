//! API tokens and SCIM 2.0: tokens made in the tab, every refusal of a token, and each SCIM
//! operation read back from the database.

use concierge::db::users as users_db;
use concierge::domain::UserStatus;
use serde_json::{Value, json};

use crate::helpers::*;

/// A token made by the user with `email`, straight through the operation the tab uses.
async fn token(app: &TestApp, email: &str, scopes: &str, days: i64) -> String {
    let (email, scopes) = (email.to_owned(), scopes.to_owned());
    app.with_db(move |conn| {
        let now = concierge::db::now();
        let form = concierge::ops::api_tokens::TokenForm {
            name: format!("token of {email}"),
            expires_on: (now.date() + chrono::Duration::days(days)).to_string(),
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        };
        let maker = concierge::ops::Actor::by_email(conn, &email).unwrap();
        concierge::db::transaction(conn, |c| concierge::ops::api_tokens::create(c, &maker, &form, now.date(), now))
            .unwrap()
            .unwrap()
            .1
    })
    .await
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn scim(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    scim_raw(app, method, path, token, body.map(|b| b.to_string().into_bytes()), &[]).await
}

async fn scim_raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Answer {
    let client = http_client().build().unwrap();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, format!("{}/scim/v2{path}", app.address));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let text = res.text().await.unwrap();
    Answer { status, headers, json: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

fn new_user(user_name: &str, email: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": format!("ext-{family}"),
        "name": { "givenName": "Pat", "familyName": family },
        "emails": [{ "value": email, "type": "work", "primary": true }],
        "phoneNumbers": [{ "value": "+1 702 555 0100", "type": "work" }],
        "title": "Engineer",
        "active": true,
    })
}

async fn user(app: &TestApp, id: i64) -> users_db::User {
    app.with_db(move |c| users_db::find(c, id).unwrap().unwrap()).await
}

fn id_of(a: &Answer) -> i64 {
    a.json["id"].as_str().unwrap().parse().unwrap()
}

async fn admin_token(app: &TestApp) -> String {
    app.create_owner().await;
    token(app, "owner@example.com", "scim users.view users.manage groups.manage", 30).await
}

#[actix_web::test]
async fn the_tab_makes_a_token_shown_once_and_revokes_it() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let page = owner.get("/api-tokens").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No token was made yet"));
    let today = concierge::db::now().date();
    let later = (today + chrono::Duration::days(30)).to_string();

    // Refused forms keep what was typed, each message beside its field.
    let too_far = (today + chrono::Duration::days(400)).to_string();
    let page = owner.post("/api-tokens", &[("name", "Entra\u{0}"), ("scope", "scim"), ("expires_on", &too_far)]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Use plain text on one line."));
    assert!(page.body.contains("A token lives a year at most."));
    assert!(page.body.contains(&too_far));
    let page = owner.post("/api-tokens", &[("name", "Entra"), ("scope", "root"), ("expires_on", &later)]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("a token never holds more than you do"));
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let page = owner.post("/api-tokens", &[("name", "Entra"), ("scope", "scim"), ("expires_on", &yesterday)]).await;
    assert!(page.body.contains("Choose a day after today."));
    let page = owner.post("/api-tokens", &[("name", "Entra"), ("expires_on", &later)]).await;
    assert!(page.body.contains("Choose at least one scope."));

    let page = owner
        .post(
            "/api-tokens",
            &[("name", "Entra ID provisioning"), ("scope", "scim"), ("scope", "users.view"), ("expires_on", &later)],
        )
        .await;
    assert_eq!(page.status, 200);
    let secret = page.body.split("readonly value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(secret.starts_with("concierge_") && secret.len() > 60, "{secret}");
    // Only the digest is kept.
    let stored = app
        .with_db(|c| {
            use concierge::db::schema::api_tokens::dsl::*;
            use diesel::prelude::*;
            api_tokens.select((secret_hash, scopes, name)).first::<(String, String, String)>(c).unwrap()
        })
        .await;
    assert_eq!(stored.0, concierge::auth::secret::digest(&secret));
    assert_eq!(stored.1, "scim users.view");
    assert_eq!(stored.2, "Entra ID provisioning");

    // Listed, without its secret, and usable.
    let list = owner.get("/api-tokens").await;
    assert!(list.body.contains("Entra ID provisioning") && list.body.contains("scim, users.view"));
    assert!(!list.body.contains(&secret));
    let a = scim(&app, "GET", "/Users", &secret, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/scim+json");
    let list = owner.get("/api-tokens").await;
    assert!(list.body.contains("from 127.0.0.1"), "last use is shown");

    let id = app.with_db(|c| concierge::db::api_tokens::list(c, None).unwrap()[0].0.id).await;
    owner.post(&format!("/api-tokens/{id}/revoke"), &[]).await.assert_redirect_to("/api-tokens");
    let a = scim(&app, "GET", "/Users", &secret, None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json["detail"], "This token was revoked.");
    let actions = app.audit_actions().await;
    for action in ["api_token.created", "api_token.revoked", "api.refused"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

#[actix_web::test]
async fn every_refusal_of_a_token_is_told_and_audited_by_name() {
    let app = spawn_app().await;
    app.create_owner().await;
    let a = scim(&app, "GET", "/Users", "", None).await;
    assert_eq!(a.status, 401);
    assert!(a.headers.contains_key("www-authenticate"));
    assert_eq!(a.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(scim(&app, "GET", "/Users", "concierge_made-up", None).await.status, 401);

    // A read-only token may read, not write.
    let reader = token(&app, "owner@example.com", "scim users.view", 30).await;
    assert_eq!(scim(&app, "GET", "/Users", &reader, None).await.status, 200);
    let a = scim(&app, "POST", "/Users", &reader, Some(new_user("a@example.com", "a@example.com", "A"))).await;
    assert_eq!((a.status, a.json["scimType"].as_str()), (403, Some("insufficientScope")));
    assert!(app.with_db(|c| users_db::find_by_email(c, "a@example.com").unwrap()).await.is_none());
    // Without the scim scope, SCIM is closed.
    let no_scim = token(&app, "owner@example.com", "users.view", 30).await;
    assert_eq!(scim(&app, "GET", "/Users", &no_scim, None).await.status, 403);

    // A maker who loses the permission takes it from the token; disabled, the token stops.
    let (_, admin) = app.signed_in("admin@example.com", "admin").await;
    let admins = token(&app, "admin@example.com", "scim users.view users.manage", 30).await;
    assert_eq!(scim(&app, "GET", "/Users", &admins, None).await.status, 200);
    app.put_in_group(admin.id, app.builtin_group("customer").await).await;
    assert_eq!(scim(&app, "GET", "/Users", &admins, None).await.status, 403);
    app.put_in_group(admin.id, app.builtin_group("admin").await).await;
    app.with_db(move |c| users_db::set_status(c, admin.id, UserStatus::Disabled).unwrap()).await;
    let a = scim(&app, "GET", "/Users", &admins, None).await;
    assert_eq!((a.status, a.json["detail"].as_str()), (401, Some("The user who made this token can no longer act.")));

    // Expired: the clock moves past its end.
    let short = token(&app, "owner@example.com", "scim users.view", 1).await;
    app.config.clock.advance(2 * 24 * 3600);
    let a = scim(&app, "GET", "/Users", &short, None).await;
    assert_eq!((a.status, a.json["detail"].as_str()), (401, Some("This token has expired.")));

    let refusals = app
        .with_db(|c| {
            use concierge::db::schema::audit_events::dsl::*;
            use diesel::prelude::*;
            audit_events.filter(action.eq("api.refused")).select(details).load::<String>(c).unwrap()
        })
        .await;
    assert!(refusals.len() >= 4, "{refusals:?}");
    assert!(refusals.iter().all(|d| d.contains("\"api_token\":\"token of")), "{refusals:?}");
    assert!(refusals.iter().any(|d| d.contains("\"why\":\"expired\"")));
}

#[actix_web::test]
async fn users_are_created_read_back_filtered_sorted_and_paged() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    let mut ids = Vec::new();
    for (n, family) in ["Alvarez", "Baker", "Chen"].iter().enumerate() {
        let body = new_user(&format!("user{n}@corp.example"), &format!("User{n}@Example.com"), family);
        let a = scim(&app, "POST", "/Users", &t, Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.json);
        assert!(a.headers["location"].to_str().unwrap().ends_with(&format!("/scim/v2/Users/{}", id_of(&a))));
        assert_eq!(a.headers["etag"], a.json["meta"]["version"].as_str().unwrap());
        ids.push(id_of(&a));
    }
    let saved = user(&app, ids[1]).await;
    assert_eq!(saved.email, "user1@example.com");
    assert_eq!((saved.first_name.as_str(), saved.last_name.as_str()), ("Pat", "Baker"));
    assert_eq!(saved.phone, "+1 702 555 0100");
    assert_eq!(saved.user_name.as_deref(), Some("user1@corp.example"));
    assert_eq!(saved.external_id.as_deref(), Some("ext-Baker"));
    assert_eq!(saved.status(), UserStatus::Invited, "invited by mail, as Add New User does");
    // The same userName again is a conflict.
    let a = scim(&app, "POST", "/Users", &t, Some(new_user("USER1@corp.example", "x@example.com", "X"))).await;
    assert_eq!((a.status, a.json["scimType"].as_str()), (409, Some("uniqueness")));

    let a = scim(&app, "GET", &format!("/Users/{}", ids[0]), &t, None).await;
    assert_eq!(a.json["userName"], "user0@corp.example");
    assert_eq!(a.json["emails"][0]["value"], "user0@example.com");

    // Owner + three users; the owner has no userName of their own, so their email stands.
    let cases = [
        ("userName eq \"USER2@corp.example\"", 1),
        ("userName eq \"owner@example.com\"", 1),
        ("emails.value co \"user\"", 3),
        ("emails[type eq \"work\" and value ew \"1@example.com\"]", 1),
        ("name.familyName sw \"b\"", 1),
        ("name.givenName eq \"Pat\" and not (name.familyName eq \"Chen\")", 2),
        ("(name.familyName eq \"Alvarez\" or name.familyName eq \"Chen\") and active eq true", 2),
        ("externalId eq \"ext-Chen\"", 1),
        ("externalId eq \"EXT-chen\"", 0),
        ("externalId pr", 3),
        ("title ne \"Engineer\"", 1),
        ("meta.lastModified gt \"2000-01-01T00:00:00Z\"", 4),
        ("meta.created lt \"2000-01-01T00:00:00Z\"", 0),
        ("userName eq \"x\\\" or 1=1 --\"", 0),
    ];
    for (filter, expected) in cases {
        let a = scim(&app, "GET", &format!("/Users?filter={}", urlencoding(filter)), &t, None).await;
        assert_eq!(a.status, 200, "{filter}: {}", a.json);
        assert_eq!(a.json["totalResults"], expected, "{filter}");
    }
    for bad in ["userName eq", "nosuch eq \"a\"", "meta.created gt \"yesterday\"", "active gt true", "((userName pr"] {
        let a = scim(&app, "GET", &format!("/Users?filter={}", urlencoding(bad)), &t, None).await;
        assert_eq!((a.status, a.json["scimType"].as_str()), (400, Some("invalidFilter")), "{bad}");
    }
    // Sorted and paged: the second of the users by last name, descending.
    let a = scim(
        &app,
        "GET",
        "/Users?filter=emails.value%20co%20%22user%22&sortBy=name.familyName&sortOrder=descending&startIndex=2&count=1",
        &t,
        None,
    )
    .await;
    assert_eq!((a.json["totalResults"].as_i64(), a.json["itemsPerPage"].as_i64()), (Some(3), Some(1)));
    assert_eq!(a.json["Resources"][0]["name"]["familyName"], "Baker");
    let a = scim(&app, "GET", "/Users?count=-5&startIndex=-3", &t, None).await;
    assert_eq!((a.status, a.json["itemsPerPage"].as_i64()), (200, Some(0)));
    let a = scim(&app, "GET", "/Users?count=99999999999999999999", &t, None).await;
    assert_eq!(a.status, 400);
    let a = scim(&app, "GET", "/Users?attributes=userName", &t, None).await;
    assert!(a.json["Resources"][0].get("name").is_none() && a.json["Resources"][0].get("userName").is_some());
    // POST .search answers as the query does.
    let a = scim(&app, "POST", "/Users/.search", &t, Some(json!({ "filter": "name.familyName eq \"Chen\"" }))).await;
    assert_eq!(a.json["totalResults"], 1);
}

#[actix_web::test]
async fn patch_takes_what_entra_and_okta_send_and_etags_guard_writes() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    let a = scim(&app, "POST", "/Users", &t, Some(new_user("pat@corp.example", "pat@example.com", "Lee"))).await;
    let (id, version) = (id_of(&a), a.json["meta"]["version"].as_str().unwrap().to_owned());
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "pat.lee@example.com" },
            { "op": "Replace", "value": { "name.givenName": "Patricia", "active": "False" } },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "Acme" },
            { "op": "Remove", "path": "title" },
        ],
    });
    let a = scim(&app, "PATCH", &format!("/Users/{id}"), &t, Some(body)).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let u = user(&app, id).await;
    assert_eq!(
        (u.email.as_str(), u.first_name.as_str(), u.company.as_str(), u.title.as_str()),
        ("pat.lee@example.com", "Patricia", "Acme", "")
    );
    assert_eq!(u.status(), UserStatus::Disabled);
    assert_eq!(a.json["active"], false);
    let a = scim(
        &app,
        "PATCH",
        &format!("/Users/{id}"),
        &t,
        Some(json!({ "Operations": [{ "op": "replace", "path": "active", "value": true }] })),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(user(&app, id).await.status(), UserStatus::Invited, "never set a password: invited again");

    // A write over a newer version is refused, and nothing changes.
    let stale = scim_raw(
        &app,
        "PUT",
        &format!("/Users/{id}"),
        &t,
        Some(new_user("pat@corp.example", "other@example.com", "Other").to_string().into_bytes()),
        &[("if-match", &version)],
    )
    .await;
    assert_eq!(stale.status, 412);
    assert_eq!(user(&app, id).await.last_name, "Lee");

    // Bad operations and bad bytes.
    for body in [
        json!({ "Operations": [{ "op": "move", "path": "title", "value": "x" }] }),
        json!({ "Operations": [{ "op": "replace", "path": "name.givenName", "value": "Nul\u{0}" }] }),
        json!({ "Operations": [{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "not an address" }] }),
        json!({ "Operations": [{ "op": "replace", "path": "urn:nowhere:attr", "value": 1 }] }),
        json!({ "Operations": [{ "op": "replace", "path": "active", "value": "maybe" }] }),
    ] {
        let a = scim(&app, "PATCH", &format!("/Users/{id}"), &t, Some(body.clone())).await;
        assert_eq!(a.status, 400, "{body}: {}", a.json);
    }
    assert_eq!(user(&app, id).await.first_name, "Patricia");
    let a = scim_raw(&app, "PATCH", &format!("/Users/{id}"), &t, Some(b"{not json".to_vec()), &[]).await;
    assert_eq!((a.status, a.json["scimType"].as_str()), (400, Some("invalidSyntax")));
    let a = scim_raw(&app, "POST", "/Users", &t, Some(vec![b' '; 2 * 1024 * 1024]), &[]).await;
    assert_eq!(a.status, 413);
    for bad in ["0", "-1", "99999999999999999999", "x", "1%00"] {
        assert_eq!(scim(&app, "GET", &format!("/Users/{bad}"), &t, None).await.status, 404, "{bad}");
    }
}

#[actix_web::test]
async fn delete_is_soft_and_buildings_are_granted_within_reach() {
    let app = spawn_app().await;
    app.create_owner().await;
    // A manager of users who reaches one building of two, and holds api.manage.
    let group = app.custom_group("Provisioners", &["users.view", "users.manage", "api.manage"]).await;
    let (_, maker) = app.signed_in("maker@example.com", "customer").await;
    app.put_in_group(maker.id, group).await;
    let (_, reached) = app.account_with_buildings("Harbor", 2).await;
    app.grant(maker.id, reached[0]).await;
    let t = token(&app, "maker@example.com", "scim users.view users.manage", 30).await;
    let mut body = new_user("sam@corp.example", "sam@example.com", "Sun");
    body["urn:concierge:params:scim:schemas:extension:2.0:User"] = json!({ "buildings": [reached[0].to_string()] });
    let a = scim(&app, "POST", "/Users", &t, Some(body.clone())).await;
    assert_eq!(a.status, 201, "{}", a.json);
    let id = id_of(&a);
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, id).unwrap()).await;
    assert_eq!(access.buildings.into_iter().collect::<Vec<_>>(), vec![reached[0]]);
    let a = scim(
        &app,
        "GET",
        &format!("/Users/{id}?attributes=urn:concierge:params:scim:schemas:extension:2.0:User:grants"),
        &t,
        None,
    )
    .await;
    assert_eq!(a.json["urn:concierge:params:scim:schemas:extension:2.0:User"]["grants"][0]["type"], "building");

    // The other building is out of the maker's reach: refused, nothing granted.
    let out = json!({ "Operations": [{ "op": "add", "path": "urn:concierge:params:scim:schemas:extension:2.0:User:buildings", "value": [reached[1].to_string()] }] });
    let a = scim(&app, "PATCH", &format!("/Users/{id}"), &t, Some(out)).await;
    assert_eq!(a.status, 403, "{}", a.json);
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, id).unwrap()).await;
    assert_eq!(access.buildings.len(), 1);

    // The owner and administrators are above this maker.
    let owner_id = app.with_db(|c| users_db::find_by_email(c, "owner@example.com").unwrap().unwrap().id).await;
    let (_, admin) = app.signed_in("admin@example.com", "admin").await;
    for target in [owner_id, admin.id] {
        let off = json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] });
        assert_eq!(scim(&app, "PATCH", &format!("/Users/{target}"), &t, Some(off)).await.status, 403);
        assert_eq!(scim(&app, "DELETE", &format!("/Users/{target}"), &t, None).await.status, 403);
        assert_eq!(user(&app, target).await.status(), UserStatus::Active);
    }
    // Nor may it make anyone an administrator.
    let promote = json!({ "Operations": [{ "op": "replace", "path": "urn:concierge:params:scim:schemas:extension:2.0:User:group", "value": "Admin" }] });
    assert_eq!(scim(&app, "PATCH", &format!("/Users/{id}"), &t, Some(promote)).await.status, 400);

    // Deleted is gone to SCIM, kept in the portal.
    assert_eq!(scim(&app, "DELETE", &format!("/Users/{id}"), &t, None).await.status, 204);
    assert_eq!(scim(&app, "GET", &format!("/Users/{id}"), &t, None).await.status, 404);
    assert_eq!(user(&app, id).await.status(), UserStatus::Deleted);
    assert_eq!(scim(&app, "DELETE", &format!("/Users/{id}"), &t, None).await.status, 404);
    let a = scim(&app, "POST", "/Users", &t, Some(body)).await;
    assert_eq!(a.status, 409);
}

#[actix_web::test]
async fn group_members_move_users_between_groups() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    let a = scim(&app, "POST", "/Users", &t, Some(new_user("kim@corp.example", "kim@example.com", "Kim"))).await;
    let kim = id_of(&a);
    let a = scim(
        &app,
        "POST",
        "/Groups",
        &t,
        Some(json!({ "displayName": "Night shift", "externalId": "g-1", "members": [{ "value": kim.to_string() }] })),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let group = id_of(&a);
    assert_eq!(user(&app, kim).await.group_id, group);
    let perms = app.with_db(move |c| concierge::db::groups::with_permissions(c, group).unwrap().unwrap().1).await;
    assert!(perms.iter().next().is_none(), "a group made by SCIM holds no permission");
    let a = scim(&app, "GET", "/Groups?filter=displayName%20eq%20%22night%20shift%22", &t, None).await;
    assert_eq!(a.json["totalResults"], 1);
    assert_eq!(a.json["Resources"][0]["members"][0]["value"], kim.to_string());

    let remove = json!({ "Operations": [{ "op": "remove", "path": format!("members[value eq \"{kim}\"]") }] });
    assert_eq!(scim(&app, "PATCH", &format!("/Groups/{group}"), &t, Some(remove)).await.status, 200);
    assert_eq!(user(&app, kim).await.group_id, app.builtin_group("customer").await);
    let add = json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": kim.to_string() }] }] });
    assert_eq!(scim(&app, "PATCH", &format!("/Groups/{group}"), &t, Some(add)).await.status, 200);
    assert_eq!(user(&app, kim).await.group_id, group);
    let bogus = json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "424242" }] }] });
    assert_eq!(scim(&app, "PATCH", &format!("/Groups/{group}"), &t, Some(bogus)).await.status, 400);
    // Deleting a group with members moves them to Customer first.
    assert_eq!(scim(&app, "DELETE", &format!("/Groups/{group}"), &t, None).await.status, 204);
    assert_eq!(user(&app, kim).await.group_id, app.builtin_group("customer").await);
    assert_eq!(scim(&app, "GET", &format!("/Groups/{group}"), &t, None).await.status, 404);
    // Built-in groups keep their names.
    let admin_group = app.builtin_group("admin").await;
    let rename = json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Root" }] });
    assert_eq!(scim(&app, "PATCH", &format!("/Groups/{admin_group}"), &t, Some(rename)).await.status, 403);
}

#[actix_web::test]
async fn a_token_is_limited_per_minute_with_retry_after() {
    let app = spawn_app_with(|c| c.api_requests_per_minute = 3).await;
    let t = admin_token(&app).await;
    for _ in 0..3 {
        assert_eq!(scim(&app, "GET", "/ServiceProviderConfig", &t, None).await.status, 200);
    }
    let a = scim(&app, "GET", "/Users", &t, None).await;
    assert_eq!(a.status, 429);
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Another token is not held back.
    let other = token(&app, "owner@example.com", "scim users.view", 30).await;
    assert_eq!(scim(&app, "GET", "/Users", &other, None).await.status, 200);
}

/// Percent-encodes a query value.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn a_token_cannot_rename_or_relabel_a_user_above_its_maker() {
    let app = spawn_app().await;
    app.create_owner().await;
    let group = app.custom_group("Provisioners", &["users.view", "users.manage", "api.manage"]).await;
    let (_, maker) = app.signed_in("maker@example.com", "customer").await;
    app.put_in_group(maker.id, group).await;
    let t = token(&app, "maker@example.com", "scim users.view users.manage", 30).await;
    let (_, admin) = app.signed_in("admin@example.com", "admin").await;
    // Only the provisioning names change: no other field, so no other rule is asked.
    for op in [
        json!({ "op": "replace", "path": "externalId", "value": "taken-over" }),
        json!({ "op": "replace", "path": "userName", "value": "someone-else" }),
    ] {
        let a = scim(&app, "PATCH", &format!("/Users/{}", admin.id), &t, Some(json!({ "Operations": [op] }))).await;
        assert_eq!(a.status, 403, "{}", a.json);
    }
    let saved = user(&app, admin.id).await;
    assert_eq!((saved.external_id, saved.user_name), (None, None));
}

#[actix_web::test]
async fn odd_bytes_in_attribute_lists_and_filters_are_answered_not_crashed() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    // A multi-byte character where the core schema's name would end; a NUL and a tab in values.
    for query in [
        "attributes=urn:ietf:params:scim:schemas:core:2.0:Use%C3%A9",
        "excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:%C3%A9%C3%A9",
        "attributes=%00,%09,%0D%0A",
    ] {
        let a = scim(&app, "GET", &format!("/Users?{query}"), &t, None).await;
        assert_eq!(a.status, 200, "{query}");
    }
    for filter in ["userName eq \"a\\u0000b\"", "name.givenName co \"\\t\""] {
        let a = scim(&app, "GET", &format!("/Users?filter={}", urlencoding(filter)), &t, None).await;
        assert_eq!((a.status, a.json["scimType"].as_str()), (400, Some("invalidFilter")), "{filter}");
    }
}

#[actix_web::test]
async fn user_names_are_one_whatever_their_case_beyond_ascii() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    let a =
        scim(&app, "POST", "/Users", &t, Some(new_user("Åsa.Öberg@corp.example", "asa@example.com", "Öberg"))).await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json["userName"], "Åsa.Öberg@corp.example", "kept as sent");
    let a =
        scim(&app, "POST", "/Users", &t, Some(new_user("åsa.öberg@CORP.example", "asa2@example.com", "Other"))).await;
    assert_eq!((a.status, a.json["scimType"].as_str()), (409, Some("uniqueness")));
    for filter in ["userName eq \"ÅSA.ÖBERG@corp.example\"", "userName sw \"åsa.ö\"", "userName co \"Ö\""] {
        let a = scim(&app, "GET", &format!("/Users?filter={}", urlencoding(filter)), &t, None).await;
        assert_eq!(a.json["totalResults"], 1, "{filter}");
    }
}

#[actix_web::test]
async fn groups_have_versions_that_move_with_their_members_and_filter_by_them() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    let kim =
        id_of(&scim(&app, "POST", "/Users", &t, Some(new_user("kim@corp.example", "kim@example.com", "Kim"))).await);
    let a = scim(&app, "POST", "/Groups", &t, Some(json!({ "displayName": "Day shift" }))).await;
    let (group, first) = (id_of(&a), a.headers["etag"].to_str().unwrap().to_owned());
    assert_eq!(first, a.json["meta"]["version"].as_str().unwrap());
    app.config.clock.advance(1);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let add = json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": kim.to_string() }] }] });
    let a = scim(&app, "PATCH", &format!("/Groups/{group}"), &t, Some(add)).await;
    assert_eq!(a.status, 200);
    assert_ne!(a.headers["etag"].to_str().unwrap(), first, "a new member is a new version");
    // A write over the first version is refused; nothing changes.
    let rename = json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Night shift" }] });
    let body = Some(rename.to_string().into_bytes());
    let a = scim_raw(&app, "PATCH", &format!("/Groups/{group}"), &t, body, &[("if-match", &first)]).await;
    assert_eq!(a.status, 412);
    let name = app.with_db(move |c| concierge::db::groups::find(c, group).unwrap().unwrap().name).await;
    assert_eq!(name, "Day shift");
    let filter = format!("members[value eq \"{kim}\"]");
    let a = scim(&app, "GET", &format!("/Groups?filter={}", urlencoding(&filter)), &t, None).await;
    assert_eq!(a.json["totalResults"], 1, "{}", a.json);
    assert_eq!(a.json["Resources"][0]["displayName"], "Day shift");
}

/// The outbox's warnings of a token's end: (to, subject).
async fn token_warnings(app: &TestApp) -> Vec<(String, String)> {
    use concierge::db::schema::outbox;
    use diesel::prelude::*;
    app.with_db(|c| {
        outbox::table
            .filter(outbox::kind.eq("api_token_ending"))
            .order(outbox::id)
            .select((outbox::to_address, outbox::subject))
            .load(c)
            .unwrap()
    })
    .await
}

#[actix_web::test]
async fn the_maker_is_mailed_once_a_week_before_a_token_ends() {
    let app = spawn_app().await;
    app.create_owner().await;
    app.create_user(UserSpec { email: "ada@example.com", first_name: "Ada", group: "admin", ..UserSpec::default() })
        .await;
    let gone = app
        .create_user(UserSpec { email: "gone@example.com", first_name: "Gus", group: "admin", ..UserSpec::default() })
        .await;
    token(&app, "owner@example.com", "scim users.view", 5).await;
    token(&app, "ada@example.com", "scim users.view", 10).await;
    token(&app, "gone@example.com", "scim users.view", 3).await;
    app.with_db(move |c| users_db::set_status(c, gone.id, UserStatus::Disabled).unwrap()).await;
    let housekeeping =
        |at: chrono::NaiveDateTime| app.with_db(move |c| concierge::ops::housekeeping::run_once(c, at).unwrap());

    let now = concierge::db::now();
    housekeeping(now).await;
    housekeeping(now).await;
    let warned = token_warnings(&app).await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, "owner@example.com");
    assert!(warned[0].1.contains("token of owner@example.com"), "{}", warned[0].1);

    // Four days on, Ada's is a week from its end; the owner's was told already, the disabled
    // maker's is never told.
    housekeeping(now + chrono::Duration::days(4)).await;
    let warned = token_warnings(&app).await;
    assert_eq!(warned.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(), ["owner@example.com", "ada@example.com"]);
}
