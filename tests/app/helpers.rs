#![allow(dead_code)] // Each test module uses a different part of the helpers.

//! Spawns the real app on a random port against a fresh database, and a client that behaves
//! like a browser: a cookie jar, no automatic redirects, CSRF tokens read from the forms.

use std::sync::atomic::{AtomicU32, Ordering};

use concierge::config::Config;
use concierge::db::{Db, DbConnection, groups, users};
use concierge::domain::UserStatus;
use concierge::startup::Application;
use diesel::Connection;
use diesel::connection::SimpleConnection;

pub const PASSWORD: &str = "violet-tractor-harbour-42";

/// The whole permission catalogue: what an administrator's group holds.
pub const EVERY_PERMISSION: [&str; 13] = [
    "users.view",
    "users.manage",
    "users.export",
    "users.impersonate",
    "users.reset_password",
    "invites.send",
    "buildings.view_all",
    "buildings.manage",
    "buildings.edit",
    "groups.manage",
    "audit.view",
    "settings.manage",
    "api.manage",
];

/// A database that exists for one test: a temporary SQLite file, or a PostgreSQL database
/// created from `TEST_DATABASE_URL` and dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                static N: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "concierge_test_{}_{}_{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed),
                    concierge::auth::secret::to_hex(&concierge::auth::secret::random_bytes::<4>())
                );
                let mut conn = diesel::PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL can't be reached: {e}"));
                conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
                let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
                TestDatabase { url: format!("{base}/{name}"), admin_url: Some(admin_url), name, _dir: None }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("concierge.db").display());
                TestDatabase { url, admin_url: None, name: String::new(), _dir: Some(dir) }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(admin_url) = &self.admin_url
            && let Ok(mut conn) = diesel::PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

pub fn test_config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".parse().unwrap(),
        public_url: "http://127.0.0.1".into(),
        session_key: None,
        bcrypt_cost: 4,
        smtp_url: None,
        mail_dir: std::env::temp_dir().join("concierge-test-mail"),
        secure_cookies: false,
        database_pool_size: 4,
        workers: 1,
        deliver_mail: false,
        mail_retry_base: std::time::Duration::from_millis(200),
        trusted_proxies: Default::default(),
        metrics_allow: concierge::auth::client::Networks::parse("127.0.0.1,::1").unwrap(),
        metrics_token: None,
        clock: Default::default(),
        api_requests_per_minute: 6000,
    }
}

pub struct TestApp {
    pub address: String,
    pub config: Config,
    running: RunningApp,
    // Dropped last: the database outlives the app that uses it.
    pub database: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` changed its configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        concierge::telemetry::init(concierge::config::LogFormat::Text);
    }
    let database = TestDatabase::new();
    let mut config = test_config(&database.url);
    adjust(&mut config);
    let running = RunningApp::start(config.clone()).await;
    TestApp { address: running.address.clone(), config, running, database }
}

/// The app serving on a thread of its own, as `concierge serve` does in its process. Dropping
/// it stops it the way SIGTERM does and waits until it is done: server, mail worker and every
/// database connection, including one the pool was still opening. A test process that exited
/// with those still running crashed at exit (the database client's clean-up ran under them).
pub struct RunningApp {
    pub address: String,
    db: Option<Db>,
    server: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<bool>>,
}

impl RunningApp {
    pub async fn start(config: Config) -> RunningApp {
        let (started, ready) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config).await.expect("the app builds");
                let _ = started.send((app.port(), app.state.db.clone(), app.handle()));
                app.run_until_stopped().await.is_ok()
            })
        });
        let (port, db, server) = ready.await.expect("the app started");
        RunningApp { address: format!("http://127.0.0.1:{port}"), db: Some(db), server, thread: Some(thread) }
    }

    pub fn db(&self) -> &Db {
        self.db.as_ref().expect("the app is running")
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // The app closes the database once this handle is gone too.
        self.db = None;
        drop(self.server.stop(false));
        let stopped = self.thread.take().map(|t| t.join());
        if !std::thread::panicking() {
            assert!(matches!(stopped, Some(Ok(true))), "the app did not stop cleanly");
        }
    }
}

/// What a test needs to make a user directly in the database.
pub struct UserSpec<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// A built-in group key: admin, regular, read_only, support, customer.
    pub group: &'a str,
    pub status: UserStatus,
    pub is_owner: bool,
}

impl Default for UserSpec<'_> {
    fn default() -> Self {
        UserSpec {
            email: "user@example.com",
            first_name: "Uma",
            last_name: "User",
            group: "customer",
            status: UserStatus::Active,
            is_owner: false,
        }
    }
}

impl TestApp {
    /// A fresh browser (its own cookie jar) pointed at this app.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Runs `f` on a database connection (for arranging and checking what a test needs).
    pub fn db(&self) -> &Db {
        self.running.db()
    }

    pub async fn with_db<T: Send + 'static>(&self, f: impl FnOnce(&mut DbConnection) -> T + Send + 'static) -> T {
        let db = self.db().clone();
        actix_web::web::block(move || {
            let mut conn = db.get().expect("a test connection");
            f(&mut conn)
        })
        .await
        .expect("the database task finished")
    }

    /// Creates a user with the password `PASSWORD` (bcrypt cost 4).
    pub async fn create_user(&self, spec: UserSpec<'_>) -> users::User {
        let email = spec.email.to_lowercase();
        let (first, last, group, status, is_owner) =
            (spec.first_name.to_owned(), spec.last_name.to_owned(), spec.group.to_owned(), spec.status, spec.is_owner);
        self.with_db(move |conn| {
            let group = groups::find_builtin(conn, &group).expect("a built-in group");
            users::insert(
                conn,
                &users::NewUser {
                    phone: "+1 702 555 0100".into(),
                    title: "Manager".into(),
                    job_function: "operations".into(),
                    company: "Acme".into(),
                    is_owner,
                    password_hash: Some(bcrypt::hash(PASSWORD, 4).unwrap()),
                    ..users::NewUser::new(email, first, last, group.id, status)
                },
            )
            .expect("insert user")
        })
        .await
    }

    pub async fn create_owner(&self) -> users::User {
        self.create_user(UserSpec {
            email: "owner@example.com",
            first_name: "Olive",
            last_name: "Owner",
            group: "admin",
            is_owner: true,
            ..UserSpec::default()
        })
        .await
    }

    /// A browser signed in as a new user of `group`.
    pub async fn signed_in(&self, email: &str, group: &str) -> (Browser, users::User) {
        let user = self.create_user(UserSpec { email, group, ..UserSpec::default() }).await;
        let browser = self.browser();
        browser.sign_in(email, PASSWORD).await.assert_redirect_to("/settings");
        (browser, user)
    }

    /// A browser signed in as the owner.
    pub async fn signed_in_owner(&self) -> (Browser, users::User) {
        let owner = self.create_owner().await;
        let browser = self.browser();
        browser.sign_in(&owner.email, PASSWORD).await.assert_redirect_to("/settings");
        (browser, owner)
    }

    pub async fn user(&self, id: i64) -> users::User {
        self.with_db(move |conn| users::find(conn, id).unwrap().expect("the user exists")).await
    }

    /// The id of a built-in group: admin, regular, read_only, support, customer.
    pub async fn builtin_group(&self, key: &'static str) -> i64 {
        self.with_db(move |conn| groups::find_builtin(conn, key).unwrap().id).await
    }

    /// A custom group holding exactly `permissions`.
    /// A sign-in provider at `issuer` (its secret sealed with no key: it can't be used).
    pub async fn provider(&self, name: &str, issuer: &str) -> i64 {
        let (name, issuer) = (name.to_owned(), issuer.to_owned());
        self.with_db(move |c| {
            let row = concierge::db::oidc::ProviderRow {
                name,
                issuer,
                client_id: "concierge".into(),
                client_secret_sealed: String::new(),
                scopes: "openid email".into(),
                email_claim: "email".into(),
                create_users: false,
                create_in_group_id: None,
                create_domains: String::new(),
                ask_second_factor: false,
                updated_at: concierge::db::now(),
            };
            concierge::db::oidc::insert(c, &row, concierge::db::now()).unwrap()
        })
        .await
    }

    pub async fn custom_group(&self, name: &str, permissions: &[&str]) -> i64 {
        use concierge::db::schema::{group_permissions, groups as g};
        use diesel::prelude::*;
        let (name, permissions): (String, Vec<String>) =
            (name.to_owned(), permissions.iter().map(|p| p.to_string()).collect());
        self.with_db(move |conn| {
            let at = concierge::db::now();
            let id: i64 = diesel::insert_into(g::table)
                .values((g::name.eq(&name), g::description.eq(""), g::created_at.eq(at), g::updated_at.eq(at)))
                .returning(g::id)
                .get_result(conn)
                .unwrap();
            for p in permissions {
                diesel::insert_into(group_permissions::table)
                    .values((group_permissions::group_id.eq(id), group_permissions::permission.eq(p)))
                    .execute(conn)
                    .unwrap();
            }
            id
        })
        .await
    }

    /// Puts a user into a group directly (arranging a test, not the feature under test).
    pub async fn put_in_group(&self, user_id: i64, group_id: i64) {
        use concierge::db::schema::users as u;
        use diesel::prelude::*;
        self.with_db(move |conn| diesel::update(u::table.find(user_id)).set(u::group_id.eq(group_id)).execute(conn))
            .await
            .unwrap();
    }

    /// The permissions a group grants now.
    pub async fn group_permissions(&self, group_id: i64) -> concierge::domain::PermissionSet {
        self.with_db(move |conn| groups::with_permissions(conn, group_id).unwrap().expect("the group exists").1).await
    }

    /// An account with buildings; returns (account id, building ids).
    pub async fn account_with_buildings(&self, name: &'static str, count: usize) -> (i64, Vec<i64>) {
        use concierge::db::schema::{accounts, buildings};
        use diesel::prelude::*;
        self.with_db(move |conn| {
            let at = concierge::db::now();
            let account: i64 = diesel::insert_into(accounts::table)
                .values((accounts::name.eq(name), accounts::created_at.eq(at), accounts::updated_at.eq(at)))
                .returning(accounts::id)
                .get_result(conn)
                .unwrap();
            let ids = (0..count)
                .map(|i| {
                    diesel::insert_into(buildings::table)
                        .values((
                            buildings::account_id.eq(account),
                            buildings::name.eq(format!("{name} Tower {i}")),
                            buildings::city.eq("Reno"),
                            buildings::created_at.eq(at),
                            buildings::updated_at.eq(at),
                        ))
                        .returning(buildings::id)
                        .get_result(conn)
                        .unwrap()
                })
                .collect();
            (account, ids)
        })
        .await
    }

    /// Grants a user a building directly (arranging a test, not the feature under test).
    pub async fn grant(&self, user_id: i64, building_id: i64) {
        use concierge::db::schema::building_access as ba;
        use diesel::prelude::*;
        self.with_db(move |c| {
            diesel::insert_into(ba::table)
                .values((
                    ba::user_id.eq(user_id),
                    ba::building_id.eq(building_id),
                    ba::granted_at.eq(concierge::db::now()),
                ))
                .execute(c)
                .unwrap()
        })
        .await;
    }

    /// A user's Property Access now.
    pub async fn access_of(&self, user_id: i64) -> concierge::db::user_access::Access {
        self.with_db(move |conn| concierge::db::user_access::of_user(conn, user_id).unwrap()).await
    }

    /// The actions of the audit log, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        use concierge::db::schema::audit_events::dsl::*;
        use diesel::prelude::*;
        self.with_db(|conn| audit_events.order(id).select(action).load::<String>(conn).unwrap()).await
    }
}

/// A client with a cookie jar that does not follow redirects.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    csrf: std::sync::Mutex<Option<String>>,
}

/// A response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_redirect_to(&self, path: &str) -> &Self {
        assert_eq!(self.status, 303, "expected a redirect to {path}, got {}:\n{}", self.status, self.body);
        assert_eq!(self.location(), Some(path));
        self
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body:\n{}", self.body);
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) -> &Self {
        assert!(self.body.contains(text), "{text:?} is not on the page:\n{}", self.body);
        self
    }

    /// The fields the form posting to `action` would send as it is rendered: inputs with their
    /// values (checkboxes and radios only when checked), each select's chosen option, each
    /// textarea's text. A test changes only the fields it names, so a form that pre-fills a
    /// wrong value fails it.
    #[track_caller]
    pub fn form(&self, action: &str) -> Form {
        let marker = format!("action=\"{action}\"");
        let start = self.body.find(&marker).unwrap_or_else(|| panic!("no form posts to {action}:\n{}", self.body));
        let start = self.body[..start].rfind("<form").expect("a form tag");
        let end = self.body[start..].find("</form>").map_or(self.body.len(), |e| start + e);
        Form { action: action.to_owned(), fields: form_fields(&self.body[start..end]) }
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf_token(&self) -> Option<String> {
        csrf_in(&self.body)
    }
}

/// A form as rendered, ready to be changed and posted.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Sets a field (the first of that name), or adds it.
    pub fn set(mut self, name: &str, value: &str) -> Form {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds one more value (a checkbox of a repeated field).
    pub fn add(mut self, name: &str, value: &str) -> Form {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes every value of a field (unchecks the checkboxes of that name).
    pub fn without(mut self, name: &str) -> Form {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Posts the form as it is now, with its own CSRF token.
    pub async fn submit(&self, browser: &Browser) -> Page {
        let fields: Vec<(&str, &str)> = self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        browser.post_raw(&self.action, &fields).await
    }
}

/// The text an attribute's value stands for: named entities and numeric ones (askama writes
/// `&#60;` for `<`).
fn unescape(s: &str) -> String {
    let named = s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">");
    let mut out = String::with_capacity(named.len());
    let mut rest = named.as_str();
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.split_once(';').and_then(|(n, tail)| Some((char::from_u32(n.parse().ok()?)?, tail))) {
            Some((c, tail)) => {
                out.push(c);
                rest = tail;
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
}

/// The value of attribute `name` in a tag's text, if present (`Some("")` for a bare one).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().last();
        let after = &rest[at + name.len()..];
        if before.is_some_and(char::is_whitespace) {
            if let Some(value) = after.strip_prefix("=\"") {
                return value.find('"').map(|end| unescape(&value[..end]));
            }
            if after.is_empty() || after.starts_with([' ', '>', '/']) {
                return Some(String::new());
            }
        }
        rest = after;
    }
    None
}

fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut at = 0;
    while let Some(open) = html[at..].find('<').map(|i| at + i) {
        let close = html[open..].find('>').map_or(html.len(), |i| open + i + 1);
        let tag = &html[open..close];
        at = close;
        let kind = tag[1..].split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or("");
        let Some(name) = attribute(tag, "name") else { continue };
        // A disabled field is never sent, nor one that belongs to another form (form="…").
        if attribute(tag, "disabled").is_some() || attribute(tag, "form").is_some() {
            continue;
        }
        match kind {
            "input" => {
                let input_type = attribute(tag, "type").unwrap_or_else(|| "text".into());
                if matches!(input_type.as_str(), "checkbox" | "radio") && attribute(tag, "checked").is_none() {
                    continue;
                }
                if matches!(input_type.as_str(), "submit" | "button" | "file") {
                    continue;
                }
                let default = if input_type == "checkbox" { "on" } else { "" };
                fields.push((name, attribute(tag, "value").unwrap_or_else(|| default.into())));
            }
            "select" => {
                let end = html[at..].find("</select>").map_or(html.len(), |i| at + i);
                let options = &html[at..end];
                let mut chosen = None;
                let mut first = None;
                for option in options.split("<option").skip(1) {
                    let tag = &option[..option.find('>').unwrap_or(option.len())];
                    let value = attribute(tag, "value").unwrap_or_default();
                    first.get_or_insert(value.clone());
                    if attribute(tag, "selected").is_some() {
                        chosen = Some(value);
                    }
                }
                if let Some(value) = chosen.or(first) {
                    fields.push((name, value));
                }
                at = end;
            }
            "textarea" => {
                let end = html[at..].find("</textarea>").map_or(html.len(), |i| at + i);
                fields.push((name, unescape(&html[at..end])));
                at = end;
            }
            _ => {}
        }
    }
    fields
}

fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

/// An HTTP client's builder. Its TLS (for the proxy suite, compiled into the same client crate)
/// needs its cryptography chosen before any client is built.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let client = http_client().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: base.to_owned(), client, csrf: std::sync::Mutex::new(None) }
    }

    /// A browser that names itself `agent` in every request's `User-Agent`.
    pub fn with_agent(base: &str, agent: &str) -> Browser {
        let client = http_client()
            .cookie_store(true)
            .user_agent(agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { base: base.to_owned(), client, csrf: std::sync::Mutex::new(None) }
    }

    /// The same browser (its cookies) talking to another process of the portal at `base`.
    pub fn at(&self, base: &str) -> Browser {
        let csrf = std::sync::Mutex::new(self.csrf.lock().unwrap().clone());
        Browser { base: base.to_owned(), client: self.client.clone(), csrf }
    }

    /// The status of a request in any method, with this browser's cookies and no body.
    pub async fn request_status(&self, method: &str, path: &str) -> u16 {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client.request(method, format!("{}{path}", self.base)).send().await.expect("request").status().as_u16()
    }

    async fn read(&self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        if let Some(token) = csrf_in(&body) {
            *self.csrf.lock().unwrap() = Some(token);
        }
        Page { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        self.read(response).await
    }

    /// Follows redirects from `path` (GET) and returns the last page.
    pub async fn follow(&self, path: &str) -> Page {
        let mut page = self.get(path).await;
        let mut hops = 0;
        while let (303 | 302 | 301 | 307, Some(next)) = (page.status, page.location().map(str::to_owned)) {
            hops += 1;
            assert!(hops < 10, "too many redirects");
            page = self.get(&next).await;
        }
        page
    }

    /// The CSRF token of this browser's session (fetching a page for it when none was seen).
    pub async fn csrf_token(&self) -> String {
        if let Some(token) = self.csrf.lock().unwrap().clone() {
            return token;
        }
        self.follow("/sign-in").await;
        self.csrf.lock().unwrap().clone().expect("the page carries a CSRF token")
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post_raw(path, &fields).await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self.client.post(format!("{}{path}", self.base)).form(fields).send().await.expect("POST");
        self.read(response).await
    }

    /// Posts a form (with this session's CSRF token) as a proxy would forward it for `client`.
    pub async fn post_from(&self, client: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf_token", &token));
        let request = self.client.post(format!("{}{path}", self.base)).header("x-forwarded-for", client);
        let response = request.form(&fields).send().await.expect("POST");
        self.read(response).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.get("/sign-in").await;
        let page = self.post("/sign-in", &[("email", email), ("password", password)]).await;
        // Signing in starts a new session with a new token.
        self.forget_csrf();
        page
    }

    /// Forgets the CSRF token it saw (after the session changed).
    pub fn forget_csrf(&self) {
        *self.csrf.lock().unwrap() = None;
    }
}

/// Where the OpenID provider the tests run lives (npm `oidc-provider`, see tests/oidc).
const IDP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
/// The client secret of the portal at that provider.
pub const IDP_SECRET: &str = "concierge-test-secret";

/// A running OpenID provider, stopped when dropped.
pub struct Idp {
    child: std::process::Child,
    pub issuer: String,
    /// Kept open: the provider dies writing to a closed pipe.
    _out: std::io::BufReader<std::process::ChildStdout>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the provider can run here. Under CI a missing piece is a failure, never a skip.
pub fn idp_available() -> bool {
    let installed = std::path::Path::new(IDP_DIR).join("node_modules/oidc-provider").exists();
    let node = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if installed && node {
        return true;
    }
    let message = "the OpenID tests need node (20.18 or later) and `npm ci` in tests/oidc";
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{message}");
    eprintln!("skipped: {message}");
    false
}

/// Starts the provider on a free port with these accounts (claim sets); the portal at
/// `portal` may come back to it for its providers 1 to 3.
pub fn start_idp(accounts: serde_json::Value, portal: &str) -> Idp {
    use std::io::BufRead;
    let redirects: Vec<String> = (1..=3).map(|id| format!("{portal}/sign-in/oidc/{id}/callback")).collect();
    let mut child = std::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(IDP_DIR)
        .env("OIDC_PORT", "0")
        .env("OIDC_CLIENT_ID", "concierge")
        .env("OIDC_CLIENT_SECRET", IDP_SECRET)
        .env("OIDC_REDIRECT_URIS", redirects.join(","))
        .env("OIDC_ACCOUNTS", accounts.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("node starts");
    let (mut line, mut out) = (String::new(), std::io::BufReader::new(child.stdout.take().unwrap()));
    out.read_line(&mut line).expect("the provider says where it is");
    let said: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
    Idp { child, issuer: said["issuer"].as_str().unwrap().to_owned(), _out: out }
}
