//! Row 8, oversized frames and messages, floods, too many sockets: the
//! errors or closes the protocol promises, nothing stored, the socket
//! usable after a bad frame.

use crate::common::{self, ack, error, Backend, TestServer};
use glasschat::realtime::protocol::{close, ErrorCode, ServerFrame};

async fn bad_frames_get_errors_and_the_socket_survives(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;

    for junk in [
        "not json",
        "{}",
        r#"{"type":"explode"}"#,
        r#"{"type":"send","room":"x"}"#,
        "[]",
    ] {
        tab.send_text(junk).await;
        assert_eq!(error(&mut tab).await.code, ErrorCode::BadFrame, "{junk}");
    }
    tab.say(room, "empty", "   ").await;
    assert_eq!(error(&mut tab).await.code, ErrorCode::Invalid);
    tab.say(room, "long", &"x".repeat(10_001)).await;
    assert_eq!(error(&mut tab).await.code, ErrorCode::Invalid);
    tab.say(room, "bad id!", "hello").await;
    assert_eq!(error(&mut tab).await.code, ErrorCode::Invalid);
    tab.say(room, "fine", &"y".repeat(10_000)).await;
    assert_eq!(
        ack(&mut tab).await.seq,
        1,
        "the socket still works; nothing else was stored"
    );

    tab.send_text(&"z".repeat(64 * 1024 + 1)).await;
    assert_eq!(tab.closed_with().await, Some(close::TOO_BIG));
    assert_eq!(server.all_messages(&ada, room).await.len(), 1);
}
both_backends!(bad_frames_get_errors_and_the_socket_survives);

async fn sending_too_fast_is_slowed_down(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Spam").await;
    let mut acks = 0;
    let mut slow_downs = 0;
    let started = std::time::Instant::now();
    for n in 0..40 {
        tab.say(room, &format!("m{n}"), "spam").await;
        match tab
            .until(|f| match f {
                ServerFrame::Ack(_) => Some(Ok(())),
                ServerFrame::Error(e) => Some(Err(e.clone())),
                _ => None,
            })
            .await
        {
            Ok(()) => acks += 1,
            Err(e) => {
                assert_eq!(e.code, ErrorCode::SlowDown);
                assert!(
                    e.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 10_000),
                    "{e:?}"
                );
                slow_downs += 1;
            }
        }
    }
    // A burst of 30, then one more every 333 ms: how many could pass in the time it took.
    let allowed = 30 + started.elapsed().as_millis() as usize / 333 + 1;
    assert!(
        slow_downs >= 1 && acks <= allowed,
        "30 per 10 s: {acks} acks (at most {allowed}), {slow_downs} slow-downs"
    );
    assert_eq!(
        server.all_messages(&ada, room).await.len(),
        acks,
        "refused sends store nothing"
    );
}
both_backends!(sending_too_fast_is_slowed_down);

/// One account may hold only so many sockets; the next is refused until
/// one closes.
async fn sockets_per_account_are_capped(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_MAX_SOCKETS_PER_USER", "3")]).await;
    let ada = server.user("ada@example.com").await;
    let mut tabs = Vec::new();
    for _ in 0..3 {
        tabs.push(server.connect(&ada).await);
    }
    let refused = server.ws_raw(Some(&ada), Some(&server.base)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected 429, got {:?}", other.map(|_| "a socket")),
    }
    // Another account is not affected; a closed tab frees a place.
    let bob = server.user("bob@example.com").await;
    server.connect(&bob).await;
    drop(tabs.pop());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.connect(&ada).await;
    server.stop().await;
}
both_backends!(sockets_per_account_are_capped);
