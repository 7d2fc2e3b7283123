//! The database: one connection type over SQLite and PostgreSQL, a pool, migrations, and
//! the one way handlers reach it (`Db::run`, always off the async threads).

/// Runs a statement the connection enum cannot pass on (a multi-row insert) on whichever
/// database this is: `on_either!(conn, |c| query.execute(c))`.
macro_rules! on_either {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}

pub mod api_tokens;
pub mod audit;
pub mod buildings;
pub mod directory;
pub mod gauges;
pub mod groups;
pub mod oidc;
pub mod outbox;
pub mod passkeys;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod throttle;
pub mod tokens;
pub mod two_step;
pub mod user_access;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

diesel::define_sql_function! {
    /// Lower-cases text, for case-insensitive comparisons that work on both databases.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// Lower-cases every letter, as Rust does (SQLite's own `lower` folds ASCII letters only);
    /// registered on each SQLite connection, for the Users list's search (`db::directory`).
    /// Never used in a schema object: the `sqlite3` shell has no such function.
    fn fold(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The SQLite file a `sqlite://path` (or bare path) URL names.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// Opens connections of the backend the URL names. Unlike diesel's stock manager for a
/// multi-connection, it reports the real error ("password authentication failed").
pub struct Manager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                // A server that accepts the connection but never answers must not hold a
                // thread forever.
                let url = if self.url.contains("connect_timeout=") {
                    self.url.clone()
                } else {
                    format!("{}{}connect_timeout=5", self.url, if self.url.contains('?') { '&' } else { '?' })
                };
                diesel::PgConnection::establish(&url).map(DbConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(sqlite_path(&self.url))?;
                // Each pooled connection keeps its own page cache; 1 MiB holds what a page of
                // the list reads (the 2 MiB default let ten connections add 20 MiB to the peak).
                // Pages past it are read from the file mapped into memory, shared by every
                // connection, not copied in by a system call each (a search walking 4,000 index
                // entries for its page: 1,824 → 2,266 req/s at 100k). Up to 2 GiB, SQLite's limit.
                // (The file's journal is put in WAL mode once, by `Db::connect`.)
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -1024; PRAGMA mmap_size = 2147418112;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                fold_utils::register_impl(&mut conn, |text: String| text.to_lowercase())
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::ConnectionError> {
        conn.batch_execute("SELECT 1").map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The database as the app sees it: a pool, the backend it talks to, and the line requests
/// wait in for a connection.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// One permit per connection, handed out in the order requests asked: the pool wakes the
    /// threads waiting for it in no particular order, and under load a few waited hundreds of
    /// milliseconds while others went ahead.
    turns: Arc<tokio::sync::Semaphore>,
    /// On SQLite, the one turn to write: transactions of this process wait here, in order,
    /// rather than in SQLite's busy handler, which sleeps 1 to 100 ms between tries. With 16
    /// writers at once, that sleeping left the cores idle: SCIM provisioning made 390 users/s
    /// with p99 323 ms.
    writer: Arc<tokio::sync::Semaphore>,
    /// How many requests wait in that line now (for `/metrics`).
    waiting: Arc<std::sync::atomic::AtomicI64>,
    /// The pool's own threads, which open connections in the background; held here so that
    /// `close` can tell when they are done.
    threads: Arc<scheduled_thread_pool::ScheduledThreadPool>,
    /// One per handle: how many handles of this database are alive.
    handles: Arc<()>,
}

impl Db {
    /// Builds the pool without waiting for a PostgreSQL server: one that is down at start
    /// answers 503 until it is back, rather than refusing to start. A SQLite file is opened
    /// first, to put its journal in WAL mode once: connections opening at the same moment on a
    /// new file each switched it, and all but one were refused ("database is locked").
    pub fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        let backend = Backend::of(url);
        if backend == Backend::Sqlite {
            let path = sqlite_path(url);
            if path.is_empty() {
                anyhow::bail!("DATABASE_URL names no SQLite file");
            }
            let mut file = diesel::SqliteConnection::establish(path)
                .with_context(|| format!("could not open the SQLite file {path}"))?;
            file.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")?;
        }
        let threads = Arc::new(
            scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(3)
                .thread_name_pattern("r2d2-worker-{}")
                .build(),
        );
        let pool = r2d2::Pool::builder()
            .thread_pool(threads.clone())
            .max_size(max_connections)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(3))
            // A PostgreSQL connection whose server went away is found out before it is used (a
            // round trip), so the portal recovers by itself; a SQLite file needs no such check.
            .test_on_check_out(backend == Backend::Postgres)
            .build_unchecked(Manager { url: url.to_owned(), backend });
        let turns = Arc::new(tokio::sync::Semaphore::new(max_connections as usize));
        let writer = Arc::new(tokio::sync::Semaphore::new(1));
        Ok(Db { pool, backend, turns, writer, waiting: Arc::default(), threads, handles: Arc::new(()) })
    }

    /// Closes the database for good: waits until this is its last handle, closes every pooled
    /// connection, then waits until the pool's threads have finished any connection they were
    /// opening, so that nothing of this process talks to the database once it returns (a
    /// process that exits while a thread is inside the database client crashed at exit).
    /// Returns whether all of it happened within `patience`.
    pub fn close(self, patience: Duration) -> bool {
        let deadline = std::time::Instant::now() + patience;
        let wait_until = |done: &dyn Fn() -> bool| {
            while !done() {
                if std::time::Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            true
        };
        if !wait_until(&|| Arc::strong_count(&self.handles) == 1) {
            return false;
        }
        let Db { pool, threads, .. } = self;
        drop(pool);
        // A connection being opened holds the pool until it is done (at most the connect
        // timeout); then only this handle holds the threads.
        wait_until(&|| Arc::strong_count(&threads) == 1)
    }

    /// The pool's connections: how many are open, how many of those idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// How many requests wait for a connection now.
    pub fn waiting(&self) -> i64 {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for code that is already off the async threads (commands, workers).
    pub fn get(&self) -> Result<PooledConnection, AppError> {
        self.pool.get().map_err(|e| AppError::Unavailable(e.into()))
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let turn = {
            let _waiting = Waiting::new(&self.waiting);
            self.turns.clone().acquire_owned().await
        };
        let turn = turn.map_err(|e| AppError::Unavailable(e.into()))?;
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let _turn = turn;
            let mut conn = pool.get().map_err(|e| AppError::Unavailable(e.into()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a database task stopped: {e}")))?
    }

    /// Runs `f` in a transaction on the blocking pool; any error rolls everything back.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let writing = match self.backend {
            Backend::Sqlite => {
                let _waiting = Waiting::new(&self.waiting);
                Some(self.writer.clone().acquire_owned().await.map_err(|e| AppError::Unavailable(e.into()))?)
            }
            Backend::Postgres => None,
        };
        // The turn is held until the transaction ends, even if the request is dropped meanwhile.
        self.run(move |conn| {
            let _writing = writing;
            transaction(conn, f)
        })
        .await
    }

    /// Brings the schema up to date.
    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().context("could not connect to the database")?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("migrating the database failed: {e}"))?;
        if applied > 0 {
            tracing::info!(applied, "database migrated");
        }
        Ok(())
    }

    /// Whether the database answers with its schema readable: for `/readyz`.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.run(|conn| {
            conn.batch_execute("SELECT 1 FROM groups LIMIT 1")?;
            Ok(())
        })
        .await
    }
}

/// One request in the line for a connection, for as long as it waits (even if it is dropped
/// while waiting).
struct Waiting<'a>(&'a std::sync::atomic::AtomicI64);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicI64) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A transaction. On SQLite it takes the write lock at the start (`BEGIN IMMEDIATE`): a
/// transaction that reads and then writes would otherwise fail at once with "database is
/// locked" when another connection writes meanwhile, instead of waiting its turn.
pub fn transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    match conn {
        DbConnection::Sqlite(_) => {
            match conn.batch_execute("BEGIN IMMEDIATE") {
                Ok(()) => {}
                // A transaction left open by a task that panicked: end it, then begin ours.
                Err(e) if e.to_string().contains("within a transaction") => {
                    let _ = conn.batch_execute("ROLLBACK");
                    conn.batch_execute("BEGIN IMMEDIATE")?;
                }
                // Another writer held the lock past the busy timeout: waiting once is enough.
                Err(e) => return Err(e.into()),
            }
            match f(conn) {
                Ok(value) => {
                    conn.batch_execute("COMMIT")?;
                    Ok(value)
                }
                Err(e) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
            }
        }
        DbConnection::Postgresql(_) => conn.transaction(f),
    }
}

/// Now, in UTC, truncated to microseconds so values compare equal after a trip through
/// either database.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2d2::ManageConnection;

    /// Connections opened at the same moment on a new SQLite file each open: two switching a
    /// new file's journal to WAL together had one refused ("database is locked", logged at
    /// start by the pool).
    #[test]
    fn connections_opened_at_once_on_a_new_file_all_open() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..20 {
            let url = format!("sqlite://{}", dir.path().join(format!("{n}.db")).display());
            Db::connect(&url, 1).unwrap();
            let start = Arc::new(std::sync::Barrier::new(4));
            let opening: Vec<_> = (0..4)
                .map(|_| {
                    let (manager, start) = (Manager { url: url.clone(), backend: Backend::Sqlite }, start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        manager.connect().map(|_| ())
                    })
                })
                .collect();
            for opened in opening {
                opened.join().unwrap().unwrap();
            }
        }
    }
}
