//! `restart`: the fan-out of `fanout` (rooms of members, one sender per
//! room) kept going while the nodes behind the proxy at `--url` are
//! restarted (`make bench-restart` stops and starts them one after the
//! other during the run). Every socket behaves as the browser does: closed,
//! it reconnects at once through the proxy and says how far it got
//! (`hello` with its last seq), and a sender sends again, under the same
//! client id, whatever was not acknowledged. At the end every member must
//! have every seq of its room exactly once: the figures count what was
//! lost and what came twice, the reconnects and how long they took.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::client::open_socket;
use crate::fanout::setup_rooms;
use crate::measure::percentile;
use crate::{AnyError, Args, Ws};

const ROOMS: usize = 10;
const MEMBERS: usize = 20;
/// How long the end may take to settle (acks and catch-up after the last
/// restart) before what is missing counts as lost.
const SETTLE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Figures {
    delivered: u64,
    lost: u64,
    doubled: u64,
    /// Close codes seen, with how many.
    closes: BTreeMap<u16, u64>,
    /// From a socket's close to its catch-up on the next one, µs.
    reconnect_us: Vec<u64>,
}

/// The socket, opened again and again until it works (a node may be down).
async fn reconnect(args: &Args, cookie: &str, deadline: Instant) -> Result<Ws, AnyError> {
    loop {
        match open_socket(args, cookie).await {
            Ok(ws) => return Ok(ws),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn close_code(item: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> u16 {
    match item {
        Some(Ok(Message::Close(Some(frame)))) => u16::from(frame.code),
        // No close frame: the connection just ended (1006, "abnormal").
        _ => 1006,
    }
}

/// One member: counts each seq of `room`, across as many sockets as it takes.
async fn member(
    args: Args,
    cookie: String,
    room: i64,
    last_of_room: Arc<AtomicI64>,
    figures: Arc<Mutex<Figures>>,
    give_up: Instant,
) -> Result<(), AnyError> {
    let mut last: Option<i64> = None;
    let mut closed_at: Option<Instant> = None;
    loop {
        let mut ws = reconnect(&args, &cookie, give_up).await?;
        let welcome: Value = match ws.next().await {
            Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str())?,
            _ => continue,
        };
        // The first socket starts at the room's head; later ones go on
        // from the last seq seen.
        let from = match last {
            Some(seq) => seq,
            None => welcome["rooms"]
                .as_array()
                .and_then(|rooms| rooms.iter().find(|r| r["room"] == room))
                .and_then(|r| r["last_seq"].as_i64())
                .ok_or("the welcome lacks the room")?,
        };
        last = Some(from);
        let hello = format!(r#"{{"type":"hello","rooms":[{{"room":{room},"last_seq":{from}}}]}}"#);
        if ws.send(Message::Text(hello.into())).await.is_err() {
            continue;
        }
        let mut ticks = tokio::time::interval(Duration::from_millis(100));
        loop {
            let item = tokio::select! {
                item = ws.next() => item,
                _ = ticks.tick() => {
                    let end = last_of_room.load(Ordering::Relaxed);
                    if end > 0 && last >= Some(end) {
                        return Ok(());
                    }
                    if Instant::now() > give_up {
                        return Ok(()); // what is missing counts as lost
                    }
                    continue;
                }
            };
            let text = match item {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                other => {
                    let code = close_code(other);
                    *figures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .closes
                        .entry(code)
                        .or_default() += 1;
                    closed_at = Some(Instant::now());
                    break;
                }
            };
            let frame: Value = serde_json::from_str(text.as_str())?;
            match frame["type"].as_str() {
                Some("message" | "changed") if frame["room"] == room => {
                    let seq = frame["seq"].as_i64().ok_or("a message without a seq")?;
                    let seen = last.unwrap_or(0);
                    let mut f = figures.lock().unwrap_or_else(|p| p.into_inner());
                    if seq <= seen {
                        f.doubled += 1;
                    } else {
                        f.lost += (seq - seen - 1) as u64;
                        f.delivered += 1;
                        last = Some(seq);
                    }
                }
                Some("caught_up") => {
                    if let Some(at) = closed_at.take() {
                        let us = at.elapsed().as_micros() as u64;
                        figures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .reconnect_us
                            .push(us);
                    }
                }
                _ => {}
            }
        }
    }
}

/// One room's sender: a message every `interval` until `until`, each kept
/// until acknowledged and sent again on every new socket until it is.
/// Returns (sent, the room's head before the first, its newest
/// acknowledged seq).
async fn sender(
    args: Args,
    cookie: String,
    room: i64,
    interval: Duration,
    until: Instant,
    give_up: Instant,
) -> Result<(u64, i64, i64), AnyError> {
    let mut head: Option<i64> = None;
    let mut unacked: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut newest = 0i64;
    let send_frame = |id: u64| {
        format!(
            r#"{{"type":"send","room":{room},"client_id":"r{room}-{id}","body":"message {id}"}}"#
        )
    };
    'sockets: loop {
        let mut ws = reconnect(&args, &cookie, give_up).await?;
        let welcome: Value = match ws.next().await {
            Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str())?,
            _ => continue,
        };
        if head.is_none() {
            head = welcome["rooms"]
                .as_array()
                .and_then(|rooms| rooms.iter().find(|r| r["room"] == room))
                .and_then(|r| r["last_seq"].as_i64());
        }
        if ws
            .send(Message::Text(r#"{"type":"hello","rooms":[]}"#.into()))
            .await
            .is_err()
        {
            continue;
        }
        for frame in unacked.values() {
            if ws.send(Message::Text(frame.clone().into())).await.is_err() {
                continue 'sockets;
            }
        }
        let mut ticks = tokio::time::interval(interval);
        loop {
            let item = tokio::select! {
                item = ws.next() => item,
                _ = ticks.tick() => {
                    if Instant::now() < until {
                        let frame = send_frame(next_id);
                        unacked.insert(next_id, frame.clone());
                        next_id += 1;
                        if ws.send(Message::Text(frame.into())).await.is_err() {
                            continue 'sockets;
                        }
                    } else if unacked.is_empty() || Instant::now() > give_up {
                        let head = head.ok_or("the welcome lacks the room")?;
                        return Ok((next_id, head, newest.max(head)));
                    }
                    continue;
                }
            };
            let text = match item {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                _ => continue 'sockets,
            };
            let frame: Value = serde_json::from_str(text.as_str())?;
            if frame["type"] == "ack" {
                let id = frame["client_id"]
                    .as_str()
                    .and_then(|c| c.rsplit('-').next())
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(id) = id {
                    unacked.remove(&id);
                }
                newest = newest.max(frame["seq"].as_i64().unwrap_or(0));
            }
        }
    }
}

pub async fn restart(args: &Args) -> Result<(), AnyError> {
    println!(
        "restart: {ROOMS} rooms x {MEMBERS} members through {}, one sender per room at {} msgs/s for {} s, while the nodes behind it restart",
        args.url, args.rate, args.seconds
    );
    let rooms = setup_rooms(args, "restart", ROOMS, MEMBERS).await?;
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let give_up = until + SETTLE;
    let figures = Arc::new(Mutex::new(Figures::default()));
    let mut members = Vec::new();
    let mut ends = Vec::new();
    for (room, _, cookies) in &rooms.rooms {
        let end = Arc::new(AtomicI64::new(0));
        for cookie in &cookies[1..] {
            members.push(tokio::spawn(member(
                args.clone(),
                cookie.clone(),
                *room,
                end.clone(),
                figures.clone(),
                give_up,
            )));
        }
        ends.push(end);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let senders: Vec<_> = rooms
        .rooms
        .iter()
        .map(|(room, cookie, _)| {
            tokio::spawn(sender(
                args.clone(),
                cookie.clone(),
                *room,
                interval,
                until,
                give_up,
            ))
        })
        .collect();
    println!("  messages flowing");
    let (mut sent, mut stored) = (0u64, 0i64);
    let mut unacknowledged = 0u64;
    for (task, end) in senders.into_iter().zip(&ends) {
        let (count, head, newest) = task.await??;
        end.store(newest.max(1), Ordering::Relaxed);
        sent += count;
        stored += newest - head;
        unacknowledged += count.saturating_sub((newest - head) as u64);
    }
    for task in members {
        task.await??;
    }
    let f = figures.lock().unwrap_or_else(|p| p.into_inner());
    let expected = stored as u64 * (MEMBERS as u64 - 1);
    let missing = expected.saturating_sub(f.delivered);
    let mut times = f.reconnect_us.clone();
    times.sort_unstable();
    println!(
        "  sent {sent} messages, stored {stored} (unacknowledged at the end: {unacknowledged})"
    );
    println!(
        "  deliveries {} of {expected}: lost {} (gaps {} + missing at the end {missing}), doubled {}",
        f.delivered,
        f.lost + missing,
        f.lost,
        f.doubled
    );
    let closes: Vec<String> = f
        .closes
        .iter()
        .map(|(code, n)| format!("{n} x {code}"))
        .collect();
    println!("  sockets closed under the members: {}", closes.join(", "));
    if !times.is_empty() {
        println!(
            "  reconnect to caught up: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} reconnects)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&times, 1.0),
            times.len()
        );
    }
    if f.lost + missing + f.doubled + unacknowledged > 0 {
        return Err("messages were lost or doubled".into());
    }
    Ok(())
}
