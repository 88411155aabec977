//! Row 9, a slow consumer must not grow the hub: a reader that stops while
//! its room is flooded is closed (4000) with the server's memory inside a
//! stated bound, and catches up with no gap when it comes back.

use crate::common::{self, ack, Backend, TestServer};
use glasschat::realtime::protocol::close;

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Growth of the server's RSS allowed while 10,000 messages of 9 KB (86
/// MiB) flood a stalled reader's room. By construction the stalled socket
/// holds at most `GLASSCHAT_SOCKET_QUEUE` (1,024) frames, about 9 MiB; the
/// rest of the allowance is the database's page cache and the allocator.
/// Buffering the flood would need 86 MiB.
const RSS_BOUND_KIB: u64 = 40 * 1024;

async fn a_stalled_reader_is_dropped_and_catches_up(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_SEND_RATE", "100000/1")]).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let carl = server.user("carl@example.com").await;
    let room = server
        .group(&ada, "Flood", &["bob@example.com", "carl@example.com"])
        .await;
    let mut sender = server.connect(&ada).await;
    sender.hello().await;
    let mut stalled = server.connect(&bob).await;
    stalled.hello().await;
    let mut reader = server.connect(&carl).await;
    reader.hello().await;

    // Bob stops reading while Ada floods: big messages fill the socket
    // buffers, then his queue; the server must drop him, not buffer
    // forever. Carl keeps reading and must see everything.
    let body = "f".repeat(9_000);
    const WARM: i64 = 100;
    const N: i64 = 10_000;
    for n in 0..WARM {
        sender.say(room, &format!("f{n}"), &body).await;
        ack(&mut sender).await;
    }
    reader.until_seq(room, WARM).await;
    let pid = server.pid().expect("server pid");
    let before = rss_kib(pid);
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let reading = tokio::spawn(async move {
        reader.until_seq(room, N).await;
        reader
    });
    // 50 sends in flight at a time, as fast as the server acknowledges.
    for batch in (WARM..N).collect::<Vec<_>>().chunks(50) {
        for n in batch {
            sender.say(room, &format!("f{n}"), &body).await;
        }
        for _ in batch {
            ack(&mut sender).await;
        }
    }
    let reader = reading.await.expect("reader");
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.expect("sampler");
    eprintln!(
        "stalled reader ({backend:?}): server RSS {before} KiB -> peak {peak} KiB (+{} KiB) while {} MiB flooded",
        peak.saturating_sub(before),
        (N - WARM) * 9_000 / (1024 * 1024)
    );
    assert!(
        peak.saturating_sub(before) < RSS_BOUND_KIB,
        "server RSS grew {} KiB (bound {RSS_BOUND_KIB} KiB)",
        peak - before
    );
    assert_eq!(
        reader.seqs(room),
        (1..=N).collect::<Vec<_>>(),
        "the reader who kept up saw every message once, in order"
    );

    // Bob resumes: he reads what was buffered, then finds the socket
    // closed because it fell behind.
    // It gets 4000 when the close frame can still reach it; a reader stalled
    // past the write timeout (10 s) has its connection cut instead, which
    // the client treats the same way: reconnect and catch up.
    let code = stalled.closed_with().await;
    assert!(
        matches!(code, Some(close::LAGGED) | None),
        "closed for falling behind, got {code:?}"
    );
    eprintln!("stalled reader ({backend:?}): closed with {code:?}");
    let held = stalled.state.rooms[&room].held_seq;
    assert!(
        held < N,
        "the stalled socket was cut before the end ({held} of {N})"
    );
    assert_eq!(
        stalled.seqs(room),
        (1..=held).collect::<Vec<_>>(),
        "what it got had no gap"
    );

    let mut back = server.reconnect(&bob, stalled.state.clone()).await;
    back.hello().await;
    assert_eq!(
        back.seqs(room),
        (held + 1..=N).collect::<Vec<_>>(),
        "caught up with no gap or duplicate"
    );
}
both_backends!(a_stalled_reader_is_dropped_and_catches_up);
