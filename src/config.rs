//! Every setting of the process, from a flag or an environment variable, parsed once.
//! Settings an administrator changes at run time live in the database (see `db::settings`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// `sqlite://FILE` (created if missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://concierge.db", global = true)]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    /// The address people reach the portal at, used in emailed links. Defaults to http://BIND.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// 64 random bytes as 128 hex digits that sign and encrypt session cookies. When unset, one
    /// is generated on first start and kept in the database.
    #[arg(long, env = "SESSION_KEY", hide_env_values = true, global = true)]
    pub session_key: Option<String>,
    /// bcrypt cost for password hashes (4–31).
    #[arg(long, env = "BCRYPT_COST", default_value_t = 12, global = true)]
    pub bcrypt_cost: u32,
    /// `smtp://USER:PASSWORD@HOST:587` (STARTTLS) or `smtps://…:465`. When unset, mail is
    /// written as .eml files into MAIL_DIR.
    #[arg(long, env = "SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// Folder for .eml files when no SMTP_URL is set.
    #[arg(long, env = "MAIL_DIR", default_value = "mail", global = true)]
    pub mail_dir: PathBuf,
    /// Mark cookies Secure (HTTPS only). Defaults to on when PUBLIC_URL is https.
    #[arg(long, env = "SECURE_COOKIES", global = true)]
    pub secure_cookies: Option<bool>,
    /// Database connections in the pool (defaults to twice the number of cores).
    #[arg(long, env = "DATABASE_POOL_SIZE", global = true)]
    pub database_pool_size: Option<u32>,
    /// Seconds before the first retry of a mail that could not be sent (then 3×, 9×, … up to an hour).
    #[arg(long, env = "MAIL_RETRY_SECONDS", default_value_t = 10, global = true)]
    pub mail_retry_seconds: u64,
    /// HTTP worker threads (defaults to the number of cores).
    #[arg(long, env = "WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Proxies whose X-Forwarded-For is believed, comma-separated addresses or networks
    /// (`127.0.0.1,10.0.0.0/8`). Unset: the peer's own address is the client's.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,
    /// Clients that may read /metrics, comma-separated addresses or networks.
    #[arg(long, env = "METRICS_ALLOW", default_value = "127.0.0.1,::1", global = true)]
    pub metrics_allow: String,
    /// A bearer token with which /metrics may be read from any address (at least 16 characters).
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,
    /// Requests one API token may make a minute, per process (a burst may use a whole minute's).
    #[arg(long, env = "API_REQUESTS_PER_MINUTE", default_value_t = 6000, global = true)]
    pub api_requests_per_minute: u32,

    /// `text` (one readable line per event) or `json` (one JSON object a line, for log shippers).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub public_url: String,
    pub session_key: Option<Vec<u8>>,
    pub bcrypt_cost: u32,
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub secure_cookies: bool,
    pub database_pool_size: u32,
    pub workers: usize,
    /// Background delivery of the outbox; tests that read the outbox directly turn it off.
    pub deliver_mail: bool,
    pub mail_retry_base: std::time::Duration,
    pub trusted_proxies: crate::auth::client::Networks,
    /// Clients that may read `/metrics` without the token.
    pub metrics_allow: crate::auth::client::Networks,
    pub metrics_token: Option<String>,
    /// The time sessions are judged by (tests move it forward instead of waiting).
    pub clock: Clock,
    /// Requests one API token may make a minute in this process.
    pub api_requests_per_minute: u32,
}

/// The system's clock, moved forward by a number of seconds that is 0 unless a test moves it.
#[derive(Debug, Clone, Default)]
pub struct Clock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    /// Seconds since 1970, as the portal reads them.
    pub fn timestamp(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Now, as the portal reads it, in UTC.
    pub fn now(&self) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp(self.timestamp(), 0).unwrap_or_default().naive_utc()
    }

    /// Moves the clock `seconds` on.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }
}

impl ConfigArgs {
    /// Checks every setting; the error is one line naming the setting and what is wrong.
    pub fn validate(self) -> Result<Config, String> {
        let bind: SocketAddr = self
            .bind
            .parse()
            .map_err(|_| format!("BIND: {:?} is not an address and port like 127.0.0.1:8080", self.bind))?;
        let public_url = match self.public_url {
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                    return Err(format!("PUBLIC_URL: {url:?} must start with http:// or https://"));
                }
                url
            }
            None => format!("http://{bind}"),
        };
        let session_key = match self.session_key {
            Some(hex) => Some(
                crate::auth::secret::from_hex(hex.trim())
                    .filter(|k| k.len() == 64)
                    .ok_or("SESSION_KEY: must be 128 hex digits (64 bytes)")?,
            ),
            None => None,
        };
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(format!("BCRYPT_COST: {} is outside 4–31", self.bcrypt_cost));
        }
        if let Some(url) = &self.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err("SMTP_URL: must start with smtp:// or smtps://".into());
        }
        let url = &self.database_url;
        let known = ["sqlite://", "sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|p| url.starts_with(p)) {
            return Err(format!("DATABASE_URL: {url:?} must start with sqlite:// or postgres://"));
        }
        // The list's reads are CPU work on SQLite (and on PostgreSQL, on the same machine): more
        // connections than two a core share the cores and stretch every request (at 16 clients
        // on 2 cores, 10 connections gave a search p99 17 ms, 4 gave 12 ms, at the same rate).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let database_pool_size = self.database_pool_size.unwrap_or(2 * cores as u32);
        if database_pool_size == 0 {
            return Err("DATABASE_POOL_SIZE: must be at least 1".into());
        }
        let secure_cookies = self.secure_cookies.unwrap_or(public_url.starts_with("https://"));
        let workers = self.workers.unwrap_or(cores);
        let trusted_proxies =
            crate::auth::client::Networks::parse(&self.trusted_proxies).map_err(|e| format!("TRUSTED_PROXIES: {e}"))?;
        let metrics_allow =
            crate::auth::client::Networks::parse(&self.metrics_allow).map_err(|e| format!("METRICS_ALLOW: {e}"))?;
        let metrics_token = self.metrics_token.filter(|t| !t.is_empty());
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err("METRICS_TOKEN: must be at least 16 characters, without spaces".into());
        }
        Ok(Config {
            database_url: self.database_url,
            bind,
            public_url,
            session_key,
            bcrypt_cost: self.bcrypt_cost,
            smtp_url: self.smtp_url,
            mail_dir: self.mail_dir,
            secure_cookies,
            database_pool_size,
            workers,
            deliver_mail: true,
            mail_retry_base: std::time::Duration::from_secs(self.mail_retry_seconds.max(1)),
            trusted_proxies,
            metrics_allow,
            metrics_token,
            clock: Clock::default(),
            api_requests_per_minute: self.api_requests_per_minute.max(1),
        })
    }
}
