//! What every request can reach: the settings, the database, the password hasher, and the bell
//! that wakes the mail worker. Its own module, so that `auth`, `ops` and the screens import it
//! without importing the startup that builds it.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::auth::password::Hasher;
use crate::config::Config;
use crate::db::Db;

/// What every handler can reach.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub hasher: Hasher,
    /// Wakes the mail worker after a transaction queued mail.
    pub mail_queued: Arc<Notify>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The relying party for passkeys; None when `PUBLIC_URL`'s host is an address.
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
    /// How many requests each API token may still make now (this process's share).
    pub api_limits: crate::scim::RateLimits,
    /// The session key, which also seals the OpenID providers' client secrets.
    pub sealing_key: actix_web::cookie::Key,
    /// How OpenID providers are reached (no redirects followed).
    pub providers_http: reqwest::Client,
}
