//! What an administrator meets in the first week: error pages that keep the way back, bulk
//! actions that say whom they touch, invitations listed as they stand.

use concierge::domain::UserStatus;

use crate::helpers::*;

#[actix_web::test]
async fn an_error_page_keeps_the_frame_of_a_signed_in_person() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let page = admin.get("/users/987654321").await;
    page.assert_status(404).assert_contains("Page not found");
    page.assert_contains("aria-label=\"Settings\"").assert_contains("action=\"/sign-out\"");

    // A visitor gets the bare page: nothing of the frame, nobody named.
    let visitor = app.browser();
    let bare = visitor.get("/no-such-page").await;
    bare.assert_status(404).assert_contains("Page not found");
    assert!(!bare.body.contains("/sign-out"), "{}", bare.body);

    // An administrator signed in as someone who meets a refusal keeps the way back.
    let user = app.create_user(UserSpec { email: "reg@example.com", group: "regular", ..UserSpec::default() }).await;
    admin
        .post(&format!("/users/{}/impersonate", user.id), &[("reason", "Checking what they see")])
        .await
        .assert_redirect_to("/settings");
    let refused = admin.get("/users").await;
    refused.assert_status(403).assert_contains("Not allowed");
    refused.assert_contains("action=\"/impersonation/stop\"").assert_contains("Return to your own account");
    let lost = admin.get("/buildings/987654321").await;
    lost.assert_status(404).assert_contains("action=\"/impersonation/stop\"");
    admin.post("/impersonation/stop", &[]).await.assert_redirect_to(&format!("/users/{}", user.id));
    admin.get("/users").await.assert_status(200);
}

#[actix_web::test]
async fn a_bulk_delete_names_each_person_first_and_says_whom_it_deleted() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let ava = app.create_user(UserSpec { email: "ava@example.com", first_name: "Ava", ..UserSpec::default() }).await;
    let bo = app.create_user(UserSpec { email: "bo@example.com", first_name: "Bo", ..UserSpec::default() }).await;
    let (a, b) = (ava.id.to_string(), bo.id.to_string());
    let chosen = [("ids", a.as_str()), ("ids", b.as_str()), ("action", "delete"), ("return_to", "/users?q=example")];

    // Asked first: nothing is deleted, and the page names each person by name and email.
    let asked = admin.post("/users/bulk", &chosen).await;
    let confirm = asked.location().expect("sent to confirm").to_owned();
    assert!(confirm.starts_with("/users/bulk?"), "{confirm}");
    assert_eq!(app.user(ava.id).await.status(), UserStatus::Active);
    let page = admin.get(&confirm).await;
    page.assert_status(200).assert_contains("Delete users").assert_contains("Delete 2 users");
    page.assert_contains(&ava.full_name()).assert_contains("ava@example.com").assert_contains("bo@example.com");
    let cancel = format!("/users?q=example&#38;selected={a},{b}");
    page.assert_contains(&cancel);

    // Confirmed from that page's own form: both deleted, named, with the way back.
    page.form("/users/bulk").submit(&admin).await.assert_redirect_to("/users?q=example");
    assert_eq!(app.user(ava.id).await.status(), UserStatus::Deleted);
    assert_eq!(app.user(bo.id).await.status(), UserStatus::Deleted);
    let list = admin.get("/users?q=example").await;
    list.assert_contains(&format!("Deleted {} and {}.", ava.full_name(), bo.full_name()));
    list.assert_contains("Restore them");

    // "Restore them" asks too, then restores the same two.
    let restore = admin.get(&format!("/users/bulk?action=restore&ids={a}&ids={b}&return_to=/users")).await;
    restore.assert_status(200).assert_contains("Restore 2 users");
    restore.form("/users/bulk").submit(&admin).await.assert_redirect_to("/users");
    assert_ne!(app.user(ava.id).await.status(), UserStatus::Deleted);
    assert_ne!(app.user(bo.id).await.status(), UserStatus::Deleted);
}

#[actix_web::test]
async fn a_refused_bulk_action_keeps_the_selection() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let ava = app.create_user(UserSpec { email: "ava@example.com", ..UserSpec::default() }).await;
    let a = ava.id.to_string();
    // No action chosen: back to the list with Ava still ticked.
    let page = admin.post("/users/bulk", &[("ids", &a), ("action", ""), ("return_to", "/users")]).await;
    let back = page.location().expect("back to the list").to_owned();
    assert_eq!(back, format!("/users?selected={a}"));
    let list = admin.get(&back).await;
    list.assert_contains("Choose an action");
    list.assert_contains(&format!("value=\"{a}\" id=\"f-select-{a}\" form=\"bulk\" checked"));

    // A group that does not exist, confirmed: refused, nothing moved, the selection kept.
    let before = app.user(ava.id).await.group_id;
    let fields = [("ids", a.as_str()), ("action", "change_group"), ("group_id", "987654"), ("confirm", "1")];
    let refused = admin.post("/users/bulk", &fields).await;
    assert_eq!(refused.location(), Some(format!("/users?selected={a}").as_str()));
    assert_eq!(app.user(ava.id).await.group_id, before);

    // Asked for a group first: the page offers the groups and moves them once one is chosen.
    let regular = app.builtin_group("regular").await.to_string();
    let asked = admin.post("/users/bulk", &[("ids", &a), ("action", "change_group")]).await;
    let page = admin.get(asked.location().unwrap()).await;
    page.assert_contains("Move them to the group").assert_contains("ava@example.com");
    // A link cannot choose the group in advance: one click must not move people somewhere.
    let crafted = admin.get(&format!("/users/bulk?action=change_group&ids={a}&group_id={regular}")).await;
    assert!(!crafted.body.contains(&format!("value=\"{regular}\" selected")), "{}", crafted.body);
    page.form("/users/bulk").set("group_id", &regular).submit(&admin).await.assert_redirect_to("/users");
    assert_eq!(app.user(ava.id).await.group_id.to_string(), regular);
    admin.get("/users").await.assert_contains(&format!("Moved {} to Regular.", ava.full_name()));
}

#[actix_web::test]
async fn pending_invites_lists_each_persons_latest_invitation_and_whether_they_have_an_account() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let customer = app.builtin_group("customer").await.to_string();
    let mut form = admin.get("/users/new").await.form("/users/new");
    for (name, value) in [
        ("first_name", "Ivy"),
        ("last_name", "Invitee"),
        ("email", "ivy@example.com"),
        ("phone", "+1 702 555 0142"),
        ("title", "Rep"),
        ("job_function", "tenant"),
        ("group_id", &customer),
        ("entry", "invite"),
    ] {
        form = form.set(name, value);
    }
    form.submit(&admin).await.assert_status(303);
    let ivy = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap()).await;
    for _ in 0..2 {
        admin.post(&format!("/users/{}/resend-invite", ivy.id), &[]).await.assert_status(303);
    }
    let rows = |page: &Page| page.body.matches(&format!("href=\"/users/{}\"", ivy.id)).count();
    let latest = admin.get("/invites").await;
    assert_eq!(rows(&latest), 1, "the replaced invitations are not listed:\n{}", latest.body);
    latest.assert_contains("Open").assert_contains("Show replaced invitations too");
    let every = admin.get("/invites?replaced=1").await;
    assert_eq!(rows(&every), 3);
    every.assert_contains("Replaced");

    // A disabled person has an account: "User created" says so.
    app.with_db(move |c| {
        use concierge::db::schema::users as u;
        use diesel::prelude::*;
        diesel::update(u::table.find(ivy.id)).set(u::status.eq("disabled")).execute(c).unwrap()
    })
    .await;
    let page = admin.get("/invites").await;
    page.assert_contains("<td data-label=\"User created\"><span class=\"badge ok\">Yes</span></td>");
}

#[actix_web::test]
async fn a_new_account_without_buildings_is_listed() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let form = admin.get("/accounts/new").await.form("/accounts/new");
    form.set("name", "Juniper Holdings").submit(&admin).await.assert_status(303);
    let page = admin.get("/buildings").await;
    page.assert_contains("Accounts without buildings").assert_contains("Juniper Holdings");
    admin.get("/buildings?q=juniper").await.assert_contains("Juniper Holdings");
    let other = admin.get("/buildings?q=cedar").await;
    assert!(!other.body.contains("Juniper"), "a search narrows them too");
}

#[actix_web::test]
async fn the_users_list_says_how_many_where_and_what_is_hidden() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    for i in 0..30 {
        let email = format!("person{i:02}@example.com");
        app.create_user(UserSpec { email: &email, ..UserSpec::default() }).await;
    }
    let first = admin.get("/users?per_page=25&sort=email").await;
    // Thirty people and the owner.
    first
        .assert_contains("<strong>31 users</strong> · 1–25")
        .assert_contains("Email <span aria-hidden=\"true\">▲</span>");
    let next = first.body.split("href=\"").filter_map(|h| h.split_once("\" rel=\"next\"")).map(|(h, _)| h).next();
    let next = next.expect("a next page").replace("&#38;", "&");
    let second = admin.get(&next).await;
    second.assert_contains("31 users</strong> · 26–31").assert_contains("First page");

    // A disabled person found only when the disabled are shown: the list says so.
    let gone = app.create_user(UserSpec { email: "zed@example.com", ..UserSpec::default() }).await;
    admin.post(&format!("/users/{}/disable", gone.id), &[]).await;
    let none = admin.get("/users?q=zed").await;
    none.assert_contains("No users match").assert_contains("Some disabled or deleted users match");
    none.assert_contains("/users?q=zed&#38;show_disabled=1");
    admin.get("/users?q=zed&show_disabled=1").await.assert_contains("zed@example.com");
}

#[actix_web::test]
async fn a_form_sent_back_says_how_many_fields_and_links_to_each() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let form = admin.get("/users/new").await.form("/users/new");
    let page =
        form.set("first_name", "Nina").set("email", "not an email").set("entry", "password").submit(&admin).await;
    page.assert_status(422).assert_contains("fields need attention:");
    page.assert_contains("<a href=\"#f-email\">Enter an email address like");
    page.assert_contains("<a href=\"#f-group_id\">Choose a group");
    // The message sits under its field, what was typed kept.
    let email = page.body.find("id=\"f-email\"").unwrap();
    let message = page.body.find("id=\"f-email-error\"").unwrap();
    assert!(email < message, "the message follows the field");
    page.assert_contains("value=\"not an email\"");
    // A password chosen now is needed, not "optional".
    assert!(!page.body.contains("Password <span class=\"optional\">"), "{}", page.body);

    // One field: "One field needs".
    let profile = admin.get("/profile/edit").await.form("/profile");
    let page = profile.set("phone", "call me").submit(&admin).await;
    page.assert_contains("One field needs attention:").assert_contains("<a href=\"#f-phone\">");
}

#[actix_web::test]
async fn before_an_owner_exists_sign_in_says_how_to_get_the_setup_link() {
    let app = spawn_app().await;
    let visitor = app.browser();
    visitor.get("/sign-in").await.assert_contains("Nobody has set up this portal yet").assert_contains("create-owner");
    app.create_owner().await;
    let page = visitor.get("/sign-in").await;
    assert!(!page.body.contains("Nobody has set up"), "{}", page.body);
}

#[actix_web::test]
async fn get_started_ticks_each_first_step_and_can_be_put_away() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_owner().await;
    let page = owner.get("/profile").await;
    page.assert_contains("Get started").assert_contains("(0 of 4 done)");

    let organization = owner.get("/organization").await.form("/organization");
    organization.set("org_name", "Harbor Properties").submit(&owner).await.assert_status(303);
    app.account_with_buildings("Harbor", 1).await;
    app.create_user(UserSpec { email: "ivy@example.com", ..UserSpec::default() }).await;
    owner.get("/profile").await.assert_contains("(3 of 4 done)");

    // Nobody else sees it; whoever manages the settings puts it away for all.
    let (regular, _) = app.signed_in("reg@example.com", "regular").await;
    let theirs = regular.get("/profile").await;
    assert!(!theirs.body.contains("Get started"));
    regular.post("/organization/get-started/dismiss", &[]).await.assert_status(403);
    owner
        .get("/profile")
        .await
        .form("/organization/get-started/dismiss")
        .submit(&owner)
        .await
        .assert_redirect_to("/profile");
    let after = owner.get("/profile").await;
    assert!(!after.body.contains("Get started <span"), "{}", after.body);
    let stored =
        app.with_db(|c| concierge::db::settings::get(c, concierge::db::settings::keys::GET_STARTED).unwrap()).await;
    assert_eq!(stored.as_deref(), Some("dismissed"));
}

#[actix_web::test]
async fn the_history_on_a_users_page_reads_as_sentences_with_names() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let user = app.create_user(UserSpec { email: "yusuf@example.com", ..UserSpec::default() }).await;
    let form = admin.get(&format!("/users/{}/edit", user.id)).await.form(&format!("/users/{}", user.id));
    let before = form.get("title").unwrap_or_default().to_owned();
    form.set("title", "Senior technician").submit(&admin).await.assert_status(303);
    assert_eq!(app.user(user.id).await.title, "Senior technician");
    admin.post(&format!("/users/{}/disable", user.id), &[]).await;
    let page = admin.get(&format!("/users/{}", user.id)).await;
    let shown = if before.is_empty() { "(none)".to_owned() } else { before };
    page.assert_contains(&format!("Olive Owner (owner@example.com) changed Title: {shown} → Senior technician."));
    page.assert_contains("Olive Owner (owner@example.com) disabled the user.")
        .assert_contains("<summary>Recorded details</summary>");
}

#[actix_web::test]
async fn a_group_is_deleted_from_a_page_that_asks_first() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let group = app.custom_group("Night shift", &["users.view"]).await;
    let member = app.create_user(UserSpec { email: "nia@example.com", ..UserSpec::default() }).await;
    app.put_in_group(member.id, group).await;

    let edit = admin.get(&format!("/groups/{group}")).await;
    edit.assert_contains(&format!("href=\"/groups/{group}/delete\""));
    assert!(!edit.body.contains("data-confirm"), "no script needed to be asked");
    // With a member: the page says what to do, and offers no button.
    let asked = admin.get(&format!("/groups/{group}/delete")).await;
    asked.assert_status(200).assert_contains("1 user is still in this group");
    assert!(!asked.body.contains(&format!("action=\"/groups/{group}/delete\"")));

    let customer = app.builtin_group("customer").await;
    app.put_in_group(member.id, customer).await;
    let asked = admin.get(&format!("/groups/{group}/delete")).await;
    asked.assert_contains("Nobody is in it");
    asked.form(&format!("/groups/{group}/delete")).submit(&admin).await.assert_redirect_to("/groups");
    let gone = app.with_db(move |c| concierge::db::groups::find(c, group).unwrap()).await;
    assert!(gone.is_none());
    // A built-in group has no such page.
    admin.get(&format!("/groups/{customer}/delete")).await.assert_status(404);
}

#[actix_web::test]
async fn select_all_on_a_page_works_without_the_script_and_bulk_returns_to_that_page() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let email = format!("p{i:02}@example.com");
        ids.push(app.create_user(UserSpec { email: &email, ..UserSpec::default() }).await.id);
    }
    let first = admin.get("/users?per_page=25&sort=email").await;
    let next = first.body.split("href=\"").filter_map(|h| h.split_once("\" rel=\"next\"")).map(|(h, _)| h).next();
    let second_href = next.unwrap().replace("&#38;", "&");
    let second = admin.get(&second_href).await;
    let select_all = second.body.split("href=\"").filter_map(|h| h.split_once("\">Select all ")).map(|(h, _)| h).next();
    let ticked = admin.get(&select_all.expect("a select-all link").replace("&#38;", "&")).await;
    // Every row of this page is ticked, none of the first page's.
    let checked = ticked.body.matches("form=\"bulk\" checked>").count();
    assert_eq!(checked, 6, "the 6 rows of page 2");
    assert!(ticked.body.contains("p29@example.com"));
    // The bulk form returns to this page, not to the first.
    let form = ticked.form("/users/bulk");
    assert!(form.get("return_to").is_some_and(|r| r.contains("after=")), "{:?}", form.get("return_to"));
}

#[actix_web::test]
async fn every_mail_has_a_styled_html_part_and_plain_text() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let user = app.create_user(UserSpec { email: "ivy@example.com", ..UserSpec::default() }).await;
    admin.post(&format!("/users/{}/send-password-reset", user.id), &[]).await.assert_status(303);
    let mails: Vec<(String, String)> = app
        .with_db(|c| {
            use concierge::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.select((outbox::body_text, outbox::body_html)).load(c).unwrap()
        })
        .await;
    assert!(!mails.is_empty());
    for (text, html) in mails {
        assert!(html.contains("name=\"viewport\"") && html.contains("style=\""), "{html}");
        assert!(html.contains("max-width:560px"), "one column, narrow enough for a phone");
        assert!(!html.contains("<script"), "{html}");
        assert!(!text.contains('<'), "the text part is plain: {text}");
    }
}

#[actix_web::test]
async fn dates_follow_the_organizations_time_zone_or_a_users_own() {
    let app = spawn_app().await;
    let (owner, me) = app.signed_in_owner().await;
    // A zone that does not exist is explained beside its field, what was typed kept.
    let org = owner.get("/organization").await.form("/organization");
    let page = org.clone().set("time_zone", "Mars/Olympus").submit(&owner).await;
    page.assert_status(422).assert_contains("value=\"Mars/Olympus\"").assert_contains("an IANA name");
    let page = org.clone().set("time_zone", "Europe/Berlin\0").submit(&owner).await;
    assert!(page.status < 500, "{}", page.status);
    org.set("time_zone", "europe/berlin").submit(&owner).await.assert_status(303);
    let stored =
        app.with_db(|c| concierge::db::settings::get(c, concierge::db::settings::keys::TIME_ZONE).unwrap()).await;
    assert_eq!(stored.as_deref(), Some("Europe/Berlin"), "stored by its own name");
    let shown = owner.get(&format!("/users/{}", me.id)).await;
    assert!(shown.body.contains(" CET") || shown.body.contains(" CEST"), "{}", shown.body);

    // A user's own zone wins, for them only.
    let profile = owner.get("/profile/edit").await.form("/profile");
    profile.set("time_zone", "America/New_York").submit(&owner).await.assert_redirect_to("/profile");
    assert_eq!(app.user(me.id).await.time_zone, "America/New_York");
    let mine = owner.get(&format!("/users/{}", me.id)).await;
    assert!(mine.body.contains(" EST") || mine.body.contains(" EDT"), "{}", mine.body);
    owner.get("/profile").await.assert_contains("America/New_York");
    let (other, _) = app.signed_in("reg@example.com", "admin").await;
    let theirs = other.get(&format!("/users/{}", me.id)).await;
    assert!(theirs.body.contains(" CET") || theirs.body.contains(" CEST"), "{}", theirs.body);
}
