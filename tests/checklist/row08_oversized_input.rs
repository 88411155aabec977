//! Row 8, oversized frames and messages, floods, too many sockets: the
//! errors or closes the protocol promises, nothing stored, the socket
//! usable after a bad frame.

use crate::common::{self, ack, error, Backend, TestServer};
use glasschat::realtime::protocol::{close, ClientFrame, ErrorCode, RoomCursor, ServerFrame};

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

/// Edits, deletes and reactions have their own budget per user
/// (`GLASSCHAT_CHANGE_RATE`): past it, `slow_down` naming the message, and
/// nothing changes.
async fn changing_too_fast_is_slowed_down(backend: Backend) {
    let db = crate::common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_CHANGE_RATE", "5/60")]).await;
    let (_, room, mut tab) = server.alone_in_room("Reactions").await;
    tab.say(room, "m", "react to me").await;
    let seq = crate::common::ack(&mut tab).await.seq;
    let (mut changes, mut slow_downs) = (0, 0);
    for n in 0..8 {
        tab.react(room, seq, "👍", n % 2 == 0).await;
        match tab
            .until(|f| match f {
                ServerFrame::Changed(_) => Some(Ok(())),
                ServerFrame::Error(e) => Some(Err(e.clone())),
                _ => None,
            })
            .await
        {
            Ok(()) => changes += 1,
            Err(e) => {
                assert_eq!(
                    (e.code, e.room, e.seq),
                    (ErrorCode::SlowDown, Some(room), Some(seq))
                );
                assert!(e.retry_after_ms.is_some_and(|ms| ms > 0), "{e:?}");
                slow_downs += 1;
            }
        }
    }
    assert_eq!((changes, slow_downs), (5, 3));
    let last: i64 = server
        .db
        .scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
        .await;
    assert_eq!(last, seq + 5, "refused changes used no seq");
}
both_backends!(changing_too_fast_is_slowed_down);

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

/// A server-function body over 64 KiB is 413, whether it declares its
/// length or streams it in chunks; nothing is created.
async fn oversized_bodies_are_413(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::start(backend).await;
    let padding = "p".repeat(64 * 1024);
    let declared = server
        .post_form(
            "/api/signup",
            &[
                ("email", "big@example.com"),
                ("display_name", "Big"),
                ("password", "correct horse battery"),
                ("padding", &padding),
            ],
            None,
        )
        .await;
    assert_eq!(declared.status, 413, "{}", declared.body);

    // Chunked, no Content-Length: the limit still holds.
    let host = server.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /api/signup HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = "q".repeat(16 * 1024);
    for _ in 0..5 {
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if tcp.write_all(framed.as_bytes()).await.is_err() {
            break; // the server may answer and close before the end
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    let login = server
        .log_in("big@example.com", "correct horse battery")
        .await;
    assert_eq!(login.status, 401, "no account was created");
    server.stop().await;
}
both_backends!(oversized_bodies_are_413);

/// Every frame kind has a budget (an outside probe once got 2,000 pings
/// answered at once, 3,000 read marks each written, and 100 `hello`s each
/// replaying the backlog). Pings past the socket's budget are answered
/// `slow_down`, and a socket that keeps on is closed (4002); read marks are
/// coalesced, the newest one kept; a second `hello` replays nothing.
async fn every_frame_kind_has_a_budget(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_SEND_RATE", "100000/1")]).await;
    let (ada, room, mut first) = server.alone_in_room("Notes").await;
    for i in 1..=30 {
        first
            .say(room, &format!("m{i}"), &format!("note {i}"))
            .await;
        ack(&mut first).await;
    }
    first.settle().await;

    // 50 hellos (within the socket's frame budget): the backlog once, the
    // other 49 refused without work.
    let mut second = server.connect(&ada).await;
    for _ in 0..50 {
        second
            .send_frame(&ClientFrame::Hello {
                rooms: vec![RoomCursor { room, last_seq: 0 }],
            })
            .await;
    }
    second.send_frame(&ClientFrame::Ping).await;
    second
        .until(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
    assert_eq!(
        second.seqs(room),
        (1..=30).collect::<Vec<_>>(),
        "the backlog once"
    );
    let refused = second
        .log
        .iter()
        .filter(|f| matches!(f, ServerFrame::Error(e) if e.code == ErrorCode::Invalid))
        .count();
    assert_eq!(refused, 49, "each later hello is refused");

    // 3,000 read marks: coalesced into a handful of writes, the newest kept.
    let reads_before = first.log.len();
    for i in 0..3_000 {
        second
            .send_frame(&ClientFrame::Read {
                room,
                seq: 1 + i % 30,
            })
            .await;
    }
    first
        .until(|f| match f {
            ServerFrame::ReadMark {
                room: r, read_seq, ..
            } if *r == room && *read_seq == 30 => Some(()),
            _ => None,
        })
        .await;
    first.settle().await;
    let marks = first.log[reads_before..]
        .iter()
        .filter(|f| matches!(f, ServerFrame::ReadMark { .. }))
        .count();
    assert!(marks <= 12, "3,000 marks became {marks} writes");
    assert_eq!(first.summary(room).unread, 0);

    // 2,000 pings: the budget's worth answered, then slow_down, then closed.
    let mut third = server.connect(&ada).await;
    for _ in 0..2_000 {
        if third.try_send_frame(&ClientFrame::Ping).await.is_err() {
            break; // closed already
        }
    }
    assert_eq!(third.closed_with().await, Some(close::FLOODED));
    let pongs = third
        .log
        .iter()
        .filter(|f| matches!(f, ServerFrame::Pong))
        .count();
    let slowed = third
        .log
        .iter()
        .filter(|f| matches!(f, ServerFrame::Error(e) if e.code == ErrorCode::SlowDown))
        .count();
    assert!((1..=61).contains(&pongs), "{pongs} pongs");
    assert!((1..20).contains(&slowed), "{slowed} slow_down answers");

    // The user's other tabs are unharmed.
    first.send_frame(&ClientFrame::Ping).await;
    first
        .until(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
    server.stop().await;
}
both_backends!(every_frame_kind_has_a_budget);

/// The resident memory of process `pid`, in bytes.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// An upload never sits whole in the server's memory: during ten uploads
/// of 25 MB at once, its resident memory grows by less than 16 MiB (each
/// upload holds one 256 KiB chunk at a time). A file over the limit is
/// refused before a byte is sent, and bytes past the announced size are
/// refused as they come.
async fn uploads_stream_through_bounded_memory(backend: Backend) {
    const SIZE: usize = 25_000_000;
    let server = TestServer::start(backend).await;
    let (ada, room, _tab) = server.alone_in_room("Uploads").await;
    let over = server
        .start_upload(&ada, "over", room, "big.iso", SIZE + 1)
        .await;
    assert_eq!(over.status, 422, "{}", over.body);
    // Warm up (pools, caches), then measure from here.
    server
        .upload(&ada, room, "warm.bin", &vec![7; 2_000_000])
        .await;
    let pid = server.pid().expect("server pid");
    let before = rss_of(pid);
    let body: std::sync::Arc<Vec<u8>> =
        std::sync::Arc::new((0..SIZE).map(|i| (i % 253) as u8).collect());
    let mut ids = Vec::new();
    for i in 0..10 {
        let started = server
            .start_upload(&ada, &format!("big{i}"), room, "big.bin", SIZE)
            .await;
        ids.push(started.json()["id"].as_i64().expect("id"));
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_of(pid));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let uploads = ids.iter().map(|&id| {
        let body = body.clone();
        let server = &server;
        let ada = ada.clone();
        async move {
            let stream = futures::stream::iter(
                body.chunks(64 * 1024)
                    .map(|c| Ok::<Vec<u8>, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            );
            let resp = server
                .client
                .put(server.url(&format!("/api/files/{id}?offset=0")))
                .header("content-type", "application/octet-stream")
                .header("content-length", SIZE.to_string())
                .header("cookie", format!("glasschat_session={ada}"))
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .expect("upload");
            assert_eq!(resp.status().as_u16(), 200);
        }
    });
    futures::future::join_all(uploads).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.expect("sampler");
    let grew = peak.saturating_sub(before);
    eprintln!(
        "RSS {backend:?}: {:.1} MiB before, {:.1} MiB at peak during ten 25 MB uploads (+{:.1} MiB)",
        before as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        grew as f64 / 1048576.0
    );
    assert!(grew < 16 * 1024 * 1024, "RSS grew by {grew} bytes");
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM files WHERE size = 25000000 AND completed_at IS NOT NULL")
            .await,
        10
    );
    server.stop().await;
}
both_backends!(uploads_stream_through_bounded_memory);
