//! `manysockets`: as many idle sockets as one node can hold (the server
//! says how many in `/health`; this process may hold a few less). Prints
//! the time to connect them, the server's memory per idle socket and what
//! 100,000 would take; then, with `--pid-file` (a file holding the
//! server's pid, rewritten by whatever restarts it), stops the server and
//! times the reconnect storm: every socket reconnects with its room's last
//! seq and counts once its `caught_up` arrives; the new server's peak RSS.
//!
//! The sockets belong to the seeded accounts (`--seeded FILE`), shared
//! round robin, all members of the seeded room; the server must allow
//! that many sockets per account (`GLASSCHAT_MAX_SOCKETS_PER_USER`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::bigroom::seeded_within_limit;
use crate::client::{connect, get_text};
use crate::measure::{connect_raw_hello, next_frame, number_after, rss_kib};
use crate::{AnyError, Args};

const CONNECTING: usize = 64;
/// How long the storm may take before the scenario gives up.
const STORM_LIMIT: Duration = Duration::from_secs(120);
/// Messages sent into the room before the restart, so every socket holds
/// a cursor to catch up from.
const BEFORE_RESTART: u64 = 20;

/// What the idle sockets share.
struct Watch {
    room: i64,
    /// Sockets whose catch-up after the restart has arrived.
    caught_up: AtomicUsize,
    /// The storm began (the server was told to stop): 1.
    storming: AtomicU64,
    /// The newest seq each socket has, summed (to know they all got the
    /// messages sent before the restart).
    seqs_seen: AtomicU64,
}

fn server_pid(args: &Args) -> Option<u32> {
    if let Some(path) = &args.pid_file {
        return std::fs::read_to_string(path).ok()?.trim().parse().ok();
    }
    args.server_pid
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub async fn manysockets(args: &Args) -> Result<(), AnyError> {
    let (room, cookies) = seeded_within_limit(args)?;
    let pid = server_pid(args).ok_or("manysockets needs --server-pid or --pid-file")?;
    let (_, health) = get_text(args, "/health").await?;
    let health: serde_json::Value = serde_json::from_str(&health)?;
    let server_max = health["node"]["max_sockets"].as_u64().unwrap_or(0) as usize;
    let ours = glasschat::server::capacity::raise_descriptor_limit().saturating_sub(300) as usize;
    let n = args
        .sockets
        .unwrap_or(server_max.min(ours))
        .min(ours)
        .max(1);
    println!(
        "manysockets: {n} idle sockets over {} accounts (the server can hold {server_max}, this generator {ours})",
        cookies.len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let watch = Arc::new(Watch {
        room,
        caught_up: AtomicUsize::new(0),
        storming: AtomicU64::new(0),
        seqs_seen: AtomicU64::new(0),
    });
    let started = Instant::now();
    let opened: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let cookie = &cookies[i % cookies.len()];
            connect_raw_hello(args, &args.host, cookie, r#"{"type":"hello","rooms":[]}"#)
        })
        .buffer_unordered(CONNECTING)
        .collect()
        .await;
    let took = started.elapsed().as_secs_f64();
    let mut tasks = Vec::with_capacity(n);
    for (i, socket) in opened.into_iter().enumerate() {
        let (stream, _) = socket?;
        let cookie = cookies[i % cookies.len()].clone();
        tasks.push(tokio::spawn(idle_socket(
            args.clone(),
            i,
            cookie,
            stream,
            watch.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let per_socket = rss_after.saturating_sub(rss_before) as f64 / n as f64;
    println!(
        "  connected {n} in {took:.1} s ({:.0} sockets/s); server RSS {rss_before} KiB -> {rss_after} KiB: {per_socket:.2} KiB per idle socket",
        n as f64 / took
    );
    println!(
        "  so 100,000 idle sockets need about {:.0} MiB on a node (RSS before the sockets plus 100,000 x {per_socket:.2} KiB), and a descriptor limit of at least 100,256",
        (rss_before as f64 + 100_000.0 * per_socket) / 1024.0
    );
    if args.pid_file.is_none() {
        println!("  (no --pid-file: no reconnect storm)");
        for task in tasks {
            task.abort();
        }
        return Ok(());
    }

    // Every socket gets a few messages, so each reconnects with a cursor.
    let ws = connect(args, &cookies[0]).await?;
    let (mut write, mut read) = ws.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = read.next().await {} });
    for k in 0..BEFORE_RESTART {
        let frame = format!(
            r#"{{"type":"send","room":{room},"client_id":"many-{}-{k}","body":"before the restart {k}"}}"#,
            args.tag
        );
        write.send(Message::Text(frame.into())).await?;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(write);
    drain.abort();

    let storm = Instant::now();
    watch.storming.store(1, Ordering::Relaxed);
    // SAFETY: kill only sends a signal to the given process.
    if unsafe { libc::kill(pid as i32, libc::SIGTERM) } != 0 {
        return Err(format!("cannot signal the server (pid {pid})").into());
    }
    let mut new_pid = pid;
    loop {
        let done = watch.caught_up.load(Ordering::Relaxed);
        if done >= n {
            break;
        }
        if storm.elapsed() > STORM_LIMIT {
            return Err(
                format!("after {STORM_LIMIT:?}, {done} of {n} sockets had caught up").into(),
            );
        }
        if let Some(p) = server_pid(args).filter(|p| *p != pid) {
            new_pid = p;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = storm.elapsed().as_secs_f64();
    let peak = peak_rss_kib(new_pid).unwrap_or(0);
    println!(
        "  reconnect storm: the server stopped and started again; all {n} sockets reconnected and caught up in {took:.1} s; the new server's peak RSS {peak} KiB"
    );
    for task in tasks {
        task.abort();
    }
    Ok(())
}

/// One idle socket: reads (and drops) what comes; when the server goes
/// away, reconnects with its room's last seq until it is caught up.
async fn idle_socket(
    args: Args,
    index: usize,
    cookie: String,
    mut stream: TcpStream,
    watch: Arc<Watch>,
) {
    let mut last_seq = 0u64;
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    // Set once this socket has reconnected after the restart; its first
    // `caught_up` after that is counted (the first connection asked for
    // none, but a server may still say it is caught up).
    let mut reconnected = false;
    let mut counted = false;
    let mut closed = false;
    loop {
        let mut at = 0;
        while let Some((opcode, payload, len)) = next_frame(&buf[at..filled]) {
            let text = &buf[at + payload.start..at + payload.end];
            at += len;
            if opcode == 0x8 {
                closed = true;
                break;
            }
            let text = std::str::from_utf8(text).unwrap_or_default();
            if text.starts_with(r#"{"type":"message""#) {
                if let Some(seq) = number_after(text, r#""seq":"#) {
                    if seq > last_seq {
                        watch.seqs_seen.fetch_add(seq - last_seq, Ordering::Relaxed);
                        last_seq = seq;
                    }
                }
            } else if text.starts_with(r#"{"type":"caught_up""#) && reconnected && !counted {
                counted = true;
                watch.caught_up.fetch_add(1, Ordering::Relaxed);
            }
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        if closed {
            if watch.storming.load(Ordering::Relaxed) == 0 {
                return; // closed before the storm: the count will show it
            }
            // Reconnect after a short wait spread over the sockets, as
            // browser clients spread theirs.
            let hello = format!(
                r#"{{"type":"hello","rooms":[{{"room":{},"last_seq":{last_seq}}}]}}"#,
                watch.room
            );
            loop {
                let spread = (index as u64 * 7919) % 500;
                tokio::time::sleep(Duration::from_millis(100 + spread)).await;
                if let Ok((fresh, early)) =
                    connect_raw_hello(&args, &args.host, &cookie, &hello).await
                {
                    stream = fresh;
                    filled = early.len().min(buf.len());
                    buf[..filled].copy_from_slice(&early[..filled]);
                    break;
                }
            }
            reconnected = true;
            closed = false;
            continue;
        }
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => closed = true,
            Ok(k) => filled += k,
        }
    }
}
