//! A real SMTP server for the tests: Python's aiosmtpd writing a Maildir.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Whether aiosmtpd is here; under CI its absence is a failure, never a skip.
pub fn available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "the mail tests need aiosmtpd (pip install aiosmtpd)"
        );
        eprintln!("skipped: the mail tests need aiosmtpd (pip install aiosmtpd)");
    }
    ok
}

impl SmtpServer {
    /// A port for a server that is not started yet.
    pub fn stopped() -> SmtpServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        SmtpServer { port, dir: tempfile::tempdir().unwrap(), child: None }
    }

    pub async fn start() -> SmtpServer {
        let mut server = SmtpServer::stopped();
        server.resume().await;
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub async fn resume(&mut self) {
        let maildir = self.dir.path().join("maildir");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, as text with quoted-printable soft breaks undone.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let dir: PathBuf = self.dir.path().join("maildir").join(sub);
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                    out.push(raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="));
                }
            }
        }
        out
    }

    /// Waits until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The path of the first link in a message that contains `marker` (e.g. "/invite/").
pub fn link_path(message: &str, marker: &str) -> String {
    let start = message.find(marker).expect("a link in the mail");
    let rest = &message[start..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '"' || c == '<').unwrap_or(rest.len());
    rest[..end].to_owned()
}
