//! `/metrics`: what an operator watches, in Prometheus's text format. Counters and the latency
//! histogram count what this process did (Prometheus sums them over processes); the gauges of
//! the mail queue, pending invitations and locked sign-ins are read from the database at each
//! scrape and are the same on every process sharing it.
//!
//! Served only to the client addresses in `METRICS_ALLOW` (default: loopback), or to a request
//! that carries `METRICS_TOKEN` as its bearer token. The client address is the one the rest of
//! the portal sees: behind a trusted proxy, the address the proxy forwarded, so a proxy on
//! loopback does not open the metrics to everyone it serves.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::auth::secret;
use crate::error::AppError;
use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub sign_in_failures: IntCounter,
    pub sign_in_lockouts: IntCounter,
    pub mail_sent: IntCounter,
    pub mail_retries: IntCounter,
    pub mail_failed: IntCounter,
    pool: IntGaugeVec,
    pool_waiting: IntGauge,
    mail_queue: IntGaugeVec,
    invitations_pending: IntGauge,
    sign_in_locked: IntGauge,
}

/// Seconds: a page takes milliseconds, a sign-in a quarter of a second (bcrypt).
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("concierge".into()), None).expect("a valid prefix");
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Requests answered, by route template and status."),
            labels,
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer, by route template and status.")
                .buckets(BUCKETS.to_vec()),
            labels,
        )
        .expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let metrics = Metrics {
            requests,
            latency,
            sign_in_failures: counter("sign_in_failures_total", "Sign-ins refused: a wrong email or password."),
            sign_in_lockouts: counter("sign_in_lockouts_total", "Addresses locked after too many failed sign-ins."),
            mail_sent: counter("mail_sent_total", "Mails this process delivered."),
            mail_retries: counter("mail_retries_total", "Deliveries that failed and will be tried again."),
            mail_failed: counter("mail_failed_total", "Mails given up on after the last try."),
            pool: IntGaugeVec::new(Opts::new("database_connections", "Pooled connections, by state."), &["state"])
                .expect("valid metric"),
            pool_waiting: gauge("database_waiting", "Requests waiting for a database connection."),
            mail_queue: IntGaugeVec::new(
                Opts::new("mail_queue", "Mails in the outbox not yet sent, by state (the whole database)."),
                &["state"],
            )
            .expect("valid metric"),
            invitations_pending: gauge("invitations_pending", "Invitations sent and not yet answered, not expired."),
            sign_in_locked: gauge("sign_in_locked", "Addresses and networks locked out of signing in now."),
            registry,
        };
        let r = &metrics.registry;
        for c in [&metrics.sign_in_failures, &metrics.sign_in_lockouts, &metrics.mail_sent] {
            r.register(Box::new(c.clone())).expect("registered once");
        }
        for c in [&metrics.mail_retries, &metrics.mail_failed] {
            r.register(Box::new(c.clone())).expect("registered once");
        }
        for g in [&metrics.pool_waiting, &metrics.invitations_pending, &metrics.sign_in_locked] {
            r.register(Box::new(g.clone())).expect("registered once");
        }
        r.register(Box::new(metrics.requests.clone())).expect("registered once");
        r.register(Box::new(metrics.latency.clone())).expect("registered once");
        r.register(Box::new(metrics.pool.clone())).expect("registered once");
        r.register(Box::new(metrics.mail_queue.clone())).expect("registered once");
        metrics
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Counts every answer under its route template (never the path: links carry secrets in it).
pub async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "(no route)".into());
    // Any token is a method to HTTP: an unknown one is counted as "other", so that nobody can
    // grow the metrics without end by inventing methods.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let outcome = next.call(req).await;
    if let Some(state) = state {
        let status = match &outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        state.metrics.observe(&method, &route, status, started.elapsed().as_secs_f64());
    }
    outcome
}

/// Whether this request may read the metrics.
fn allowed(req: &HttpRequest, state: &AppState) -> bool {
    if let Some(token) = &state.config.metrics_token {
        let bearer = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(bearer) = bearer {
            return secret::constant_time_eq(secret::digest(bearer).as_bytes(), secret::digest(token).as_bytes());
        }
    }
    crate::auth::client::of_request(req).is_some_and(|ip| state.config.metrics_allow.contains(ip))
}

/// GET `/metrics`.
pub async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !allowed(&req, &state) {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Metrics are served to the addresses in METRICS_ALLOW, or with the METRICS_TOKEN bearer token.\n"));
    }
    let now = crate::db::now();
    let counts = state.db.run(move |conn| crate::db::gauges::read(conn, now)).await?;
    let m = &state.metrics;
    let pool = state.db.pool_state();
    m.pool.with_label_values(&["in_use"]).set(i64::from(pool.connections - pool.idle_connections));
    m.pool.with_label_values(&["idle"]).set(i64::from(pool.idle_connections));
    m.pool_waiting.set(state.db.waiting());
    m.mail_queue.with_label_values(&["queued"]).set(counts.mail_queued);
    m.mail_queue.with_label_values(&["retrying"]).set(counts.mail_retrying);
    m.invitations_pending.set(counts.invitations_pending);
    m.sign_in_locked.set(counts.sign_in_locked);
    let mut body = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&m.registry.gather(), &mut body)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding the metrics failed: {e}")))?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body))
}
