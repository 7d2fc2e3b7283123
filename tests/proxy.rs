//! Behind a proxy, several processes: Debian's nginx, with a self-signed certificate and the
//! site configuration of `deploy/nginx.conf`, in front of two Concierge processes on one
//! PostgreSQL, walked through like a browser would.
//!
//! It needs nginx, openssl and `TEST_DATABASE_URL`, so it is not part of `cargo test`:
//! `.ci/run` installs nginx and runs it with `cargo test --test proxy -- --ignored`.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

const CONCIERGE: &str = env!("CARGO_BIN_EXE_concierge");
/// The proxy's own address: what the processes trust.
const PROXY: &str = "127.0.0.1";
/// Where the browser comes from, and someone who talks to a process directly.
const BROWSER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const STRANGER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Children killed when the test ends, however it ends.
#[derive(Default)]
struct Children(Vec<(String, Child)>);

impl Children {
    fn add(&mut self, name: &str, child: Child) {
        self.0.push((name.to_owned(), child));
    }

    /// Signals a child and waits for it: whether it exited successfully.
    fn kill(&mut self, name: &str, signal: &str) -> bool {
        let at = self.0.iter().position(|(n, _)| n == name).expect("a child of that name");
        let (_, mut child) = self.0.remove(at);
        Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        child.wait().unwrap().success()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master stops its workers only when it is asked.
        for (_, child) in &mut self.0 {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        }
        std::thread::sleep(Duration::from_millis(500));
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL database of its own, dropped at the end.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn new() -> Database {
        let admin =
            std::env::var("TEST_DATABASE_URL").expect("the proxy suite runs on PostgreSQL: set TEST_DATABASE_URL");
        let name = format!("concierge_proxy_{}", std::process::id());
        let mut conn = PgConnection::establish(&admin).expect("PostgreSQL answers");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Database { admin, name, url }
    }

    fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

struct Site {
    public_url: String,
    dir: PathBuf,
}

/// One Concierge process, as the service runs it behind the proxy.
fn concierge(db: &Database, site: &Site, name: &str, port: u16) -> Child {
    Command::new(CONCIERGE)
        .env("DATABASE_URL", &db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("PUBLIC_URL", &site.public_url)
        .env("TRUSTED_PROXIES", PROXY)
        .env("MAIL_DIR", site.dir.join(format!("mail-{name}")))
        // A password takes a noticeable moment to hash: forms are in flight when a process dies.
        .env("BCRYPT_COST", "10")
        .env("WORKERS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(site.dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap()
}

/// nginx with the deployment's site file, its ports and certificate swapped for the test's.
fn nginx(site: &Site, https: u16, http: u16, upstreams: [u16; 2]) -> Child {
    let dir = &site.dir;
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl made a certificate");
    let mut conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).unwrap();
    let swaps = [
        ("127.0.0.1:8080", format!("127.0.0.1:{}", upstreams[0])),
        ("127.0.0.1:8081", format!("127.0.0.1:{}", upstreams[1])),
        ("listen 443 ssl;", format!("listen 127.0.0.1:{https} ssl;")),
        ("listen [::]:443 ssl;", String::new()),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:80;", String::new()),
        ("/etc/ssl/certs/concierge.example.org.pem", dir.join("cert.pem").display().to_string()),
        ("/etc/ssl/private/concierge.example.org.key", dir.join("key.pem").display().to_string()),
    ];
    for (from, to) in swaps {
        assert!(conf.contains(from), "deploy/nginx.conf still says {from:?}");
        conf = conf.replace(from, &to);
    }
    std::fs::write(dir.join("site.conf"), conf).unwrap();
    let main = format!(
        "pid {dir}/nginx.pid;\nerror_log {dir}/nginx-error.log warn;\nevents {{}}\nhttp {{\n  access_log {dir}/access.log;\n  \
         client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  include {dir}/site.conf;\n}}\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-e", "stderr", "-g", "daemon off;"])
        .stderr(std::fs::File::create(dir.join("nginx.log")).unwrap())
        .spawn()
        .expect("nginx runs (apt install nginx)")
}

async fn wait_ready(client: &reqwest::Client, url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A browser at one address, trusting the test's certificate.
fn browser(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .local_address(from)
        .build()
        .unwrap()
}

/// A client at one address that keeps no cookies (each request carries what the test gives it).
fn browser_without_cookies(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .local_address(from)
        .build()
        .unwrap()
}

fn csrf_in(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("the page has a form") + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

struct Answer {
    status: u16,
    body: String,
    cookies: Vec<String>,
}

async fn get(client: &reqwest::Client, url: &str) -> Answer {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let cookies = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    Answer { status, cookies, body: response.text().await.unwrap() }
}

/// Posts a form, with the CSRF token read from `form_page`.
async fn post(client: &reqwest::Client, base: &str, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
    let page = get(client, &format!("{base}{form_page}")).await;
    assert_eq!(page.status, 200, "{form_page}: {}", page.body);
    let token = csrf_in(&page.body);
    let mut fields = fields.to_vec();
    fields.push(("csrf_token", &token));
    let response = client.post(format!("{base}{action}")).form(&fields).send().await.unwrap();
    let status = response.status().as_u16();
    let cookies = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    Answer { status, cookies, body: response.text().await.unwrap_or_default() }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<Text>)]
    text: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn rows(db: &Database, sql: &str) -> Vec<(Option<String>, i64)> {
    diesel::sql_query(sql).load::<Row>(&mut db.conn()).unwrap().into_iter().map(|r| (r.text, r.n)).collect()
}

fn invitee(n: usize, group: &str) -> Vec<(String, String)> {
    [
        ("first_name", "Ivy".to_owned()),
        ("last_name", format!("Invitee {n}")),
        ("email", format!("ivy{n}@example.com")),
        ("phone", "+1 702 555 0142".to_owned()),
        ("title", "Tenant rep".to_owned()),
        ("job_function", "tenant".to_owned()),
        ("group_id", group.to_owned()),
        ("entry", "invite".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn eml_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
}

/// How many GETs of `route` a process answered with a redirect (to sign in, when refused).
fn refused(metrics: &str, route: &str) -> f64 {
    let prefix = format!("concierge_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"303\"}} ");
    metrics.lines().filter_map(|l| l.strip_prefix(&prefix)?.parse::<f64>().ok()).sum()
}

fn served(metrics: &str, route: &str) -> f64 {
    let prefix = format!("concierge_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"200\"}} ");
    metrics.lines().filter_map(|l| l.strip_prefix(&prefix)?.parse::<f64>().ok()).sum()
}

#[tokio::test]
#[ignore = "needs nginx, openssl and TEST_DATABASE_URL; .ci/run runs it"]
async fn two_processes_behind_nginx_share_the_work_and_survive_one_killed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let (https, http, a, b) = (free_port(), free_port(), free_port(), free_port());
    let site = Site { public_url: format!("https://127.0.0.1:{https}"), dir: tmp.path().to_owned() };
    let db = Database::new();
    let mut children = Children::default();
    let direct = reqwest::Client::new();

    // One process first (it makes the session key), then the other, then the proxy.
    children.add("a", concierge(&db, &site, "a", a));
    wait_ready(&direct, &format!("http://127.0.0.1:{a}/readyz"), "process a").await;
    children.add("b", concierge(&db, &site, "b", b));
    wait_ready(&direct, &format!("http://127.0.0.1:{b}/readyz"), "process b").await;
    children.add("nginx", nginx(&site, https, http, [a, b]));
    let base = site.public_url.clone();
    let me = browser(BROWSER);
    wait_ready(&me, &format!("{base}/readyz"), "nginx").await;

    // Plain http is sent to https.
    let redirect = me.get(format!("http://127.0.0.1:{http}/users")).send().await.unwrap();
    assert_eq!(redirect.status(), 301);
    assert_eq!(redirect.headers()["location"], "https://127.0.0.1/users");

    // Each process issued a setup link as it started; the one made now is the newest.
    let deadline = Instant::now() + Duration::from_secs(15);
    let issued = "SELECT NULL::text AS text, count(*) AS n FROM audit_events WHERE action = 'owner_setup.link_issued'";
    while rows(&db, issued)[0].1 < 2 {
        assert!(Instant::now() < deadline, "both processes issued their setup link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The owner is made through the proxy from the one-time link, which names the public address.
    let link = Command::new(CONCIERGE)
        .env("DATABASE_URL", &db.url)
        .env("PUBLIC_URL", &base)
        .arg("create-owner")
        .output()
        .unwrap();
    let link = String::from_utf8(link.stdout).unwrap();
    let path = &link[link.find(&format!("{base}/setup/")).expect("a link at the public address") + base.len()..]
        .trim()
        .to_owned();
    let setup = post(
        &me,
        &base,
        path,
        path,
        &[
            ("first_name", "Olive"),
            ("last_name", "Owner"),
            ("email", "owner@example.com"),
            ("password", "harbor-lantern-copper-7"),
            ("password_confirm", "harbor-lantern-copper-7"),
        ],
    )
    .await;
    assert_eq!(setup.status, 303, "{}", setup.body);
    let session = setup.cookies.iter().find(|c| c.starts_with("concierge_session=")).expect("a session cookie");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(flag), "the session cookie is {flag}: {session}");
    }

    // Working on, whichever process answers: every page and form works, and both served.
    let group =
        rows(&db, "SELECT NULL::text AS text, id AS n FROM groups WHERE builtin_key = 'customer'")[0].1.to_string();
    for n in 0..6 {
        let fields = invitee(n, &group);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let added = post(&me, &base, "/users/new", "/users/new", &fields).await;
        assert_eq!(added.status, 303, "{}", added.body);
    }
    for _ in 0..20 {
        let list = get(&me, &format!("{base}/users")).await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Ivy Invitee 5") || list.body.contains("Invitee 5"), "{}", list.body);
    }
    let metrics = |port: u16| {
        let direct = direct.clone();
        async move { direct.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap() }
    };
    let (on_a, on_b) = (served(&metrics(a).await, "/users"), served(&metrics(b).await, "/users"));
    assert!(on_a >= 1.0 && on_b >= 1.0, "both processes served the list: a {on_a}, b {on_b}");
    assert_eq!(on_a + on_b, 20.0);
    // The proxy keeps the metrics to the monitoring host.
    assert_eq!(get(&me, &format!("{base}/metrics")).await.status, 404);

    // A session ended through one process is refused by both at once: the owner, signed in on a
    // second device, signs it out from the first; that device's cookie, sent again and again,
    // reaches both processes and neither lets it in.
    let phone = browser(STRANGER);
    let owner = [("email", "owner@example.com"), ("password", "harbor-lantern-copper-7")];
    let signed = post(&phone, &base, "/sign-in", "/sign-in", &owner).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let cookie = signed.cookies.iter().find(|c| c.starts_with("concierge_session=")).unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let phone_session = rows(&db, "SELECT NULL::text AS text, max(id) AS n FROM sessions")[0].1;
    let again = || {
        let (client, cookie) = (browser_without_cookies(STRANGER), cookie.clone());
        let url = format!("{base}/profile");
        async move { client.get(url).header("cookie", cookie).send().await.unwrap().status().as_u16() }
    };
    for _ in 0..4 {
        assert_eq!(again().await, 200, "the second device is signed in on both processes");
    }
    let listed = get(&me, &format!("{base}/profile")).await;
    let end = format!("/profile/sessions/{phone_session}/end");
    assert!(listed.body.contains(&end), "the first device lists the second: {}", listed.body);
    assert_eq!(post(&me, &base, "/profile", &end, &[]).await.status, 303);
    let before = (refused(&metrics(a).await, "/profile"), refused(&metrics(b).await, "/profile"));
    for _ in 0..10 {
        assert_eq!(again().await, 303, "the ended session is refused");
    }
    let after = (refused(&metrics(a).await, "/profile"), refused(&metrics(b).await, "/profile"));
    assert!(after.0 > before.0 && after.1 > before.1, "both processes refused it: {before:?} → {after:?}");

    // The client's address: the proxy's word is taken, a header the client wrote is not, and
    // nobody else's header is believed.
    let fail_sign_in = |client: reqwest::Client, base: String, forwarded: &'static str| async move {
        let token = csrf_in(&get(&client, &format!("{base}/sign-in")).await.body);
        let form = [("email", "nobody@example.com"), ("password", "wrong"), ("csrf_token", token.as_str())];
        let response = client.post(format!("{base}/sign-in")).header("x-forwarded-for", forwarded).form(&form);
        assert_eq!(response.send().await.unwrap().status(), 422);
    };
    fail_sign_in(browser(BROWSER), base.clone(), "198.51.100.7").await;
    fail_sign_in(browser(STRANGER), format!("http://127.0.0.1:{b}"), "198.51.100.8").await;
    let seen: BTreeSet<String> =
        rows(&db, "SELECT ip AS text, count(*) AS n FROM audit_events WHERE action = 'sign_in.failed' GROUP BY ip")
            .into_iter()
            .filter_map(|(ip, _)| ip)
            .collect();
    assert_eq!(seen, BTreeSet::from([BROWSER.to_string(), STRANGER.to_string()]), "never an address the client wrote");
    let setup_from = rows(&db, "SELECT ip AS text, 0::bigint AS n FROM audit_events WHERE action = 'owner.created'");
    assert_eq!(setup_from, vec![(Some(BROWSER.to_string()), 0)]);

    // Each invitation goes out once, from one process or the other.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rows(&db, "SELECT NULL::text AS text, count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].1 > 0 {
        assert!(Instant::now() < deadline, "the outbox emptied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mails: Vec<String> = ["mail-a", "mail-b"].iter().flat_map(|d| eml_files(&site.dir.join(d))).collect();
    let sent = rows(&db, "SELECT NULL::text AS text, count(*) AS n FROM outbox")[0].1;
    assert_eq!(mails.len() as i64, sent, "one file per mail, across both processes");
    let invited: BTreeSet<usize> = (0..6)
        .filter(|n| mails.iter().filter(|m| m.contains(&format!("To: ivy{n}@example.com"))).count() == 1)
        .collect();
    assert_eq!(invited.len(), 6, "each invitee got exactly one mail");

    // One process is killed while forms are being posted: every change it answered is there,
    // whole; a form it was still working on is there whole or not at all; the other serves on.
    // Four people add users with a password, one after another; the kill comes while they are
    // at it.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut posting = Vec::new();
    for person in 0..4 {
        let (me, base, group, done) = (me.clone(), base.clone(), group.clone(), done.clone());
        posting.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in (100 + person * 10)..(110 + person * 10) {
                let mut fields = invitee(n, &group);
                fields.retain(|(k, _)| k != "entry");
                for (k, v) in [
                    ("entry", "password"),
                    ("password", "copper-harbor-lantern-9"),
                    ("password_confirm", "copper-harbor-lantern-9"),
                ] {
                    fields.push((k.to_owned(), v.to_owned()));
                }
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                answers.push((n, post(&me, &base, "/users/new", "/users/new", &fields).await.status));
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            answers
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(std::sync::atomic::Ordering::Relaxed) < 12 {
        assert!(Instant::now() < deadline && posting.iter().all(|t| !t.is_finished()), "the forms went on");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(!children.kill("a", "-KILL"), "killed");
    let mut answered = Vec::new();
    for task in posting {
        answered.extend(task.await.unwrap());
    }
    let made: BTreeSet<String> =
        rows(&db, "SELECT email AS text, 0::bigint AS n FROM users WHERE email LIKE 'ivy1__@example.com'")
            .into_iter()
            .filter_map(|(email, _)| email)
            .collect();
    for (n, status) in &answered {
        let email = format!("ivy{n}@example.com");
        match status {
            303 => assert!(made.contains(&email), "{email} was answered as added, and is there"),
            502 | 504 => {}
            other => panic!("{email}: answered {other}"),
        }
    }
    let added = answered.iter().filter(|(_, s)| *s == 303).count();
    eprintln!("forms posted across the kill: {added} of {} added, {} users made", answered.len(), made.len());
    assert!(added >= 30, "{answered:?}");
    // Whole: each user made has its password and the one audit event of its making.
    let halves = rows(
        &db,
        "SELECT u.email AS text, count(e.id) AS n FROM users u LEFT JOIN audit_events e ON e.target_id = u.id \
         AND e.action = 'user.created' WHERE u.email LIKE 'ivy1__@example.com' AND u.password_hash IS NOT NULL \
         GROUP BY u.email",
    );
    assert_eq!(halves.len(), made.len(), "every user made has a password");
    assert!(halves.iter().all(|(_, n)| *n == 1), "and was recorded once: {halves:?}");
    for _ in 0..20 {
        let list = get(&me, &format!("{base}/users?q=ivy1")).await;
        assert_eq!(list.status, 200, "the other process serves on");
    }
    let after = metrics(b).await;
    assert!(served(&after, "/users") >= on_b + 20.0, "process b served what a can no longer");
    assert!(children.kill("b", "-TERM"), "process b stopped cleanly on SIGTERM");
    let log = std::fs::read_to_string(site.dir.join("b.log")).unwrap();
    assert!(!log.contains("ERROR") && !log.contains("panicked"), "process b logged no error:\n{log}");
}
