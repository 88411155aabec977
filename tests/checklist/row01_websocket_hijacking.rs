//! Row 1, cross-site WebSocket hijacking: the handshake checks `Origin`
//! against the allowlist (403, also when it is missing) and the session
//! cookie (401) before any upgrade.

use crate::common::{self, Backend, TestServer};

async fn handshake_needs_session_and_origin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let status = |r: Result<common::WsStream, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => 101,
    };
    let own = server.base.clone();
    assert_eq!(status(server.ws_raw(None, Some(&own)).await), 401);
    assert_eq!(status(server.ws_raw(Some("forged"), Some(&own)).await), 401);
    assert_eq!(
        status(
            server
                .ws_raw(Some(&ada), Some("https://evil.example"))
                .await
        ),
        403
    );
    assert_eq!(status(server.ws_raw(Some(&ada), None).await), 403);
    assert_eq!(status(server.ws_raw(Some(&ada), Some(&own)).await), 101);
}
both_backends!(handshake_needs_session_and_origin);
