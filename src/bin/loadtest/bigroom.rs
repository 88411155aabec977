//! `bigroom`: one room of 10,000 members, a socket each, one sender at 1,
//! 10, 50 and 100 msgs/s. For each rate: deliveries a second, the latency
//! of every delivery and of each message's **last** delivery (the one that
//! matters in a big room), frames per read on the receivers (how well the
//! server coalesces), lost and duplicated; and how fast the sockets
//! connected. Printed beside the machine's floor (`floor.rs`) measured in
//! the same run and, with `--relay`, beside the relay.
//!
//! The accounts come from `glasschat loadtest-seed` (`--seeded FILE`):
//! signing up 10,000 people through the API costs ten minutes of argon2.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::connect;
use crate::floor;
use crate::measure::{connect_raw, micros, next_frame, number_after, percentile};
use crate::{AnyError, Args};

/// Descriptors the generator keeps for everything but the room's sockets.
const SPARE: u64 = 200;
/// Sockets connecting at once.
const CONNECTING: usize = 64;

/// What one receiver saw in one step: each message's (seq, latency µs),
/// the frames it read and in how many reads, duplicates and gaps.
#[derive(Default)]
struct Seen {
    latencies: Vec<(u64, u32)>,
    frames: u64,
    reads: u64,
    duplicates: u64,
    gaps: u64,
}

/// One rate's figures.
struct Step {
    rate: f64,
    sent: u64,
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    last_p50_ms: f64,
    last_p99_ms: f64,
    frames_per_read: f64,
    lost: u64,
    duplicated: u64,
}

/// The seeded room and its members' cookies (`glasschat loadtest-seed`).
fn seeded(args: &Args) -> Result<(i64, Vec<String>), AnyError> {
    let path = args
        .seeded
        .as_deref()
        .ok_or("bigroom and manysockets need --seeded FILE (glasschat loadtest-seed --users 10000 --out FILE)")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let room = lines
        .next()
        .and_then(|l| l.strip_prefix("room "))
        .and_then(|r| r.trim().parse().ok())
        .ok_or_else(|| format!("{path}: the first line must be `room ID`"))?;
    let cookies: Vec<String> = lines
        .map(str::to_string)
        .filter(|c| !c.is_empty())
        .collect();
    Ok((room, cookies))
}

/// The seeded room and cookies, as many as this process can hold sockets
/// for.
pub fn seeded_within_limit(args: &Args) -> Result<(i64, Vec<String>), AnyError> {
    let (room, mut cookies) = seeded(args)?;
    let limit = glasschat::server::capacity::raise_descriptor_limit();
    let fits = limit.saturating_sub(SPARE) as usize;
    if cookies.len() > fits {
        println!(
            "  note: {} members, but this process may hold {fits} sockets (descriptor limit {limit})",
            cookies.len()
        );
        cookies.truncate(fits);
    }
    Ok((room, cookies))
}

pub async fn bigroom(args: &Args) -> Result<(), AnyError> {
    let (room, cookies) = seeded_within_limit(args)?;
    let n = cookies.len();
    println!(
        "bigroom: one room, {n} members with a socket each, one sender at {} msgs/s, {} s per rate",
        args.rates
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.seconds
    );
    // The floor moves with the machine's neighbours (this is a shared VM):
    // measured before and after the runs, the lower one is the yardstick.
    let before = floor::measure(n)?;
    floor::print(&before);
    let relay = match args.at_relay() {
        Some(relay) => {
            println!("  [the relay at {}]", relay.url);
            let cookies = vec!["room-1".to_string(); n];
            Some(run(&relay, 1, &cookies).await?)
        }
        None => None,
    };
    println!("  [Glasschat at {}]", args.url);
    let ours = run(args, room, &cookies).await?;
    let after = floor::measure(n)?;
    floor::print(&after);
    let floor = if after.round_ms < before.round_ms {
        after
    } else {
        before
    };
    println!(
        "  summary: last delivery p99 as a multiple of the floor's round ({:.1} ms at {n} sockets, the lower of the two)",
        floor.round_ms
    );
    for (i, step) in ours.iter().enumerate() {
        let beside = relay
            .as_ref()
            .and_then(|r| r.get(i))
            .map(|r| {
                format!(
                    "; the relay {:.2}x ({:.0} deliveries/s, p99 last {:.1} ms)",
                    r.last_p99_ms / floor.round_ms,
                    r.deliveries_per_s,
                    r.last_p99_ms
                )
            })
            .unwrap_or_default();
        println!(
            "    {:>4} msgs/s: Glasschat {:.2}x{beside}",
            step.rate,
            step.last_p99_ms / floor.round_ms
        );
    }
    Ok(())
}

/// Connects every member, then runs each rate; prints and returns each
/// step's figures.
async fn run(args: &Args, room: i64, cookies: &[String]) -> Result<Vec<Step>, AnyError> {
    let start = Instant::now();
    let step = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicU64::new(0));
    // The first member sends; every other member receives.
    let connecting = Instant::now();
    let receivers: Vec<_> = futures::stream::iter(&cookies[1..])
        .map(|cookie| connect_raw(args, &args.host, cookie))
        .buffer_unordered(CONNECTING)
        .collect::<Vec<_>>()
        .await;
    let connected = connecting.elapsed().as_secs_f64();
    let mut tasks = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        let (stream, early) = receiver?;
        tasks.push(tokio::spawn(receive(
            stream,
            early,
            start,
            args.rates.len(),
            step.clone(),
            stop.clone(),
        )));
    }
    println!(
        "    {} sockets connected in {connected:.1} s: {:.0} sockets/s",
        tasks.len(),
        tasks.len() as f64 / connected
    );
    let ws = connect(args, &cookies[0]).await?;
    let (mut write, mut read) = ws.split();
    // Acks and the sender's own copies are read and dropped.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = read.next().await {} });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = Vec::with_capacity(args.rates.len());
    for (i, rate) in args.rates.iter().enumerate() {
        step.store(i, Ordering::Relaxed);
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let until = Instant::now() + Duration::from_secs(args.seconds);
        let mut n = 0u64;
        while Instant::now() < until {
            tick.tick().await;
            let frame = format!(
                r#"{{"type":"send","room":{room},"client_id":"big-{}-{i}-{n}","body":"t={}"}}"#,
                args.tag,
                micros(start)
            );
            write.send(Message::Text(frame.into())).await?;
            n += 1;
        }
        sent.push(n);
        // Everything of this rate arrives before the next one starts.
        tokio::time::sleep(Duration::from_millis(2000)).await;
    }
    stop.store(1, Ordering::Relaxed);
    let receivers = tasks.len() as u64;
    let mut seen: Vec<Vec<Seen>> = Vec::with_capacity(tasks.len());
    for task in tasks {
        seen.push(task.await?);
    }
    let _ = write.send(Message::Close(None)).await;
    drain.abort();
    let mut steps = Vec::new();
    for (i, rate) in args.rates.iter().enumerate() {
        let mut all: Vec<u64> = Vec::new();
        let mut last: HashMap<u64, u32> = HashMap::new();
        let (mut frames, mut reads, mut dup, mut gaps) = (0, 0, 0, 0);
        for per_step in &mut seen {
            let Some(s) = per_step.get_mut(i) else {
                continue;
            };
            frames += s.frames;
            reads += s.reads;
            dup += s.duplicates;
            gaps += s.gaps;
            for &(seq, us) in &s.latencies {
                all.push(u64::from(us));
                let worst = last.entry(seq).or_insert(0);
                *worst = (*worst).max(us);
            }
            s.latencies = Vec::new();
        }
        all.sort_unstable();
        let mut lasts: Vec<u64> = last.values().map(|&us| u64::from(us)).collect();
        lasts.sort_unstable();
        let expected = sent[i] * receivers;
        let delivered = all.len() as u64;
        let step = Step {
            rate: *rate,
            sent: sent[i],
            deliveries_per_s: delivered as f64 / args.seconds as f64,
            p50_ms: percentile(&all, 0.5),
            p99_ms: percentile(&all, 0.99),
            last_p50_ms: percentile(&lasts, 0.5),
            last_p99_ms: percentile(&lasts, 0.99),
            frames_per_read: frames as f64 / reads.max(1) as f64,
            lost: expected.saturating_sub(delivered) + gaps.min(expected),
            duplicated: dup,
        };
        println!(
            "    {:>4} msgs/s: sent {}, deliveries/s {:.0}; every delivery p50 {:.1} ms, p99 {:.1} ms; last delivery p50 {:.1} ms, p99 {:.1} ms; {:.2} frames per read; lost {}, duplicated {}",
            step.rate, step.sent, step.deliveries_per_s, step.p50_ms, step.p99_ms, step.last_p50_ms,
            step.last_p99_ms, step.frames_per_read, step.lost, step.duplicated
        );
        steps.push(step);
    }
    Ok(steps)
}

/// Reads one receiver's socket until `stop`, filing what it sees under the
/// step running when it arrives.
async fn receive(
    mut stream: TcpStream,
    early: Vec<u8>,
    start: Instant,
    steps: usize,
    step: Arc<AtomicUsize>,
    stop: Arc<AtomicU64>,
) -> Vec<Seen> {
    let mut seen: Vec<Seen> = (0..steps).map(|_| Seen::default()).collect();
    let mut last_seq: Option<u64> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = early.len().min(buf.len());
    buf[..filled].copy_from_slice(&early[..filled]);
    loop {
        let now = step.load(Ordering::Relaxed).min(steps - 1);
        let mut at = 0;
        let mut frames = 0;
        while let Some((opcode, payload, len)) = next_frame(&buf[at..filled]) {
            let text = &buf[at + payload.start..at + payload.end];
            at += len;
            if opcode == 0x8 {
                return seen;
            }
            let Ok(text) = std::str::from_utf8(text) else {
                continue;
            };
            if !text.starts_with(r#"{"type":"message""#) {
                continue;
            }
            frames += 1;
            let Some(seq) = number_after(text, r#""seq":"#) else {
                continue;
            };
            let s = &mut seen[now];
            match last_seq {
                Some(last) if seq <= last => {
                    s.duplicates += 1;
                    continue;
                }
                Some(last) => s.gaps += seq - last - 1,
                None => {}
            }
            last_seq = Some(seq);
            if let Some(sent) = number_after(text, r#""body":"t="#) {
                let us = micros(start).saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
                s.latencies.push((seq, us));
            }
        }
        if frames > 0 {
            seen[now].frames += frames;
            seen[now].reads += 1;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        if stop.load(Ordering::Relaxed) == 1 {
            return seen;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf[filled..]))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return seen,
            Ok(Ok(k)) => filled += k,
            Err(_) => continue,
        }
    }
}
