//! DESIGN's table "Who may act on whom", walked over HTTP: every kind of actor × every kind of
//! target × every action, each tried for real and judged by what was stored afterwards. The
//! expected answer is the table restated here in its own words (not the app's rule code).

use std::collections::BTreeSet;

use concierge::db::schema::{audit_events, outbox, users};
use concierge::domain::UserStatus;
use diesel::prelude::*;

use crate::helpers::*;

const SUPPORT: [&str; 3] = ["users.view", "invites.send", "users.reset_password"];
const MANAGER: [&str; 4] = ["users.view", "users.manage", "users.impersonate", "users.reset_password"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Owner,
    Administrator,
    UserManager,
    Support,
    Regular,
    ReadOnly,
    Customer,
    BuildingsManager,
    GroupsManager,
    Impersonated,
}

impl Actor {
    fn permissions(self) -> BTreeSet<&'static str> {
        let keys: &[&str] = match self {
            Actor::Owner | Actor::Administrator => &EVERY_PERMISSION,
            Actor::UserManager => &MANAGER,
            Actor::Support => &SUPPORT,
            Actor::Regular => &["users.view", "buildings.edit"],
            Actor::ReadOnly => &["users.view"],
            Actor::Customer | Actor::Impersonated => &[],
            Actor::BuildingsManager => &["buildings.manage"],
            Actor::GroupsManager => &["groups.manage"],
        };
        keys.iter().copied().collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whom {
    Themself,
    TheOwner,
    AnotherAdministrator,
    PeerInReach,
    SupportMember,
    Deleted,
}

const TARGETS: [Whom; 6] =
    [Whom::Themself, Whom::TheOwner, Whom::AnotherAdministrator, Whom::PeerInReach, Whom::SupportMember, Whom::Deleted];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    See,
    EditInfo,
    ChangeEmail,
    ChangeGroup,
    Disable,
    Delete,
    Restore,
    SendReset,
    Impersonate,
    GrantBuilding,
}

const ACTS: [Act; 10] = [
    Act::See,
    Act::EditInfo,
    Act::ChangeEmail,
    Act::ChangeGroup,
    Act::Disable,
    Act::Delete,
    Act::Restore,
    Act::SendReset,
    Act::Impersonate,
    Act::GrantBuilding,
];

/// The table, restated: may `actor` do `act` to `whom`?
fn table(actor: Actor, whom: Whom, act: Act) -> bool {
    // An impersonated session never reaches a screen that needs a permission.
    if actor == Actor::Impersonated {
        return false;
    }
    let mine = actor.permissions();
    let has = |p: &str| mine.contains(p);
    let is_owner = actor == Actor::Owner;
    let (myself, owner, administrator, deleted) = match whom {
        Whom::Themself => (true, is_owner, mine.len() == EVERY_PERMISSION.len(), false),
        Whom::TheOwner => (is_owner, true, true, false),
        Whom::AnotherAdministrator => (false, false, true, false),
        Whom::PeerInReach | Whom::SupportMember => (false, false, false, false),
        Whom::Deleted => (false, false, false, true),
    };
    let theirs: BTreeSet<&str> = match whom {
        Whom::Themself => mine.clone(),
        Whom::TheOwner | Whom::AnotherAdministrator => EVERY_PERMISSION.into_iter().collect(),
        Whom::SupportMember => SUPPORT.into_iter().collect(),
        Whom::PeerInReach | Whom::Deleted => BTreeSet::new(),
    };
    let within = theirs.is_subset(&mine);
    // Row 2: edit info, reset link, …: not the owner unless A is; within A's permissions; an
    // administrator only for the owner. One's own account is changed on My Profile.
    let row2 = !myself && (!owner || is_owner) && within && (!administrator || is_owner);
    // Rows 4 and 5: group and status: never oneself or the owner; administrators for the owner.
    let status = !myself && !owner && within && (!administrator || is_owner);
    match act {
        Act::See => has("users.view"),
        Act::EditInfo | Act::ChangeEmail | Act::GrantBuilding => has("users.manage") && row2 && !deleted,
        // To Read-Only ({users.view}), within every user manager's permissions.
        Act::ChangeGroup | Act::Disable | Act::Delete => has("users.manage") && status && !deleted,
        Act::Restore => has("users.manage") && status && deleted,
        Act::SendReset => has("users.reset_password") && row2 && !deleted,
        Act::Impersonate => has("users.impersonate") && !myself && !owner && !administrator && within && !deleted,
    }
}

struct Scene {
    app: TestApp,
    browser: Browser,
    me: i64,
    owner: i64,
    building: i64,
    /// The group a group change moves people to: Read-Only, within every user manager's reach.
    read_only_group: i64,
}

async fn scene(actor: Actor) -> Scene {
    let app = spawn_app().await;
    let owner = app.create_owner().await;
    let (_, towers) = app.account_with_buildings("Harbor", 1).await;
    let read_only_group = app.builtin_group("read_only").await;
    let (browser, me) = match actor {
        Actor::Owner => {
            let browser = app.browser();
            browser.sign_in(&owner.email, PASSWORD).await.assert_redirect_to("/settings");
            (browser, owner.id)
        }
        Actor::Impersonated => {
            let browser = app.browser();
            browser.sign_in(&owner.email, PASSWORD).await.assert_redirect_to("/settings");
            let user =
                app.create_user(UserSpec { email: "played@example.com", group: "regular", ..UserSpec::default() });
            let user = user.await;
            browser
                .post(&format!("/users/{}/impersonate", user.id), &[("reason", "Checking what they see")])
                .await
                .assert_redirect_to("/settings");
            (browser, user.id)
        }
        _ => {
            let builtin = match actor {
                Actor::Administrator => Some("admin"),
                Actor::Support => Some("support"),
                Actor::Regular => Some("regular"),
                Actor::ReadOnly => Some("read_only"),
                Actor::Customer => Some("customer"),
                _ => None,
            };
            let group = match builtin {
                Some(key) => app.builtin_group(key).await,
                None => {
                    let keys: Vec<&str> = actor.permissions().into_iter().collect();
                    app.custom_group(&format!("Acting {actor:?}"), &keys).await
                }
            };
            let user = app.create_user(UserSpec { email: "actor@example.com", ..UserSpec::default() }).await;
            app.put_in_group(user.id, group).await;
            let browser = app.browser();
            browser.sign_in("actor@example.com", PASSWORD).await.assert_redirect_to("/settings");
            (browser, user.id)
        }
    };
    // Every actor reaches the building granted in the walk.
    let building = towers[0];
    app.grant(me, building).await;
    Scene { app, browser, me, owner: owner.id, building, read_only_group }
}

/// A fresh user of the kind, for one try.
async fn target(scene: &Scene, whom: Whom, n: usize) -> i64 {
    let email = format!("t{n}@example.com");
    let spec = |group, status| UserSpec { email: &email, group, status, ..UserSpec::default() };
    match whom {
        Whom::Themself => scene.me,
        Whom::TheOwner => scene.owner,
        Whom::AnotherAdministrator => scene.app.create_user(spec("admin", UserStatus::Active)).await.id,
        Whom::PeerInReach => scene.app.create_user(spec("customer", UserStatus::Active)).await.id,
        Whom::SupportMember => scene.app.create_user(spec("support", UserStatus::Active)).await.id,
        Whom::Deleted => scene.app.create_user(spec("customer", UserStatus::Deleted)).await.id,
    }
}

/// The pencil's form for `id` as it is saved, with `change` applied.
async fn info_form(app: &TestApp, id: i64, change: (&str, String)) -> Vec<(String, String)> {
    let u = app.user(id).await;
    let mut form: Vec<(String, String)> = [
        ("first_name", u.first_name),
        ("last_name", u.last_name),
        ("email", u.email),
        ("phone", u.phone),
        ("title", u.title),
        ("job_function", u.job_function),
        ("company", u.company),
        ("group_id", u.group_id.to_string()),
        ("version", u.version.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(field) = form.iter_mut().find(|(k, _)| k == change.0) {
        field.1 = change.1;
    }
    form
}

/// Tries `act` on `id` and answers whether it happened, read from what was stored.
async fn attempt(scene: &Scene, act: Act, id: i64) -> bool {
    let (app, browser) = (&scene.app, &scene.browser);
    let before = app.user(id).await;
    let post = |path: String, form: Vec<(String, String)>| async move {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        browser.post(&path, &fields).await
    };
    match act {
        Act::See => browser.get(&format!("/users/{id}")).await.status == 200,
        Act::EditInfo => {
            post(format!("/users/{id}"), info_form(app, id, ("title", "Changed title".into())).await).await;
            app.user(id).await.title == "Changed title"
        }
        Act::ChangeEmail => {
            post(format!("/users/{id}"), info_form(app, id, ("email", format!("moved-{id}@example.com"))).await).await;
            app.user(id).await.email == format!("moved-{id}@example.com")
        }
        Act::ChangeGroup => {
            let group = scene.read_only_group.to_string();
            post(format!("/users/{id}"), info_form(app, id, ("group_id", group)).await).await;
            app.user(id).await.group_id == scene.read_only_group && before.group_id != scene.read_only_group
        }
        Act::Disable | Act::Delete | Act::Restore => {
            let (path, to) = match act {
                Act::Disable => ("disable", UserStatus::Disabled),
                Act::Delete => ("delete", UserStatus::Deleted),
                _ => ("restore", UserStatus::Disabled),
            };
            post(format!("/users/{id}/{path}"), Vec::new()).await;
            let after = app.user(id).await.status();
            after == to && after != before.status()
        }
        Act::SendReset => {
            post(format!("/users/{id}/send-password-reset"), Vec::new()).await;
            let to = before.email.clone();
            let sent: i64 = app
                .with_db(move |c| {
                    outbox::table
                        .filter(outbox::to_address.eq(to))
                        .filter(outbox::kind.eq("password_reset"))
                        .count()
                        .get_result(c)
                        .unwrap()
                })
                .await;
            sent > 0
        }
        Act::Impersonate => {
            let earlier = impersonations_of(app, id).await;
            post(format!("/users/{id}/impersonate"), vec![("reason".into(), "Checking what they see".into())]).await;
            let started = impersonations_of(app, id).await - earlier;
            if started > 0 {
                // A new session began, with a new form token.
                browser.forget_csrf();
                browser.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{id}"));
                browser.forget_csrf();
            }
            started > 0
        }
        Act::GrantBuilding => {
            let b = scene.building.to_string();
            let had = app.access_of(id).await.buildings.contains(&scene.building);
            post(format!("/users/{id}/access"), vec![("building".into(), b)]).await;
            !had && app.access_of(id).await.buildings.contains(&scene.building)
        }
    }
}

async fn impersonations_of(app: &TestApp, id: i64) -> i64 {
    app.with_db(move |c| {
        audit_events::table
            .filter(audit_events::action.eq("impersonation.started"))
            .filter(audit_events::target_id.eq(id))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

async fn walk(actor: Actor) {
    let scene = scene(actor).await;
    let mut wrong = Vec::new();
    let mut n = 0;
    for act in ACTS {
        for whom in TARGETS {
            n += 1;
            let id = target(&scene, whom, n).await;
            let happened = attempt(&scene, act, id).await;
            if happened != table(actor, whom, act) {
                wrong.push(format!("{act:?} on {whom:?}: {}", if happened { "done" } else { "refused" }));
            }
        }
    }
    // The actor is still who they were: nothing above ended or changed their own session.
    let me = scene.app.user(scene.me).await;
    assert_eq!(me.status(), UserStatus::Active, "{actor:?} is still active");
    let still: i64 =
        scene.app.with_db(move |c| users::table.filter(users::id.eq(me.id)).count().get_result(c).unwrap()).await;
    assert_eq!(still, 1);
    assert!(wrong.is_empty(), "{actor:?} against the table:\n{}", wrong.join("\n"));
}

#[actix_web::test]
async fn the_owner_acts_as_the_table_says() {
    walk(Actor::Owner).await;
}

#[actix_web::test]
async fn an_administrator_acts_as_the_table_says() {
    walk(Actor::Administrator).await;
}

#[actix_web::test]
async fn a_user_manager_acts_as_the_table_says() {
    walk(Actor::UserManager).await;
}

#[actix_web::test]
async fn support_acts_as_the_table_says() {
    walk(Actor::Support).await;
}

#[actix_web::test]
async fn a_regular_user_acts_as_the_table_says() {
    walk(Actor::Regular).await;
}

#[actix_web::test]
async fn a_read_only_user_acts_as_the_table_says() {
    walk(Actor::ReadOnly).await;
}

#[actix_web::test]
async fn a_customer_acts_as_the_table_says() {
    walk(Actor::Customer).await;
}

#[actix_web::test]
async fn a_buildings_manager_acts_as_the_table_says() {
    walk(Actor::BuildingsManager).await;
}

#[actix_web::test]
async fn a_groups_manager_acts_as_the_table_says() {
    walk(Actor::GroupsManager).await;
}

#[actix_web::test]
async fn an_impersonated_session_acts_as_the_table_says() {
    walk(Actor::Impersonated).await;
}
