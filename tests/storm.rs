//! The reconnect storm: every socket is cut at once (the server is killed
//! and restarted on the same address); each client reconnects with
//! exponential backoff and jitter, as the browser does, and catches up.
//! Checks that every one catches up with no gap and none is refused for
//! good; prints the time until all are caught up and the new server's peak
//! RSS and CPU. `make test` runs 200 sockets; `make storm` runs 2,000 on a
//! release build (STORM_SOCKETS).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ack, Backend, Tab, TestDb, TestServer};
use glasschat::realtime::protocol::{ClientFrame, Presence, ServerFrame};
use glasschat::realtime::state::ClientState;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ACCOUNTS: usize = 20;

fn sockets() -> usize {
    std::env::var("STORM_SOCKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One handshake attempt; `None` while the server is down or refusing.
async fn try_connect(base: &str, cookie: &str, held: &ClientState) -> Option<Tab> {
    let mut request = format!("{}/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .ok()?;
    let headers = request.headers_mut();
    headers.insert(
        "cookie",
        format!("glasschat_session={cookie}").parse().ok()?,
    );
    headers.insert("origin", base.parse().ok()?);
    let (ws, _) = tokio_tungstenite::connect_async(request).await.ok()?;
    let mut tab = Tab {
        ws,
        state: held.clone(),
        log: Vec::new(),
    };
    match tab.next_or_close().await? {
        ServerFrame::Welcome { .. } => Some(tab),
        _ => None,
    }
}

/// What the browser client does after a drop (realtime/client.rs): try,
/// then wait a ceiling that doubles from 500 ms, scaled by a random
/// 0.5–1.0, until the handshake succeeds.
async fn reconnect(base: &str, cookie: &str, held: &ClientState, seed: u64) -> (Tab, u32) {
    let mut rng = seed | 1;
    let mut delay = Duration::from_millis(500);
    for attempt in 1.. {
        if let Some(mut tab) = try_connect(base, cookie, held).await {
            tab.hello().await;
            return (tab, attempt);
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let jitter = 0.5 + (rng % 1000) as f64 / 2000.0;
        tokio::time::sleep(delay.mul_f64(jitter)).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
    unreachable!("the loop only ends by returning")
}

/// Peak resident memory (KiB) and CPU seconds of a process, from /proc.
fn peak_rss_and_cpu(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    (hwm, ticks / 100.0)
}

/// A watcher of `room` sees every other member offline within 10 s.
async fn nobody_stuck_online(server: &TestServer, watcher: &str, room: i64) {
    let mut tab = server.connect(watcher).await;
    tab.hello().await;
    tab.send_frame(&ClientFrame::View { room: Some(room) })
        .await;
    let mut online: HashSet<i64> = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let ServerFrame::Presence { users } = tab.next().await {
            for view in users {
                if view.state == Presence::Offline {
                    online.remove(&view.user);
                } else {
                    online.insert(view.user);
                }
            }
            if online.is_empty() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "still shown online after the storm: {online:?}"
        );
    }
}

async fn a_reconnect_storm_catches_everyone_up(backend: Backend) {
    let n = sockets();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = [
        ("GLASSCHAT_ADDR", addr.as_str()),
        ("GLASSCHAT_SEND_RATE", "1000000/1"),
        ("GLASSCHAT_FRAME_RATE", "1000000/1"),
        ("GLASSCHAT_MAX_SOCKETS_PER_USER", "100000"),
    ];
    let db = TestDb::new(backend).await;
    let server = TestServer::start_on(db, &env).await;
    let base = server.base.clone();
    let mut cookies = Vec::new();
    for i in 0..ACCOUNTS {
        cookies.push(server.user(&format!("storm{i}@example.com")).await);
    }
    // Someone who watches them all, for presence after the storm.
    let watcher = server.user("watcher@example.com").await;
    let members: Vec<String> = (1..ACCOUNTS)
        .map(|i| format!("storm{i}@example.com"))
        .chain(["watcher@example.com".to_string()])
        .collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let room = server.group(&cookies[0], "Storm", &members).await;
    // N sockets, each then receiving the room's first 20 messages live.
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut tab = server.connect(&cookies[i % ACCOUNTS]).await;
        tab.hello().await;
        held.push(tab);
    }
    let mut sender = server.connect(&cookies[0]).await;
    sender.hello().await;
    for i in 1..=20 {
        sender
            .say(room, &format!("pre-{i}"), &format!("before {i}"))
            .await;
        ack(&mut sender).await;
    }
    for tab in held.iter_mut() {
        tab.until_seq(room, 20).await;
    }
    drop(sender);

    // Every client waits on its socket; the server is killed, so all of
    // them see it close at once and start reconnecting while it is down.
    let cookies = Arc::new(cookies);
    let cut = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for (i, mut tab) in held.into_iter().enumerate() {
        let (base, cookies) = (base.clone(), cookies.clone());
        clients.push(tokio::spawn(async move {
            while tab.next_or_close().await.is_some() {}
            let state = tab.state;
            let (tab, attempts) =
                reconnect(&base, &cookies[i % ACCOUNTS], &state, i as u64 * 7919).await;
            (tab, attempts, cut.elapsed())
        }));
    }
    let server = server.restart(&env).await;
    let pid = server.pid().expect("pid");
    // Meanwhile new messages arrive; everyone must end holding them.
    let mut sender = loop {
        if let Some(mut tab) = try_connect(&base, &cookies[0], &ClientState::default()).await {
            tab.hello().await;
            break tab;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for i in 1..=10 {
        sender
            .say(room, &format!("post-{i}"), &format!("after {i}"))
            .await;
        ack(&mut sender).await;
    }
    let mut slowest = Duration::ZERO;
    let mut most_attempts = 0;
    for client in clients {
        let (mut tab, attempts, took) = client.await.expect("a client task");
        tab.until_seq(room, 30).await;
        let seqs: Vec<i64> = tab.state.rooms[&room].messages.keys().copied().collect();
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>(), "every seq once, no gap");
        slowest = slowest.max(took);
        most_attempts = most_attempts.max(attempts);
    }
    let all_caught_up = cut.elapsed();
    let (peak_kib, cpu_s) = peak_rss_and_cpu(pid);
    // Every storm socket is closed now: nobody may be stuck online.
    drop(sender);
    nobody_stuck_online(&server, &watcher, room).await;
    println!(
        "storm ({backend:?}): {n} sockets cut at once; all reconnected and caught up after {:.2} s (slowest handshake + catch-up {:.2} s, at most {most_attempts} attempts); new server peak RSS {:.1} MiB, CPU {cpu_s:.2} s",
        all_caught_up.as_secs_f64(),
        slowest.as_secs_f64(),
        peak_kib as f64 / 1024.0,
    );
    server.stop().await;
}
both_backends!(a_reconnect_storm_catches_everyone_up);
