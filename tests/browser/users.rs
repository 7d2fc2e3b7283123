//! The Users tab in a real browser: add → edit → Property Access → disable → delete → restore,
//! then an invitation followed from its mail to a signed-in invitee. axe-core on every page.

use concierge::db::schema::{accounts, buildings, outbox};
use diesel::prelude::*;
use fantoccini::Locator;

use crate::browser::{Walk, available, validate_html};
use crate::helpers::*;

const WALK: &str = "users";

/// Clicks the checkbox or radio button of the label that meets `condition` (an XPath test).
async fn click_input_labelled(walk: &Walk, condition: &str) {
    let xpath = format!("//label[{condition}]/preceding-sibling::input");
    walk.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|_| panic!("{xpath}")).click().await.unwrap();
}

async fn select(walk: &Walk, id: &str, visible_text: &str) {
    let select = walk.client.find(Locator::Id(id)).await.unwrap();
    select.select_by_label(visible_text).await.unwrap();
}

#[actix_web::test]
async fn an_admin_walks_a_user_through_their_whole_lifecycle() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    app.with_db(|conn| {
        let at = concierge::db::now();
        let account: i64 = diesel::insert_into(accounts::table)
            .values((accounts::name.eq("Harbor Holdings"), accounts::created_at.eq(at), accounts::updated_at.eq(at)))
            .returning(accounts::id)
            .get_result(conn)
            .unwrap();
        for name in ["Harbor One", "Harbor Two"] {
            diesel::insert_into(buildings::table)
                .values((
                    buildings::account_id.eq(account),
                    buildings::name.eq(name),
                    buildings::created_at.eq(at),
                    buildings::updated_at.eq(at),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
    let mut walk = Walk::start(&app.address, WALK).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/users").await;
    walk.check_accessibility().await;

    walk.click("a[href='/users/new']").await;
    walk.check_accessibility().await;
    walk.press("Save").await;
    assert!(walk.text().await.contains("Enter an email address"));
    walk.check_accessibility().await;
    walk.fill("first_name", "Nina").await;
    walk.fill("last_name", "Novak").await;
    walk.fill("email", "nina@example.com").await;
    walk.fill("phone", "+1 702 555 0199").await;
    walk.fill("title", "Property manager").await;
    select(&walk, "f-job_function", "Property manager").await;
    select(&walk, "f-group_id", "Regular").await;
    walk.click(".grant-more > summary").await;
    walk.click("#f-all-buildings").await;
    walk.press("Save").await;
    assert!(walk.text().await.contains("an invitation is on its way"), "{}", walk.text().await);
    assert!(walk.path().await.starts_with("/users/"));
    walk.check_accessibility().await;

    walk.click("a[aria-label='Edit Nina Novak']").await;
    walk.check_accessibility().await;
    walk.fill("title", "Director").await;
    walk.press("Save changes").await;
    assert!(walk.text().await.contains("Changes saved"));
    assert!(walk.text().await.contains("Director"));

    click_input_labelled(&walk, "contains(., 'Harbor Two')").await;
    walk.press("Save Property Access").await;
    assert!(walk.text().await.contains("Property Access saved"));

    walk.press("Disable").await;
    assert!(walk.text().await.contains("is disabled"));
    walk.press("Enable").await;
    walk.click("a.button.danger").await;
    assert!(walk.text().await.contains("Delete Nina Novak?"));
    walk.check_accessibility().await;
    walk.click("a.button[href^='/users/']").await;
    assert!(walk.text().await.contains("Invited"), "Cancel keeps the user");
    walk.click("a.button.danger").await;
    walk.press("Delete").await;
    assert!(walk.text().await.contains("was deleted"));
    walk.press("Restore").await;
    assert!(walk.text().await.contains("was restored as disabled"));
    walk.check_accessibility().await;

    walk.visit("/invites").await;
    walk.check_accessibility().await;

    // An invitation followed from its mail: the link comes from the outbox, as sent.
    walk.visit("/users/new").await;
    walk.fill("first_name", "Ivy").await;
    walk.fill("last_name", "Invitee").await;
    walk.fill("email", "ivy@example.com").await;
    walk.fill("phone", "+1 702 555 0142").await;
    walk.fill("title", "Tenant rep").await;
    select(&walk, "f-job_function", "Tenant").await;
    select(&walk, "f-group_id", "Customer").await;
    walk.press("Save").await;
    let body: String = app
        .with_db(|c| {
            outbox::table.filter(outbox::to_address.eq("ivy@example.com")).select(outbox::body_text).first(c).unwrap()
        })
        .await;
    let start = body.find("/invite/").unwrap();
    let path: String = body[start..].split_whitespace().next().unwrap().to_owned();
    let summary = walk.client.find(Locator::Css("details.menu summary")).await.unwrap();
    summary.click().await.unwrap();
    walk.press("Sign out").await;
    walk.visit(&path).await;
    walk.check_accessibility().await;
    walk.fill("password", PASSWORD).await;
    walk.fill("password_confirm", PASSWORD).await;
    walk.press("Set up my account").await;
    assert_eq!(walk.path().await, "/profile");
    assert!(walk.text().await.contains("Welcome, Ivy"));

    for public in ["/forgot-password", "/sign-in"] {
        walk.visit(public).await;
    }
    walk.finish().await;
    validate_html(WALK);
}

#[actix_web::test]
async fn the_public_account_pages_are_accessible() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.with_db(|c| concierge::db::settings::set(c, "self_signup", "true").unwrap()).await;
    let mut walk = Walk::start(&app.address, "public").await;
    for page in ["/sign-in", "/forgot-password", "/signup"] {
        walk.visit(page).await;
        walk.check_accessibility().await;
    }
    walk.fill("email", "someone@example.com").await;
    walk.press("Sign up").await;
    walk.check_accessibility().await;
    walk.visit("/forgot-password").await;
    walk.fill("email", "someone@example.com").await;
    walk.press("Send the link").await;
    assert!(walk.text().await.contains("If an active account uses that address"));
    walk.check_accessibility().await;
    walk.visit(&format!("/invite/{}", "0".repeat(64))).await;
    walk.check_accessibility().await;
    walk.finish().await;
    validate_html("public");
}

#[actix_web::test]
async fn with_hundreds_of_buildings_an_admin_finds_one_and_grants_it() {
    if !available() {
        return;
    }
    const BIG: &str = "users-many-buildings";
    let app = spawn_app().await;
    app.create_owner().await;
    let nina = app.create_user(UserSpec { email: "nina@example.com", first_name: "Nina", ..UserSpec::default() }).await;
    app.with_db(|conn| {
        let at = concierge::db::now();
        for account_name in ["Harbor Holdings", "Cedar Estates"] {
            let account: i64 = diesel::insert_into(accounts::table)
                .values((accounts::name.eq(account_name), accounts::created_at.eq(at), accounts::updated_at.eq(at)))
                .returning(accounts::id)
                .get_result(conn)
                .unwrap();
            for i in 0..160 {
                diesel::insert_into(buildings::table)
                    .values((
                        buildings::account_id.eq(account),
                        buildings::name.eq(format!("{} {i}", &account_name[..5])),
                        buildings::created_at.eq(at),
                        buildings::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .unwrap();
            }
        }
    })
    .await;
    let mut walk = Walk::start(&app.address, BIG).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/users/new").await;
    assert!(walk.text().await.contains("too many buildings to list here"));
    walk.check_accessibility().await;

    walk.visit(&format!("/users/{}", nina.id)).await;
    walk.check_accessibility().await;
    walk.click(".grant-more > summary").await;
    walk.fill("buildings-q", "Cedar 12").await;
    walk.press("Find").await;
    assert!(walk.text().await.contains("Cedar 120"));
    walk.check_accessibility().await;
    click_input_labelled(&walk, "normalize-space()='Cedar 12'").await;
    walk.press("Save Property Access").await;
    assert!(walk.text().await.contains("Property Access saved"));
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert_eq!(access.buildings.len(), 1, "one building granted, nothing else touched");
    walk.check_accessibility().await;

    // From the list: select Nina, "Grant a building", and find it on the page that follows.
    walk.visit("/users").await;
    walk.click(&format!("#f-select-{}", nina.id)).await;
    select(&walk, "f-action", "Grant a building").await;
    walk.press("Apply to selected…").await;
    let text = walk.text().await;
    assert!(text.contains("1 selected user:") && text.contains("nina@example.com"), "{text}");
    walk.check_accessibility().await;
    walk.fill("building-q", "Harbo 7").await;
    walk.press("Find").await;
    walk.check_accessibility().await;
    click_input_labelled(&walk, "starts-with(normalize-space(), 'Harbo 7 ')").await;
    walk.press("Grant").await;
    assert!(walk.text().await.contains("Granted the building to Nina User."));
    let access = app.with_db(move |c| concierge::db::user_access::of_user(c, nina.id).unwrap()).await;
    assert_eq!(access.buildings.len(), 2);
    walk.finish().await;
    validate_html(BIG);
}

/// Import CSV at a phone's width: a file chosen with the file picker, every row previewed, the
/// import confirmed, and the users it added read back.
#[actix_web::test]
async fn an_admin_imports_a_file_at_a_phones_width() {
    if !available() {
        return;
    }
    let app = spawn_app().await;
    app.create_owner().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("people.csv");
    let rows = [
        "email,first_name,last_name,phone,title,job_function,company,group",
        "ivy@example.com,Ivy,Ito,+1 702 555 0100,Clerk,tenant,Harbor,Customer",
        "omar@example.com,Omar,Odu,+1 702 555 0101,Manager,Operations,,Regular",
    ];
    std::fs::write(&file, rows.join("\n")).unwrap();
    let mut walk = Walk::start(&app.address, "import").await;
    walk.resize(390, 844).await;
    walk.sign_in("owner@example.com").await;
    walk.visit("/users/import").await;
    walk.check_accessibility().await;
    let picker = walk.client.find(Locator::Id("f-file")).await.unwrap();
    picker.send_keys(&file.display().to_string()).await.unwrap();
    walk.press("Preview").await;
    let preview = walk.text().await;
    assert!(preview.contains("ivy@example.com") && preview.contains("omar@example.com"), "{preview}");
    walk.check_accessibility().await;
    walk.assert_no_sideways_scroll().await;
    walk.press("Import 2 users").await;
    assert_eq!(walk.path().await, "/users");
    let list = walk.text().await;
    assert!(list.contains("2 users were imported and invited."), "{list}");
    walk.assert_no_sideways_scroll().await;
    for (email, first_name) in [("ivy@example.com", "Ivy"), ("omar@example.com", "Omar")] {
        let user = app.with_db(move |c| concierge::db::users::find_by_email(c, email).unwrap()).await;
        let user = user.unwrap_or_else(|| panic!("{email} was imported"));
        assert_eq!((user.first_name.as_str(), user.status.as_str()), (first_name, "invited"));
    }
    walk.finish().await;
    validate_html("import");
}
