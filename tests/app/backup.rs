//! `concierge backup` and `concierge restore`, run as the operator runs them: the installed
//! command, beside a portal that serves.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use concierge::db::schema::users;
use diesel::prelude::*;

use crate::helpers::*;

fn concierge(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concierge"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("the command runs")
}

fn said(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn emails_in(path: &Path) -> BTreeSet<String> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    users::table.select(users::email).load::<String>(&mut conn).unwrap().into_iter().collect()
}

#[actix_web::test]
async fn a_backup_taken_during_writes_restores_into_a_new_directory_with_every_user() {
    let app = spawn_app().await;
    if app.database.is_postgres() {
        return; // PostgreSQL is backed up by pg_dump: see the refusal below.
    }
    let owner = app.create_owner().await;
    let source = app.config.database_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");

    // Users are added, one transaction each, for as long as the backup runs.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (db, writing) = (app.db().clone(), writing.clone());
        std::thread::spawn(move || {
            let mut conn = db.get().unwrap();
            let group = concierge::db::groups::find_builtin(&mut conn, "customer").unwrap().id;
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) || n < 200 {
                let user = concierge::db::users::NewUser::new(
                    format!("writer{n}@example.com"),
                    "Wren".into(),
                    format!("Writer {n}"),
                    group,
                    concierge::domain::UserStatus::Active,
                );
                concierge::db::transaction(&mut conn, |c| concierge::db::users::insert(c, &user)).unwrap();
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = app.with_db(|c| users::table.select(users::email).load::<String>(c).unwrap()).await;
    let backup = {
        let (source, copy) = (source.clone(), copy.clone());
        tokio::task::spawn_blocking(move || concierge(&source, &["backup", copy.to_str().unwrap()])).await.unwrap()
    };
    let after = app.with_db(|c| users::table.select(users::email).load::<String>(c).unwrap()).await;
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(backup.status.success(), "{}", said(&backup));

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup holds password hashes: its owner's only");
    let copied = emails_in(&copy);
    assert!(said(&backup).contains(&format!("Backed up {} users to", copied.len())), "{}", said(&backup));
    // The copy is one moment of the database: everything committed before it began, nothing
    // that was not committed by the time it ended.
    let (before, after): (BTreeSet<_>, BTreeSet<_>) = (before.into_iter().collect(), after.into_iter().collect());
    assert!(before.is_subset(&copied), "every user committed before the backup is in it");
    assert!(copied.is_subset(&after));
    assert!(copied.contains(&owner.email));
    assert!(written > 0);

    // A backup never overwrites a file.
    let again = concierge(&source, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(said(&again).contains("exists already; name a new file"), "{}", said(&again));

    // Restored into a new directory, the portal serves it: the owner signs in.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("concierge.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let restore = concierge(&restored_url, &["restore", copy.to_str().unwrap()]);
    assert!(restore.status.success(), "{}", said(&restore));
    assert!(said(&restore).contains(&format!("Restored {} users from", copied.len())), "{}", said(&restore));
    assert_eq!(emails_in(&restored), copied);
    let serving = RunningApp::start(test_config(&restored_url)).await;
    let browser = Browser::new(&serving.address);
    browser.sign_in(&owner.email, PASSWORD).await.assert_redirect_to("/settings");
    browser.get("/users?q=writer0%40example.com").await.assert_status(200).assert_contains("Writer 0");
}

#[actix_web::test]
async fn restore_refuses_while_a_portal_serves_the_file_and_keeps_the_database_it_replaces() {
    let app = spawn_app().await;
    if app.database.is_postgres() {
        return;
    }
    app.create_owner().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let backup = concierge(&app.config.database_url, &["backup", copy.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", said(&backup));

    // A portal serves another file; a restore onto it is refused and changes nothing.
    let live = dir.path().join("live.db");
    let live_url = format!("sqlite://{}", live.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .env("DATABASE_URL", &live_url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stray = Stray(Some(server.id()));
    let client = http_client().build().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true)
    {
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = concierge(&live_url, &["restore", copy.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("a portal is running on"), "{}", said(&refused));
    assert!(emails_in(&live).is_empty(), "the served database is untouched");

    // Stopped, the same restore goes through and keeps what it replaced.
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    tokio::task::spawn_blocking(move || server.wait().unwrap()).await.unwrap();
    stray.0 = None;
    let restore = concierge(&live_url, &["restore", copy.to_str().unwrap()]);
    assert!(restore.status.success(), "{}", said(&restore));
    assert!(emails_in(&live).contains("owner@example.com"));
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("live.db.replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(said(&restore).contains(&kept[0]), "{}", said(&restore));
    // Restored again at once: the first kept copy is kept too.
    let again = concierge(&live_url, &["restore", copy.to_str().unwrap()]);
    assert!(again.status.success(), "{}", said(&again));
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("live.db.replaced-"))
        .count();
    assert_eq!(kept, 2);
    assert!(!dir.path().join("live.db.restoring").exists());

    // What is not a Concierge database is refused before anything is touched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"SQLite format 3\0 but not really").unwrap();
    let refused = concierge(&live_url, &["restore", junk.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("junk.db is not a Concierge database"), "{}", said(&refused));
    let missing = concierge(&live_url, &["restore", dir.path().join("nowhere.db").to_str().unwrap()]);
    assert!(said(&missing).contains("there is no file"), "{}", said(&missing));
    assert!(!dir.path().join("nowhere.db").exists(), "a missing copy is not created");
    assert!(emails_in(&live).contains("owner@example.com"));
}

#[test]
fn on_postgresql_backup_and_restore_name_the_tools_to_use() {
    let url = "postgres://concierge:concierge@127.0.0.1:1/none";
    let backup = concierge(url, &["backup", "/tmp/never.db"]);
    assert!(!backup.status.success());
    assert!(said(&backup).contains("for PostgreSQL use pg_dump"), "{}", said(&backup));
    let restore = concierge(url, &["restore", "/tmp/never.db"]);
    assert!(!restore.status.success());
    assert!(said(&restore).contains("for PostgreSQL use pg_restore"), "{}", said(&restore));
}

/// Kills a server the test started if the test ends first.
struct Stray(Option<u32>);

impl Drop for Stray {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}
