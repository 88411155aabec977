//! Row 4, password storage: argon2id with OWASP's minimum parameters in the
//! database itself, weaker old hashes upgraded at the next login, and an
//! unknown email costing a full verification like a wrong password.

use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::common::{self, Backend, TestServer};

const PW: &str = "correct horse battery";
const OWASP: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

async fn hashes_with(server: &TestServer, prefix: &str) -> i64 {
    server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE password_hash LIKE '{prefix}%'"
        ))
        .await
}

async fn stored_as_argon2id_and_upgraded_at_login(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.user("ada@example.com").await;
    assert_eq!(
        hashes_with(&server, OWASP).await,
        1,
        "the stored PHC string"
    );

    // An account from a time of weaker parameters.
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).expect("params"),
    )
    .hash_password(PW.as_bytes(), &SaltString::generate(&mut OsRng))
    .expect("hash")
    .to_string();
    server
        .db
        .execute(&format!(
            "UPDATE users SET password_hash = '{weak}' WHERE email = 'ada@example.com'"
        ))
        .await;
    assert_eq!(hashes_with(&server, OWASP).await, 0);
    assert_eq!(server.log_in("ada@example.com", PW).await.status, 200);
    assert_eq!(
        hashes_with(&server, OWASP).await,
        1,
        "re-hashed with today's parameters at login"
    );
    assert_eq!(server.log_in("ada@example.com", PW).await.status, 200);
}
both_backends!(stored_as_argon2id_and_upgraded_at_login);

/// No timing hint either: an unknown email verifies a dummy hash. Each
/// attempt comes from its own client address (behind a proxy) so the
/// failed-login limit stays out of the way. The bound is loose (a factor of
/// 2 between medians); skipping the verification would be ~30x faster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_costs_as_much_as_a_wrong_password() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_BEHIND_PROXY", "1")]).await;
    const N: usize = 7;
    for i in 0..N {
        server.user(&format!("user{i}@example.com")).await;
    }
    let attempt = |email: String, address: String| {
        let server = &server;
        async move {
            let started = Instant::now();
            let reply = server
                .post_form_with(
                    "/api/login",
                    &[("email", &email), ("password", "wrong password")],
                    None,
                    &[("x-forwarded-for", &address)],
                )
                .await;
            assert_eq!(reply.status, 401, "{}", reply.body);
            started.elapsed()
        }
    };
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..N {
        wrong.push(attempt(format!("user{i}@example.com"), format!("10.0.1.{i}")).await);
        unknown.push(attempt(format!("nobody{i}@example.com"), format!("10.0.2.{i}")).await);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (wrong, unknown) = (median(wrong), median(unknown));
    assert!(
        unknown * 2 > wrong && wrong * 2 > unknown,
        "median wrong password {wrong:?}, unknown email {unknown:?}"
    );
}
