//! `fanout`: rooms of 100 members, one sender per room; latency of every
//! delivery. Its step is also what `ramp` repeats at rising rates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, create_room};
use crate::measure::{
    connect_raw, micros, number_after, own_cpu_seconds, percentile, receive, Tally,
};
use crate::{AnyError, Args, Ws};

pub struct Rooms {
    /// Per room: id, the sender's socket, the members' cookies.
    pub rooms: Vec<(i64, String, Vec<String>)>,
}

pub async fn setup_rooms(
    args: &Args,
    name: &str,
    rooms: usize,
    members: usize,
) -> Result<Rooms, AnyError> {
    if args.at_relay {
        // The relay's rooms are numbers, its "accounts" a room cookie.
        return Ok(Rooms {
            rooms: (1..=rooms as i64)
                .map(|room| {
                    (
                        room,
                        format!("room-{room}"),
                        vec![format!("room-{room}"); members],
                    )
                })
                .collect(),
        });
    }
    println!(
        "  setting up {rooms} rooms x {members} members ({} accounts)...",
        rooms * members
    );
    let mut out = Vec::new();
    for r in 0..rooms {
        let people = accounts(args, &format!("{name}{r}"), members).await?;
        let emails: Vec<String> = people[1..].iter().map(|(e, _)| e.clone()).collect();
        let room = create_room(args, &people[0].1, &format!("{name} {r}"), &emails).await?;
        out.push((
            room,
            people[0].1.clone(),
            people.into_iter().map(|(_, c)| c).collect(),
        ));
    }
    Ok(Rooms { rooms: out })
}

/// Latency p50 and p99 (ms) of the receivers on the sending node and of
/// those on the second node, when there is one.
pub type Split = Option<((f64, f64), (f64, f64))>;

/// Runs one fan-out step: every room's sender sends `rate` frames/s for
/// `seconds`; every member socket receives. With `changes`, one frame in
/// ten is a change to the sender's newest acknowledged message (an edit,
/// a reaction or a delete, in turn). Returns (deliveries/s, p50, p99, max
/// ms, lost, dup, sent) and, with a second node, the same-node /
/// cross-node latencies.
pub async fn fanout_step(
    args: &Args,
    rooms: &Rooms,
    rate: f64,
    seconds: f64,
    changes: bool,
) -> Result<((f64, f64, f64, f64, u64, u64, u64), Split), AnyError> {
    let start = Instant::now();
    let stop = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let cross = Arc::new(Mutex::new(Tally::default()));
    let mut receivers = Vec::new();
    for (_, _, members) in &rooms.rooms {
        for (i, cookie) in members.iter().enumerate() {
            let (host, into) = match &args.host2 {
                Some(second) if i % 2 == 1 => (second, cross.clone()),
                _ => (&args.host, tally.clone()),
            };
            let (stream, early) = connect_raw(args, host, cookie).await?;
            receivers.push(tokio::spawn(receive(
                stream,
                early,
                start,
                stop.clone(),
                into,
            )));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Arc::new(AtomicU64::new(0));
    let slowed = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut sockets = Vec::new();
    for (room, cookie, _) in &rooms.rooms {
        sockets.push((*room, connect(args, cookie).await?));
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (cpu_at_start, wall_at_start) = (own_cpu_seconds(), Instant::now());
    let senders_start = tokio::time::Instant::now() + Duration::from_millis(50);
    let count = sockets.len().max(1) as u32;
    for (i, (room, ws)) in sockets.into_iter().enumerate() {
        let (sent, slowed) = (sent.clone(), slowed.clone());
        // Independent senders are not in lockstep: their phases are spread
        // evenly over one interval (room i starts i/count of it later).
        let first = senders_start + interval * i as u32 / count;
        let until = first.into_std() + Duration::from_secs_f64(seconds);
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(first, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let (mut write, mut read) = ws.split();
            // The newest seq this sender's sends were acknowledged at.
            let acked = Arc::new(AtomicU64::new(0));
            let newest = acked.clone();
            let reader = tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = read.next().await {
                    let t = t.as_str();
                    if t.starts_with(r#"{"type":"ack""#) {
                        if let Some(seq) = number_after(t, r#""seq":"#) {
                            newest.fetch_max(seq, Ordering::Relaxed);
                        }
                    } else if t.starts_with(r#"{"type":"error""#) {
                        // Refused (over a budget, or a change that found
                        // nothing): delivered to nobody.
                        slowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            let mut n = 0u64;
            while Instant::now() < until {
                tick.tick().await;
                let target = acked.load(Ordering::Relaxed);
                let frame = match n % 30 {
                    9 if changes && target > 0 => format!(r#"{{"type":"edit","room":{room},"seq":{target},"body":"t={}"}}"#, micros(start)),
                    19 if changes && target > 0 => format!(r#"{{"type":"react","room":{room},"seq":{target},"emoji":"👍","on":true}}"#),
                    29 if changes && target > 0 => format!(r#"{{"type":"delete","room":{room},"seq":{target}}}"#),
                    _ => format!(r#"{{"type":"send","room":{room},"client_id":"lt-{room}-{n}-{}","body":"t={}"}}"#, micros(start), micros(start)),
                };
                if write.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
                n += 1;
            }
            sent.fetch_add(n, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
            reader.abort();
            ws_close(write).await;
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let busy = (own_cpu_seconds() - cpu_at_start) / wall_at_start.elapsed().as_secs_f64();
    println!(
        "    (generator CPU while sending: {:.0}% of one core)",
        100.0 * busy
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(1, Ordering::Relaxed);
    for r in receivers {
        let _ = r.await;
    }
    let elapsed = seconds;
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    let mut c = std::mem::take(&mut *cross.lock().unwrap_or_else(|p| p.into_inner()));
    t.latencies_us.sort_unstable();
    c.latencies_us.sort_unstable();
    let split = args.host2.as_ref().map(|_| {
        (
            (
                percentile(&t.latencies_us, 0.5),
                percentile(&t.latencies_us, 0.99),
            ),
            (
                percentile(&c.latencies_us, 0.5),
                percentile(&c.latencies_us, 0.99),
            ),
        )
    });
    t.delivered += c.delivered;
    t.duplicates += c.duplicates;
    t.gaps += c.gaps;
    t.latencies_us.extend_from_slice(&c.latencies_us);
    t.latencies_us.sort_unstable();
    let sent = sent.load(Ordering::Relaxed);
    let members: u64 = rooms
        .rooms
        .iter()
        .map(|(_, _, m)| m.len() as u64)
        .sum::<u64>()
        / rooms.rooms.len().max(1) as u64;
    let slowed = slowed.load(Ordering::Relaxed);
    if slowed > 0 {
        println!("  note: {slowed} frames were refused; start the server with higher GLASSCHAT_SEND_RATE and GLASSCHAT_CHANGE_RATE");
    }
    let expected = (sent - slowed) * members;
    let lost = expected.saturating_sub(t.delivered) + t.gaps.min(expected);
    Ok((
        (
            t.delivered as f64 / elapsed,
            percentile(&t.latencies_us, 0.5),
            percentile(&t.latencies_us, 0.99),
            t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            lost.min(expected),
            t.duplicates,
            sent,
        ),
        split,
    ))
}

pub async fn ws_close(mut write: futures::stream::SplitSink<Ws, Message>) {
    let _ = write.send(Message::Close(None)).await;
}

pub async fn fanout(args: &Args) -> Result<(), AnyError> {
    println!(
        "fanout: 10 rooms x 100 members, one sender per room at {} msgs/s for {} s",
        args.rate, args.seconds
    );
    let rooms = setup_rooms(args, "fan", 10, 100).await?;
    let ((rate, p50, p99, max, lost, dup, sent), split) =
        fanout_step(args, &rooms, args.rate, args.seconds as f64, false).await?;
    println!("  sent {sent}; deliveries/s {rate:.0}; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; lost {lost}; duplicated {dup}");
    if let Some(((same50, same99), (cross50, cross99))) = split {
        println!("  same node p50 {same50:.2} ms, p99 {same99:.2} ms; other node p50 {cross50:.2} ms, p99 {cross99:.2} ms");
    }
    Ok(())
}

/// `edits`: the fan-out, with one frame in ten an edit, a reaction or a
/// delete (in turn) of the sender's newest message. Every change is an
/// event of the room's sequence, so it is delivered, counted and checked
/// for loss and duplicates like a message; latency is measured on
/// messages and edits (a reaction or a delete carries no send time).
pub async fn edits(args: &Args) -> Result<(), AnyError> {
    println!(
        "edits: 10 rooms x 100 members, one sender per room at {} frames/s for {} s, one in ten an edit, reaction or delete",
        args.rate, args.seconds
    );
    let rooms = setup_rooms(args, "edit", 10, 100).await?;
    let ((rate, p50, p99, max, lost, dup, sent), _) =
        fanout_step(args, &rooms, args.rate, args.seconds as f64, true).await?;
    println!("  sent {sent} (messages and changes); deliveries/s {rate:.0}; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; lost {lost}; duplicated {dup}");
    Ok(())
}
