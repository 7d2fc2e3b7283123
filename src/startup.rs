//! Builds the app: the same code serves `concierge serve` and the tests (port 0).

use std::net::TcpListener;
use std::sync::Arc;

use tokio::sync::Notify;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Compress, Next, from_fn};
use actix_web::{App, HttpRequest, HttpServer, web};
use anyhow::Context;

use crate::auth::csrf;
use crate::auth::password::Hasher;
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::router;

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
    /// The mail worker and the switch that stops it.
    mail_worker: Option<(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    /// Housekeeping (old audit events) and the switch that stops it.
    housekeeping: (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>),
}

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

const HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ("cache-control", "no-store"),
];

/// The security headers on every answer; behind https, browsers are told to use nothing else
/// (HSTS). The middlewares inside answer their refusals (a missing CSRF token, a body over the
/// limit) as pages, not errors, so those get the headers too.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let https = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.config.public_url.starts_with("https://"));
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if https {
        headers.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    Ok(response)
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

fn bad_request(err: impl std::fmt::Display, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(err.to_string()).into()
}

impl Application {
    /// Connects to the database, migrates it, and binds the listener (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = Db::connect(&config.database_url, config.database_pool_size)?;
        let migrating = db.clone();
        web::block(move || migrating.migrate()).await??;

        let key = match &config.session_key {
            Some(key) => key.clone(),
            None => {
                let db = db.clone();
                web::block(move || db.get().and_then(|mut c| db::settings::session_key(&mut c)))
                    .await?
                    .map_err(|e| anyhow::anyhow!("reading the session key failed: {e:?}"))?
            }
        };
        let key = Key::try_from(key.as_slice()).context("SESSION_KEY is not a usable key")?;

        let hasher = Hasher::new(config.bcrypt_cost);
        let warm = hasher.clone();
        std::thread::spawn(move || warm.warm_up());

        let listener =
            TcpListener::bind(config.bind).with_context(|| format!("could not listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let workers = config.workers;
        let secure = config.secure_cookies;
        let mail_queued = Arc::new(Notify::new());
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let mail_worker = if config.deliver_mail {
            let transport = crate::mail::transport::Transport::from_config(&config)?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let worker = crate::mail::worker::run(
                db.clone(),
                transport,
                mail_queued.clone(),
                config.mail_retry_base,
                metrics.clone(),
                stopped,
            );
            Some((stop, actix_web::rt::spawn(worker)))
        } else {
            None
        };
        let (stop_housekeeping, housekeeping_stopped) = tokio::sync::watch::channel(false);
        let housekeeping =
            (stop_housekeeping, actix_web::rt::spawn(crate::ops::housekeeping::run(db.clone(), housekeeping_stopped)));
        let passkeys = crate::auth::passkey::relying_party(&config.public_url);
        let state = web::Data::new(AppState {
            config,
            db,
            hasher,
            mail_queued,
            metrics,
            passkeys,
            api_limits: Default::default(),
            sealing_key: key.clone(),
            providers_http: crate::auth::oidc::http_client(),
        });
        let app_state = state.clone();

        let server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_name("concierge_session".into())
                .cookie_secure(secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .build();
            App::new()
                .app_data(app_state.clone())
                .app_data(web::FormConfig::default().limit(256 * 1024).error_handler(bad_request))
                .app_data(web::QueryConfig::default().error_handler(bad_request))
                // Raw bodies are read only by the CSV import.
                .app_data(web::PayloadConfig::new(2 * 1024 * 1024))
                .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
                .wrap(from_fn(crate::auth::current_user::check_first))
                .wrap(from_fn(csrf::check))
                .wrap(from_fn(crate::web::errors::in_layout))
                .wrap(session)
                .wrap(Compress::default())
                .wrap(from_fn(security_headers))
                .wrap(from_fn(crate::metrics::count))
                .wrap(tracing_actix_web::TracingLogger::<crate::telemetry::RequestSpan>::new())
                .configure(router::configure)
                .default_service(web::to(not_found))
        })
        .workers(workers)
        // A client gets 10 s to send its request head and 2 s to close; idle keep-alive
        // connections end after 30 s; on SIGTERM requests in flight get 30 s to finish.
        .client_request_timeout(std::time::Duration::from_secs(10))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .keep_alive(std::time::Duration::from_secs(30))
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application { port, server, state, mail_worker, housekeeping })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What stops the server (SIGTERM and SIGINT do too).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; then, the requests in flight answered, stops the mail worker and
    /// closes the database, so nothing is left running when the process exits.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application { server, state, mail_worker, housekeeping, .. } = self;
        let served = server.await;
        let _ = housekeeping.0.send(true);
        let _ = housekeeping.1.await;
        if let Some((stop, worker)) = mail_worker {
            let _ = stop.send(true);
            // A mail being sent gets the SMTP timeout; a worker stuck past that is left behind.
            match tokio::time::timeout(std::time::Duration::from_secs(30), worker).await {
                Ok(_) => tracing::info!("the mail worker stopped"),
                Err(_) => tracing::warn!("the mail worker did not stop in 30 s"),
            }
        }
        let db = state.db.clone();
        drop(state);
        match web::block(move || db.close(std::time::Duration::from_secs(15))).await {
            Ok(true) => tracing::info!("the database is closed"),
            _ => tracing::warn!("the database was still in use when the portal stopped"),
        }
        served
    }
}
