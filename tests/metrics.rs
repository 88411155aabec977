//! `/metrics` end to end (the real binary, both databases): behind its
//! bearer token on the main address, or open on an address of its own;
//! what it counts moves with what happens; the fan-out lag is measured
//! between two Postgres nodes; bad settings are one line at start.

mod common;

use common::{ack, run_glasschat, Backend, TestDb, TestServer};

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn scrape(server: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut request = server.client.get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.expect("scrape");
    let status = reply.status().as_u16();
    if status == 200 {
        let kind = reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    }
    (status, reply.text().await.expect("body"))
}

/// The value of the sample named exactly `name` (no labels).
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.rsplit_once(' ')?;
            (metric == name).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn counted_behind_the_token(backend: Backend) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &[("GLASSCHAT_METRICS_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(scrape(&server, None).await.0, 401);
    assert_eq!(
        scrape(&server, Some("metrics-token-wrong-wrong-wrong"))
            .await
            .0,
        401
    );
    let (status, before) = scrape(&server, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let stored_before = value(&before, "glasschat_messages_stored_total");

    let ada = server.user("ada@example.com").await;
    server.user("bob@example.com").await;
    let room = server.direct_chat(&ada, "bob@example.com").await;
    let mut tab = server.tab(&ada).await;
    for i in 0..5 {
        tab.say(room, &format!("c{i}"), "hello").await;
        ack(&mut tab).await;
    }
    for _ in 0..2 {
        let refused = server
            .log_in("ada@example.com", "not the password at all")
            .await;
        assert_eq!(refused.status, 401);
    }

    let (_, text) = scrape(&server, Some(TOKEN)).await;
    assert!(value(&text, "glasschat_messages_stored_total") >= stored_before + 5.0);
    assert_eq!(value(&text, "glasschat_login_failures_total"), 2.0);
    assert_eq!(value(&text, "glasschat_sockets_open"), 1.0);
    assert!(value(&text, "glasschat_writer_batch_size_count") >= 5.0);
    assert!(value(&text, "glasschat_writer_commit_seconds_count") >= 5.0);
    assert!(value(&text, "glasschat_writer_commit_seconds_sum") > 0.0);
    assert_eq!(value(&text, "glasschat_sockets_dropped_slow_total"), 0.0);
    assert_eq!(value(&text, "glasschat_writer_queue"), 0.0);
    assert!(value(&text, "glasschat_db_pool_connections") >= 1.0);
    assert!(value(&text, "glasschat_resident_memory_bytes") > 1e6);
    assert!(
        text.contains("# TYPE glasschat_writer_commit_seconds histogram"),
        "{text}"
    );

    // Every series the documented dashboard plots is one this exports.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/grafana-dashboard.json"
        ))
        .expect("docs/grafana-dashboard.json"),
    )
    .expect("the dashboard is JSON");
    let mut plotted = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|word| word.starts_with("glasschat_"))
            {
                assert!(
                    text.contains(name),
                    "the dashboard plots {name}, which /metrics lacks"
                );
                plotted += 1;
            }
        }
    }
    assert!(plotted >= 10, "{plotted}");
    drop(tab);
}
both_backends!(counted_behind_the_token);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_on_an_address_of_its_own() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = TestServer::start_on(
        TestDb::new(Backend::Sqlite).await,
        &[("GLASSCHAT_METRICS_ADDR", &addr)],
    )
    .await;
    // Not on the main address (no token set), open on its own.
    assert_eq!(scrape(&server, None).await.0, 404);
    assert_eq!(scrape(&server, Some(TOKEN)).await.0, 404);
    let text = server
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    assert_eq!(value(&text, "glasschat_sockets_open"), 0.0);
    let elsewhere = server
        .client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        elsewhere.status().as_u16(),
        404,
        "the metrics address serves metrics only"
    );
}

/// Two nodes: what one announces reaches the other, and the other measures
/// how long that took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fanout_lag_is_measured_between_nodes() {
    let env = [("GLASSCHAT_METRICS_TOKEN", TOKEN)];
    let first = TestServer::start_on(TestDb::new(Backend::Postgres).await, &env).await;
    let second = first.another_node(&env).await;
    let ada = first.user("ada@example.com").await;
    let bob = first.user("bob@example.com").await;
    let room = first.direct_chat(&ada, "bob@example.com").await;
    let mut far = second.tab(&bob).await;
    let mut near = first.tab(&ada).await;
    near.say(room, "x1", "across").await;
    let sent = ack(&mut near).await;
    far.until_seq(room, sent.seq).await;
    let (_, text) = scrape(&second, Some(TOKEN)).await;
    assert!(
        value(&text, "glasschat_fanout_lag_seconds_count") >= 1.0,
        "{text}"
    );
    let lag = value(&text, "glasschat_fanout_lag_seconds_sum")
        / value(&text, "glasschat_fanout_lag_seconds_count");
    assert!(lag < 1.0, "mean lag {lag} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_metrics_settings_are_one_line_at_start() {
    let db = TestDb::new(Backend::Sqlite).await;
    for (name, value, says) in [
        (
            "GLASSCHAT_METRICS_TOKEN",
            "short",
            "GLASSCHAT_METRICS_TOKEN",
        ),
        (
            "GLASSCHAT_METRICS_ADDR",
            "everywhere",
            "GLASSCHAT_METRICS_ADDR",
        ),
    ] {
        let (ok, _, err) = run_glasschat(
            &db,
            &[],
            &[(name, value), ("GLASSCHAT_ADDR", "127.0.0.1:0")],
        )
        .await;
        assert!(!ok, "{name}={value} must stop the start");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("short"), "the token is not printed: {err}");
        assert_eq!(
            err.trim()
                .lines()
                .filter(|l| l.starts_with("glasschat:"))
                .count(),
            1,
            "{err}"
        );
    }
}
