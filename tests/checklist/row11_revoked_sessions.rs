//! Row 11, a revoked session keeps its socket: logging out closes that
//! session's sockets within a second (4001) and an expired session's
//! sockets are closed by the periodic check; the old cookie opens nothing.

use std::time::{Duration, Instant};

use crate::common::{self, ack, Backend, Tab, TestServer};
use glasschat::realtime::protocol::close;

/// Ada signed in twice (two devices), a tab open in each, and a room.
struct Ada {
    ada: String,
    other: String,
    room: i64,
    tab: Tab,
    other_tab: Tab,
}

impl Ada {
    async fn in_two_sessions(server: &TestServer) -> Ada {
        let ada = server.user("ada@example.com").await;
        let other = server
            .log_in("ada@example.com", "correct horse battery")
            .await
            .session();
        let room = server.group(&ada, "Notes", &[]).await;
        let tab = server.tab(&ada).await;
        let other_tab = server.tab(&other).await;
        Ada {
            ada,
            other,
            room,
            tab,
            other_tab,
        }
    }
}

async fn logout_closes_that_sessions_sockets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Ada {
        ada,
        other,
        room,
        mut tab,
        mut other_tab,
    } = Ada::in_two_sessions(&server).await;

    let started = Instant::now();
    let out = server.post_form("/api/logout", &[], Some(&ada)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(
        tab.closed_with().await,
        Some(close::UNAUTHORIZED),
        "the client is told to log in again"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "closed within a second"
    );
    let status = match server.ws_raw(Some(&ada), Some(&server.base.clone())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        other => panic!("expected a refusal, got {:?}", other.map(|_| "a socket")),
    };
    assert_eq!(status, 401, "the old cookie opens no new socket");

    // The user's other session keeps working.
    assert_eq!(server.me(&other).await["email"], "ada@example.com");
    other_tab.say(room, "still-here", "still here").await;
    assert_eq!(ack(&mut other_tab).await.seq, 1);
}
both_backends!(logout_closes_that_sessions_sockets);

/// A session that expires while its tab stays open: the periodic check
/// (every second here; `GLASSCHAT_SESSION_CHECK_SECS`, 30 by default)
/// removes it and closes its sockets with 4001; other sessions carry on.
async fn an_expired_sessions_sockets_are_closed(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_SESSION_CHECK_SECS", "1")]).await;
    let Ada {
        ada,
        room,
        mut tab,
        mut other_tab,
        ..
    } = Ada::in_two_sessions(&server).await;

    // Thirty days pass for the first session only.
    let hex: String = glasschat::server::auth::token::hash_cookie_value(&ada)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("decode('{hex}', 'hex')"),
    };
    server
        .db
        .execute(&format!(
            "UPDATE sessions SET expires_at = 1 WHERE token_hash = {key}"
        ))
        .await;
    let started = Instant::now();
    assert_eq!(tab.closed_with().await, Some(close::UNAUTHORIZED));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed by the next check ({:?})",
        started.elapsed()
    );
    assert_eq!(server.me(&ada).await, serde_json::Value::Null);
    assert_eq!(server.db.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    other_tab.say(room, "still-here", "still here").await;
    assert_eq!(ack(&mut other_tab).await.seq, 1);
}
both_backends!(an_expired_sessions_sockets_are_closed);
