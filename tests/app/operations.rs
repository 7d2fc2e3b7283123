//! What an operator runs the portal with: `/metrics`, scraped after real traffic, and who may
//! read it.

use concierge::auth::client::Networks;

use crate::helpers::*;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[actix_web::test]
async fn metrics_count_requests_by_route_sign_in_failures_mail_and_invitations() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in_owner().await;
    let group = app.builtin_group("customer").await.to_string();
    let fields = [
        ("first_name", "Ivy"),
        ("last_name", "Invitee"),
        ("email", "ivy@example.com"),
        ("phone", "+1 702 555 0142"),
        ("title", "Tenant rep"),
        ("job_function", "tenant"),
        ("group_id", group.as_str()),
        ("entry", "invite"),
    ];
    admin.post("/users/new", &fields).await.assert_status(303);
    let ivy = app.with_db(|c| concierge::db::users::find_by_email(c, "ivy@example.com").unwrap().unwrap().id).await;
    for _ in 0..3 {
        admin.get(&format!("/users/{ivy}")).await.assert_status(200);
    }
    let secret = "5ec2e7".repeat(10) + "abcd";
    app.browser().get(&format!("/invite/{secret}")).await.assert_status(404);
    let stranger = app.browser();
    stranger.sign_in("owner@example.com", "not the password").await.assert_status(422);

    let page = app.browser().get("/metrics").await;
    page.assert_status(200);
    assert_eq!(page.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let m = &page.body;
    let seen = |series: &str| sample(m, series).unwrap_or_else(|| panic!("no {series} in\n{m}"));
    assert_eq!(seen(r#"concierge_http_requests_total{method="GET",route="/users/{id}",status="200"}"#), 3.0);
    assert_eq!(seen(r#"concierge_http_requests_total{method="POST",route="/users/new",status="303"}"#), 1.0);
    assert_eq!(seen(r#"concierge_http_requests_total{method="GET",route="/invite/{token}",status="404"}"#), 1.0);
    assert_eq!(
        seen(r#"concierge_http_request_duration_seconds_count{method="GET",route="/users/{id}",status="200"}"#),
        3.0
    );
    assert_eq!(
        seen(
            r#"concierge_http_request_duration_seconds_bucket{method="GET",route="/users/{id}",status="200",le="+Inf"}"#
        ),
        3.0
    );
    assert!(!m.contains(&secret), "a link's secret never reaches the metrics");
    assert!(!m.contains(&format!("/users/{ivy}\"")), "paths are counted by their route, not their ids");
    assert_eq!(seen("concierge_sign_in_failures_total"), 1.0);
    assert_eq!(seen("concierge_sign_in_lockouts_total"), 0.0);
    // The invitation waits in the outbox (this app's mail worker is off) and is pending.
    assert_eq!(seen("concierge_invitations_pending"), 1.0);
    assert_eq!(seen(r#"concierge_mail_queue{state="queued"}"#), 1.0);
    assert_eq!(seen(r#"concierge_mail_queue{state="retrying"}"#), 0.0);
    assert!(seen(r#"concierge_database_connections{state="idle"}"#) >= 1.0);
    assert_eq!(seen("concierge_database_waiting"), 0.0);

    // Failures until the address locks: counted once as a lock-out.
    for _ in 0..12 {
        stranger.sign_in("owner@example.com", "not the password").await;
    }
    // Made-up methods are counted together: nobody grows the metrics without end.
    let client = http_client().build().unwrap();
    for n in 0..5 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{n}").as_bytes()).unwrap();
        client.request(method, format!("{}/users", app.address)).send().await.unwrap();
    }
    let m = app.browser().get("/metrics").await.body;
    assert!(!m.contains("INVENTED"), "{m}");
    let other: f64 = m
        .lines()
        .filter(|l| l.starts_with(r#"concierge_http_requests_total{method="other",route="/users""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(other, 5.0, "{m}");
    assert_eq!(sample(&m, "concierge_sign_in_lockouts_total"), Some(1.0), "{m}");
    assert_eq!(sample(&m, "concierge_sign_in_locked"), Some(1.0), "{m}");
    assert!(sample(&m, "concierge_sign_in_failures_total").unwrap() >= 6.0);
}

#[actix_web::test]
async fn metrics_are_refused_to_other_addresses_unless_the_token_is_given() {
    let token = "metrics-token-0123456789";
    let app = spawn_app_with(|c| {
        c.metrics_allow = Networks::parse("10.9.9.9").unwrap();
        c.metrics_token = Some(token.into());
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let client = http_client().build().unwrap();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(client.get(&url).send().await.unwrap()), 403);
    assert_eq!(status(client.get(&url).bearer_auth("metrics-token-wrong-012345").send().await.unwrap()), 403);
    assert_eq!(status(client.get(&url).bearer_auth(token).send().await.unwrap()), 200);
    // A header anyone can write does not make a stranger one of the allowed addresses.
    assert_eq!(status(client.get(&url).header("x-forwarded-for", "10.9.9.9").send().await.unwrap()), 403);

    // Behind a trusted proxy on loopback, the forwarded client is the one judged: the proxy's own
    // address does not open the metrics to everyone it serves.
    let app = spawn_app_with(|c| c.trusted_proxies = Networks::parse("127.0.0.1").unwrap()).await;
    let url = format!("{}/metrics", app.address);
    assert_eq!(status(client.get(&url).send().await.unwrap()), 200);
    assert_eq!(status(client.get(&url).header("x-forwarded-for", "203.0.113.5").send().await.unwrap()), 403);
    assert_eq!(status(client.get(&url).header("x-forwarded-for", "127.0.0.1").send().await.unwrap()), 200);
}

#[actix_web::test]
async fn json_logs_give_one_object_a_line_with_the_route_and_never_a_link_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("c.db").display()))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client().build().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server did not start");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let secret = "5ec2e7".repeat(10) + "abcd";
    let answered = client.get(format!("{base}/reset-password/{secret}?x=1")).send().await.unwrap().status();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap().success());

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(&secret), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object: {line:?}: {e}")))
        .collect();
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{log}");
    let request = lines
        .iter()
        .find(|l| l["span"]["route"] == "/reset-password/{token}")
        .unwrap_or_else(|| panic!("a line for the request: {log}"));
    assert_eq!(request["span"]["method"], "GET");
    assert_eq!(request["span"]["status"], answered.as_u16());
    assert!(lines.iter().any(|l| l["message"] == "Concierge is listening"), "{log}");
}
