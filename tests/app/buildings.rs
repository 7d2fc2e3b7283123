//! Accounts & Buildings: who sees, edits and manages which building.

use concierge::db::schema::{accounts, buildings};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::*;

async fn building(app: &TestApp, account: &'static str, name: &'static str) -> (i64, i64) {
    app.with_db(move |c| {
        let at = concierge::db::now();
        let a: i64 = match accounts::table
            .filter(accounts::name.eq(account))
            .select(accounts::id)
            .first(c)
            .optional()
            .unwrap()
        {
            Some(id) => id,
            None => diesel::insert_into(accounts::table)
                .values((accounts::name.eq(account), accounts::created_at.eq(at), accounts::updated_at.eq(at)))
                .returning(accounts::id)
                .get_result(c)
                .unwrap(),
        };
        let b: i64 = diesel::insert_into(buildings::table)
            .values((
                buildings::account_id.eq(a),
                buildings::name.eq(name),
                buildings::street.eq("1 Main St"),
                buildings::city.eq("Reno"),
                buildings::country.eq("US"),
                buildings::created_at.eq(at),
                buildings::updated_at.eq(at),
            ))
            .returning(buildings::id)
            .get_result(c)
            .unwrap();
        (a, b)
    })
    .await
}

fn building_form<'a>(account: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("account_id", account),
        ("name", name),
        ("street", "9 Harbor Way"),
        ("city", "Reno"),
        ("region", "NV"),
        ("postal_code", "89501"),
        ("country", "US"),
    ]
}

#[actix_web::test]
async fn a_manager_creates_edits_grants_and_deletes() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    admin.post("/accounts/new", &[("name", "")]).await.assert_status(422).assert_contains("This is required");
    admin.post("/accounts/new", &[("name", "Harbor Holdings")]).await.assert_redirect_to("/buildings");
    admin
        .post("/accounts/new", &[("name", "harbor holdings")])
        .await
        .assert_status(422)
        .assert_contains("has this name already");
    let account: i64 = app.with_db(|c| accounts::table.select(accounts::id).first(c).unwrap()).await;
    let account_s = account.to_string();

    let mut bad = building_form(&account_s, "");
    bad[5] = ("postal_code", "<script>");
    admin
        .post("/buildings/new", &bad)
        .await
        .assert_status(422)
        .assert_contains("This is required")
        .assert_contains("Use letters, digits");
    let page = admin.post("/buildings/new", &building_form(&account_s, "Harbor One")).await;
    assert_eq!(page.status, 303);
    let id: i64 = app.with_db(|c| buildings::table.select(buildings::id).first(c).unwrap()).await;
    admin.get("/buildings").await.assert_contains("Harbor Holdings").assert_contains("Harbor One");
    admin
        .post(&format!("/buildings/{id}"), &building_form(&account_s, "Harbor One East"))
        .await
        .assert_redirect_to(&format!("/buildings/{id}"));

    let (_, nina) = app.signed_in("nina@example.com", "customer").await;
    admin
        .post(&format!("/buildings/{id}/access"), &[("email", "NINA@example.com")])
        .await
        .assert_redirect_to(&format!("/buildings/{id}"));
    let show = admin.get(&format!("/buildings/{id}")).await;
    show.assert_contains("direct grant")
        .assert_contains("nina@example.com")
        .assert_contains("their group reaches every building");
    admin.get(&format!("/buildings/{id}/delete")).await.assert_contains("1 property-access grant(s) go with it");
    let revoke = nina.id.to_string();
    admin.post(&format!("/buildings/{id}/access"), &[("revoke", &revoke)]).await;
    admin.get(&format!("/buildings/{id}/delete")).await.assert_contains("No one has been granted it");
    admin.post(&format!("/buildings/{id}/delete"), &[]).await.assert_redirect_to("/buildings");
    admin.get(&format!("/accounts/{account}/delete")).await.assert_contains("0 building(s)");
    admin.post(&format!("/accounts/{account}/delete"), &[]).await.assert_redirect_to("/buildings");
    let actions = app.audit_actions().await;
    for a in ["account.created", "building.created", "building.updated", "building.deleted", "account.deleted"] {
        assert!(actions.contains(&a.to_owned()), "{a}");
    }
}

#[actix_web::test]
async fn a_customer_sees_only_the_buildings_they_reach() {
    let app = spawn_app().await;
    let (_, mine) = building(&app, "Harbor", "Mine Tower").await;
    let (_, other) = building(&app, "Harbor", "Other Tower").await;
    let (browser, user) = app.signed_in("cu@example.com", "customer").await;
    app.grant(user.id, mine).await;
    let list = browser.get("/buildings").await;
    list.assert_status(200).assert_contains("Mine Tower");
    assert!(!list.body.contains("Other Tower"));
    browser.get(&format!("/buildings/{mine}")).await.assert_status(200);
    browser.get(&format!("/buildings/{other}")).await.assert_status(404);
    browser.get("/buildings/new").await.assert_status(403);
    browser.get(&format!("/buildings/{mine}/edit")).await.assert_status(403);
}

#[actix_web::test]
async fn a_read_only_user_cannot_edit_a_building() {
    let app = spawn_app().await;
    let (account, b) = building(&app, "Harbor", "Harbor One").await;
    let (browser, user) = app.signed_in("ro@example.com", "read_only").await;
    app.grant(user.id, b).await;
    let a = account.to_string();
    browser.post(&format!("/buildings/{b}"), &building_form(&a, "Renamed")).await.assert_status(403);
    let name: String = app.with_db(move |c| buildings::table.find(b).select(buildings::name).first(c).unwrap()).await;
    assert_eq!(name, "Harbor One");
}

#[actix_web::test]
async fn a_regular_user_edits_only_the_buildings_they_reach() {
    let app = spawn_app().await;
    let (account, mine) = building(&app, "Harbor", "Mine Tower").await;
    let (other_account, other) = building(&app, "Lakeside", "Other Tower").await;
    let (browser, user) = app.signed_in("reg@example.com", "regular").await;
    app.grant(user.id, mine).await;
    let a = account.to_string();
    browser.get(&format!("/buildings/{mine}/edit")).await.assert_status(200);
    // Moving it to another account is a manager's change: the account stays.
    let moved = other_account.to_string();
    browser
        .post(&format!("/buildings/{mine}"), &building_form(&moved, "Mine Tower West"))
        .await
        .assert_redirect_to(&format!("/buildings/{mine}"));
    let (name, acc): (String, i64) = app
        .with_db(move |c| {
            buildings::table.find(mine).select((buildings::name, buildings::account_id)).first(c).unwrap()
        })
        .await;
    assert_eq!((name.as_str(), acc), ("Mine Tower West", account));
    browser.post(&format!("/buildings/{other}"), &building_form(&a, "Hijacked")).await.assert_status(404);
    browser.post(&format!("/buildings/{mine}/delete"), &[]).await.assert_status(403);
    browser.post(&format!("/buildings/{mine}/access"), &[("email", "reg@example.com")]).await.assert_status(403);
}

#[actix_web::test]
async fn ten_thousand_buildings_stay_searchable_and_paged() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let pg = app.database.is_postgres();
    app.with_db(move |c| {
        let now = if pg { "now()" } else { "CURRENT_TIMESTAMP" };
        c.batch_execute(&format!("INSERT INTO accounts (name, created_at, updated_at) VALUES ('Big Portfolio', {now}, {now})")).unwrap();
        let series = if pg {
            format!("INSERT INTO buildings (account_id, name, city, created_at, updated_at) SELECT (SELECT id FROM accounts), 'Tower ' || n, 'Reno', {now}, {now} FROM generate_series(1, 10000) AS n")
        } else {
            format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO buildings (account_id, name, city, created_at, updated_at) SELECT (SELECT id FROM accounts), 'Tower ' || i, 'Reno', {now}, {now} FROM n")
        };
        c.batch_execute(&series).unwrap();
    })
    .await;
    let page = admin.get("/buildings").await;
    page.assert_status(200).assert_contains("10000 in all").assert_contains("rel=\"next\"");
    admin.get("/buildings?q=tower%209999").await.assert_contains("Tower 9999").assert_contains("1 in all");
    admin.get("/buildings?page=199").await.assert_status(200).assert_contains("rel=\"prev\"");
}
