//! `concierge backup FILE` and `concierge restore FILE`: a consistent copy of a SQLite database
//! taken while the portal runs, and that copy put back while it does not. PostgreSQL has its
//! own tools (`pg_dump`, `pg_restore`), and both commands say so instead of guessing.
//!
//! Every serving process holds a shared lock on `FILE.lock` beside the database; a restore
//! takes it alone. So a restore refuses while any portal runs on the file, and a portal does
//! not start in the middle of a restore.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::{Backend, Db, sqlite_path};

/// Held by a serving process for as long as it serves (released by the system, even on SIGKILL).
pub struct ServingLock(#[allow(dead_code)] File);

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock(database: &Path) -> anyhow::Result<File> {
    let path = lock_path(database);
    // An existing lock file is only read (a lock needs no more), so one made by another user,
    // root running a backup say, does not shut the service out.
    File::open(&path)
        .or_else(|_| File::options().create(true).truncate(false).write(true).open(&path))
        .with_context(|| format!("could not open {}", path.display()))
}

/// The lock a serving process (or any command but a restore) holds on its SQLite file; none on
/// PostgreSQL.
pub fn serving(database_url: &str) -> anyhow::Result<Option<ServingLock>> {
    if Backend::of(database_url) == Backend::Postgres {
        return Ok(None);
    }
    let database = Path::new(sqlite_path(database_url));
    let lock = open_lock(database)?;
    match lock.try_lock_shared() {
        Ok(()) => Ok(Some(ServingLock(lock))),
        Err(TryLockError::WouldBlock) => {
            bail!("{} is being restored; start the portal when the restore has finished", database.display())
        }
        Err(TryLockError::Error(e)) => Err(e).context("could not lock the database file"),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Opens a SQLite file that must exist, without creating it, read-only.
fn open_existing(path: &Path) -> anyhow::Result<SqliteConnection> {
    if !path.is_file() {
        bail!("there is no file {}", path.display());
    }
    let escaped = path.to_string_lossy().replace('%', "%25").replace('?', "%3f").replace('#', "%23");
    let mut conn = SqliteConnection::establish(&format!("file:{escaped}?mode=ro"))
        .with_context(|| format!("could not open {}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000")?;
    Ok(conn)
}

/// How many users a Concierge database holds; an error when it is not one, or is damaged.
fn check(conn: &mut SqliteConnection, path: &Path) -> anyhow::Result<i64> {
    let not_ours = || format!("{} is not a Concierge database", path.display());
    let integrity = diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check")
        .load::<Line>(conn)
        .with_context(not_ours)?;
    if integrity.iter().map(|l| l.line.as_str()).ne(["ok"]) {
        bail!("{} is damaged: {}", path.display(), integrity.first().map(|l| l.line.as_str()).unwrap_or("?"));
    }
    let users =
        diesel::sql_query("SELECT count(*) AS n FROM users").get_result::<Count>(conn).with_context(not_ours)?;
    Ok(users.n)
}

fn size(path: &Path) -> String {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Writes a consistent copy of the database to `target`, a new file, while the portal may run:
/// the copy is one read transaction (`VACUUM INTO`), which writers do not wait for.
pub fn backup(database_url: &str, target: &Path) -> anyhow::Result<String> {
    if Backend::of(database_url) == Backend::Postgres {
        bail!(
            "backup copies a SQLite database; for PostgreSQL use pg_dump \
             (pg_dump --format=custom --file=FILE DATABASE_URL), and pg_restore to put it back"
        );
    }
    let source = Path::new(sqlite_path(database_url));
    if target.exists() {
        bail!("{} exists already; name a new file", target.display());
    }
    let mut conn = open_existing(source)?;
    check(&mut conn, source)?;
    let target = std::path::absolute(target)?;
    let Some(target_text) = target.to_str() else { bail!("name the backup with a path in UTF-8") };
    // Made first, empty and readable by its owner only: it holds password hashes.
    create_private(&target)?;
    let written = diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(target_text).execute(&mut conn);
    let users = written
        .map_err(anyhow::Error::from)
        .and_then(|_| check(&mut open_existing(&target)?, &target))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&target);
        })
        .with_context(|| format!("could not write {}", target.display()))?;
    Ok(format!("Backed up {users} users to {} ({}).", target.display(), size(&target)))
}

/// A new empty file only its owner reads; an error when the name is taken.
fn create_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))?;
    Ok(())
}

/// Puts the copy `from` in place of the database, which no portal may be serving, keeping the
/// database it replaces beside it; then migrates it if it is older than this program.
pub fn restore(database_url: &str, from: &Path) -> anyhow::Result<String> {
    if Backend::of(database_url) == Backend::Postgres {
        bail!(
            "restore puts back a SQLite copy; for PostgreSQL use pg_restore \
             (pg_restore --clean --if-exists --dbname=DATABASE_URL FILE)"
        );
    }
    let database = std::path::absolute(sqlite_path(database_url))?;
    let lock = open_lock(&database)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => bail!(
            "a portal is running on {}; stop it first (systemctl stop concierge), then restore",
            database.display()
        ),
        Err(TryLockError::Error(e)) => return Err(e).context("could not lock the database file"),
    }

    // The copy is read as one moment (with any log of its own) into a file beside the database.
    let incoming = with_suffix(&database, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    let users = {
        let mut copy = open_existing(from)?;
        let users = check(&mut copy, from)?;
        newer_than_this_program(&mut copy, from)?;
        create_private(&incoming)?;
        let Some(incoming_text) = incoming.to_str() else { bail!("the database's path is not UTF-8") };
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(incoming_text)
            .execute(&mut copy)
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&incoming);
            })
            .with_context(|| format!("could not write {}", incoming.display()))?;
        users
    };
    File::open(&incoming)?.sync_all()?;

    let mut kept = None;
    if database.exists() {
        let replaced = free_name(&database)?;
        // Its write-ahead log is folded into it first: a log left beside the restored file
        // would be read as the restored file's own. A database too damaged for that keeps its
        // log beside the kept copy.
        let folded = SqliteConnection::establish(&database.to_string_lossy())
            .map_err(anyhow::Error::from)
            .and_then(|mut old| Ok(old.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = DELETE;")?));
        for part in ["-wal", "-shm"] {
            let leftover = with_suffix(&database, part);
            if leftover.exists() {
                match &folded {
                    Ok(()) => std::fs::remove_file(&leftover)?,
                    Err(_) => std::fs::rename(&leftover, with_suffix(&replaced, part))?,
                }
            }
        }
        // Kept under a second name before the new file takes the first, so that an interruption
        // at any point leaves a database in place.
        std::fs::hard_link(&database, &replaced)?;
        kept = Some(replaced);
    }
    std::fs::rename(&incoming, &database)?;
    if let Some(dir) = database.parent() {
        File::open(dir)?.sync_all()?;
    }
    Db::connect(database_url, 1)?.migrate()?;
    drop(lock);

    let mut message = format!("Restored {users} users from {} into {}.", from.display(), database.display());
    if let Some(kept) = kept {
        message.push_str(&format!(" The database it replaced is kept as {}.", kept.display()));
    }
    Ok(message)
}

/// A name for the replaced database that no file has: `FILE.replaced-TIME`, numbered if need be.
fn free_name(database: &Path) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    (0..100)
        .map(|n| {
            with_suffix(database, &if n == 0 { format!(".replaced-{stamp}") } else { format!(".replaced-{stamp}-{n}") })
        })
        .find(|p| !p.exists())
        .ok_or_else(|| anyhow::anyhow!("too many replaced copies beside {}", database.display()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Refuses a copy made by a newer Concierge: this program could not read what its later
/// migrations made.
fn newer_than_this_program(copy: &mut SqliteConnection, path: &Path) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<Version>(copy)
        .with_context(|| format!("{} is not a Concierge database", path.display()))?;
    let known: Vec<String> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&crate::db::SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.version)) {
        bail!(
            "{} was made by a newer Concierge (its schema has {}); restore it with that version",
            path.display(),
            unknown.version
        );
    }
    Ok(())
}
