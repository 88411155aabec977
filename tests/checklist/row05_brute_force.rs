//! Row 5, brute force and enumeration: failed logins are limited per email
//! and per client address (behind a proxy, the address the proxy saw), and
//! the right password during a lockout is still refused. The generic error
//! for unknown email and wrong password is checked in row 3's login test;
//! their equal cost in row 4.

use crate::common::{self, Backend, TestServer};

const PW: &str = "correct horse battery";

async fn failed_logins_are_limited_per_email(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.sign_up("ada@example.com", "Ada", PW).await;
    for i in 0..5 {
        let r = server.log_in("ada@example.com", "wrong password").await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let limited = server.log_in("ada@example.com", "wrong password").await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.json()["RateLimited"]["retry_after_secs"], retry);

    let right_password = server.log_in("ada@example.com", PW).await;
    assert_eq!(
        right_password.status, 429,
        "the right password does not lift a lockout"
    );
    assert!(right_password.set_cookie().is_none());
    server.stop().await;
}
both_backends!(failed_logins_are_limited_per_email);

async fn failed_logins_are_limited_per_ip(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 0..5 {
        let r = server
            .log_in(&format!("guess{i}@example.com"), "wrong password")
            .await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let limited = server
        .log_in("yet-another@example.com", "wrong password")
        .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    server.stop().await;
}
both_backends!(failed_logins_are_limited_per_ip);

/// Behind a reverse proxy every request comes from the proxy's address: the
/// limiter must count the client's (the last X-Forwarded-For entry, which
/// the proxy added), and an address the client wrote itself counts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_logins_are_limited_per_client_address() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_BEHIND_PROXY", "1")]).await;
    let from = |ip: &'static str, i: usize| {
        let email = format!("guess{i}@{ip}.example.com");
        let server = &server;
        async move {
            server
                .post_form_with(
                    "/api/login",
                    &[("email", &email), ("password", "wrong password")],
                    None,
                    // A forged first entry, then the proxy's own.
                    &[("x-forwarded-for", &format!("1.1.1.1, {ip}"))],
                )
                .await
                .status
        }
    };
    for i in 0..5 {
        assert_eq!(from("10.0.0.1", i).await, 401, "failure {i}");
    }
    assert_eq!(from("10.0.0.1", 9).await, 429, "that client is limited");
    assert_eq!(
        from("10.0.0.2", 9).await,
        401,
        "another client behind the same proxy is not"
    );
    server.stop().await;
}
