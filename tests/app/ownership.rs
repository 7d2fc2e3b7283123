//! Handing over ownership: only the owner, only to an active administrator, only with their
//! password; both are mailed, it is audited, the new owner can hand it back, and two attempts at
//! once leave exactly one owner.

use concierge::db::schema::{outbox, users};
use diesel::prelude::*;

use crate::helpers::*;

async fn owners(app: &TestApp) -> Vec<String> {
    app.with_db(|c| users::table.filter(users::is_owner.eq(true)).select(users::email).load(c).unwrap()).await
}

#[actix_web::test]
async fn the_owner_hands_ownership_to_an_administrator_who_can_hand_it_back() {
    let app = spawn_app().await;
    let (owner, olive) = app.signed_in_owner().await;
    let ada = app
        .create_user(UserSpec { email: "ada@example.com", first_name: "Ada", group: "admin", ..UserSpec::default() })
        .await;
    let rey = app.create_user(UserSpec { email: "rey@example.com", group: "regular", ..UserSpec::default() }).await;
    let page = owner.get("/organization/ownership").await;
    page.assert_status(200).assert_contains("Ada User (ada@example.com)");
    assert!(!page.body.contains("rey@example.com"), "only administrators are offered");

    // A wrong password, someone who is not an administrator, nonsense: refused, nothing moves.
    let ada_id = ada.id.to_string();
    let rey_id = rey.id.to_string();
    for (to, password, message) in [
        (ada_id.as_str(), "not my password", "This is not your current password."),
        (ada_id.as_str(), "", "Enter your password to confirm."),
        (rey_id.as_str(), PASSWORD, "Choose an active administrator."),
        ("-1", PASSWORD, "Choose an active administrator."),
        ("99999999999999999999", PASSWORD, "Choose an active administrator."),
        (&olive.id.to_string(), PASSWORD, "Choose an active administrator."),
    ] {
        let refused = owner.post("/organization/ownership", &[("new_owner", to), ("current_password", password)]).await;
        refused.assert_status(422).assert_contains(message);
    }
    assert_eq!(owners(&app).await, vec!["owner@example.com".to_owned()]);

    owner
        .post("/organization/ownership", &[("new_owner", &ada_id), ("current_password", PASSWORD)])
        .await
        .assert_redirect_to("/organization");
    assert_eq!(owners(&app).await, vec!["ada@example.com".to_owned()]);
    let mailed: Vec<String> = app
        .with_db(|c| outbox::table.filter(outbox::kind.eq("ownership")).select(outbox::to_address).load(c).unwrap())
        .await;
    assert_eq!(mailed.len(), 2);
    assert!(mailed.contains(&"ada@example.com".into()) && mailed.contains(&"owner@example.com".into()));
    assert!(app.audit_actions().await.contains(&"owner.handed_over".into()));
    owner.get("/audit?category=users").await.assert_contains("Olive Owner handed the ownership to Ada User.");

    // The old owner can no longer hand it over; the new one hands it back.
    owner.get("/organization/ownership").await.assert_status(403);
    owner
        .post("/organization/ownership", &[("new_owner", &olive.id.to_string()), ("current_password", PASSWORD)])
        .await
        .assert_status(403);
    owner.get("/organization").await.assert_contains("The owner is Ada User (ada@example.com)");
    let ada_browser = app.browser();
    ada_browser.sign_in("ada@example.com", PASSWORD).await.assert_redirect_to("/settings");
    ada_browser
        .post("/organization/ownership", &[("new_owner", &olive.id.to_string()), ("current_password", PASSWORD)])
        .await
        .assert_redirect_to("/organization");
    assert_eq!(owners(&app).await, vec!["owner@example.com".to_owned()]);
}

#[actix_web::test]
async fn two_hand_overs_at_once_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let ada = app.create_user(UserSpec { email: "ada@example.com", group: "admin", ..UserSpec::default() }).await;
    let bo = app.create_user(UserSpec { email: "bo@example.com", group: "admin", ..UserSpec::default() }).await;
    owner.get("/organization/ownership").await.assert_status(200);
    let (a, b) = (ada.id.to_string(), bo.id.to_string());
    let (to_a, to_b) = (
        [("new_owner", a.as_str()), ("current_password", PASSWORD)],
        [("new_owner", b.as_str()), ("current_password", PASSWORD)],
    );
    let (first, second) =
        tokio::join!(owner.post("/organization/ownership", &to_a), owner.post("/organization/ownership", &to_b));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    // The other is refused: in the hand-over (422), or, when the first has already made the
    // sender no longer the owner, at the door of the owner's page (403).
    assert!(matches!(statuses, [303, 403 | 422]), "one hand-over happens, the other is refused: {statuses:?}");
    let owners = owners(&app).await;
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(owners[0] == "ada@example.com" || owners[0] == "bo@example.com");
}
