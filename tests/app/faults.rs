//! Faults: the database going away and coming back, an oversized body, a slow client, and
//! SIGTERM with a request in flight. Each is bounded in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;

/// A TCP proxy to PostgreSQL that the test can cut (closing every connection) and restore.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = watch::channel(0u64);
        let flag = up.clone();
        actix_web::rt::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cuts = cuts.clone();
                // Only a cut after this connection opened ends it.
                cuts.borrow_and_update();
                actix_web::rt::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else { return };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async { tokio::io::copy(&mut cr, &mut sw).await };
                    let down = async { tokio::io::copy(&mut sr, &mut cw).await };
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[actix_web::test]
async fn postgresql_going_away_gives_503_pages_and_the_portal_recovers_by_itself() {
    let database = TestDatabase::new();
    if !database.is_postgres() {
        return; // The SQLite outage is covered in foundation.rs.
    }
    // postgres://user:pass@host:port/db → the same through the proxy.
    let (head, tail) = database.url.split_once('@').unwrap();
    let (hostport, db) = tail.split_once('/').unwrap();
    let proxy = Proxy::start(hostport.to_owned()).await;
    let url = format!("{head}@127.0.0.1:{}/{db}", proxy.port);
    let app = spawn_app_with(|c| {
        c.database_url = url;
    })
    .await;
    let (browser, _) = app.signed_in_owner().await;
    browser.get("/profile").await.assert_status(200);

    let t = std::time::Instant::now();
    proxy.cut();
    let page = browser.get("/profile").await;
    page.assert_status(503).assert_contains("Temporarily unavailable");
    browser.get("/readyz").await.assert_status(503);
    browser.get("/healthz").await.assert_status(200);

    eprintln!("cut answered after {:?}", t.elapsed());
    proxy.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if browser.get("/readyz").await.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the portal did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("recovered after {:?}", t.elapsed());
    browser.get("/profile").await.assert_status(200);
}

#[actix_web::test]
async fn a_body_over_the_size_limit_is_refused_with_413() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf_token().await;
    let huge = "x".repeat(400 * 1024);
    let page = browser.post_raw("/sign-in", &[("csrf_token", &token), ("email", &huge), ("password", "x")]).await;
    assert_eq!(page.status, 413);
}

#[actix_web::test]
async fn a_slow_client_cannot_hold_a_connection_forever() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // The head never ends: the server must give up on its own (10 s), answering 408 or closing.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 20 s");
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Kills a server a test started when the test ends before the server stopped (a failed
/// assertion), so no process outlives its test holding a port and a database.
struct Stray {
    pid: u32,
    stopped: bool,
}

impl Drop for Stray {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = std::process::Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        }
    }
}

#[actix_web::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("c.db").display()))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("BCRYPT_COST", "15")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stray = Stray { pid: child.id(), stopped: false };
    let base = format!("http://127.0.0.1:{port}");
    let browser = Browser::new(&base);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while browser.client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A sign-in checks a bcrypt hash of cost 15: about a second or more of work.
    let token = browser.csrf_token().await;
    let request = {
        let client = browser.client.clone();
        let url = format!("{base}/sign-in");
        actix_web::rt::spawn(async move {
            client
                .post(url)
                .form(&[("csrf_token", token.as_str()), ("email", "nobody@example.com"), ("password", "wrong")])
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let response = request.await.unwrap().expect("the request in flight got its answer");
    assert_eq!(response.status().as_u16(), 422);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    stray.stopped = true;
    assert!(status.success(), "the server stopped cleanly: {status:?}");
}

#[actix_web::test]
async fn sigterm_stops_the_mail_worker_and_closes_the_database_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("c.db").display()))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut stray = Stray { pid: child.id(), stopped: false };
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client().build().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A link's secret never reaches the log: the request line names the route.
    let secret = "5ec2e7".repeat(10) + "abcd";
    client.get(format!("{base}/invite/{secret}?x=1")).send().await.unwrap();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    stray.stopped = true;
    assert!(status.success(), "the server stopped cleanly: {status:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(&secret), "{log}");
    assert!(log.contains("/invite/{token}"), "{log}");
    let worker = log.find("the mail worker stopped").expect("the mail worker stopped");
    let closed = log.find("the database is closed").expect("the database was closed");
    assert!(worker < closed, "the worker stops before the database closes:\n{log}");
}

#[actix_web::test]
async fn a_writer_that_waits_past_the_busy_timeout_gets_a_503_and_nothing_half_written() {
    let app = spawn_app().await;
    if app.database.is_postgres() {
        return; // PostgreSQL writers wait on row locks, not on one lock for the file.
    }
    app.create_owner().await;
    let path = app.config.database_url.trim_start_matches("sqlite://").to_owned();
    let holder = std::thread::spawn(move || {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("BEGIN IMMEDIATE").unwrap();
        std::thread::sleep(Duration::from_secs(7));
        conn.batch_execute("ROLLBACK").unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let browser = app.browser();
    browser.get("/sign-in").await;
    let page = browser.post("/sign-in", &[("email", "owner@example.com"), ("password", "not-it-at-all")]).await;
    page.assert_status(503).assert_contains("Nothing was changed");
    assert_eq!(page.header("retry-after"), Some("5"));
    tokio::task::spawn_blocking(move || holder.join().unwrap()).await.unwrap();
    browser.post("/sign-in", &[("email", "owner@example.com"), ("password", "not-it-at-all")]).await.assert_status(422);
}
