//! `persist`: senders alone in their rooms, one message in flight each:
//! acknowledged messages a second, checked against the rows stored.
//! `persist-pairs`: the same with a partner who never connects, first in
//! groups of two, then in direct chats, where every message also leaves a
//! row in the notification outbox for the partner: the outbox's cost, as
//! the difference between the two figures of one run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, create_room, direct_chat, open_socket};
use crate::{AnyError, Args};

const SENDERS: usize = 50;

/// Returns the acknowledged messages a second.
pub async fn persist(args: &Args) -> Result<f64, AnyError> {
    println!(
        "persist: {SENDERS} senders, each alone in a room, one message in flight each, for {} s",
        args.seconds
    );
    let (people, rooms) = if args.at_relay {
        // The relay's rooms are numbers, its "accounts" a room cookie.
        let rooms: Vec<i64> = (0..SENDERS as i64).map(|i| 10_000 + i).collect();
        let people = rooms
            .iter()
            .map(|r| (String::new(), format!("room-{r}")))
            .collect();
        (people, rooms)
    } else {
        let people = accounts(args, "persist", SENDERS).await?;
        let mut rooms = Vec::new();
        for (i, (_, cookie)) in people.iter().enumerate() {
            rooms.push(create_room(args, cookie, &format!("persist {i}"), &[]).await?);
        }
        (people, rooms)
    };
    send_and_count(args, &people, &rooms).await
}

pub async fn persist_pairs(args: &Args) -> Result<(), AnyError> {
    let people = accounts(args, "pairs", SENDERS).await?;
    let partners = accounts(args, "partner", SENDERS).await?;
    println!(
        "persist-pairs, groups: {SENDERS} senders, each with a partner who is not connected, for {} s",
        args.seconds
    );
    let mut rooms = Vec::new();
    for (i, ((_, cookie), (partner, _))) in people.iter().zip(&partners).enumerate() {
        let members = [partner.clone()];
        rooms.push(create_room(args, cookie, &format!("pair {i}"), &members).await?);
    }
    send_and_count(args, &people, &rooms).await?;
    println!("persist-pairs, direct chats (each message also an outbox row for the partner):");
    let mut chats = Vec::new();
    for ((_, cookie), (partner, _)) in people.iter().zip(&partners) {
        chats.push(direct_chat(args, cookie, partner).await?);
    }
    send_and_count(args, &people, &chats).await.map(|_| ())
}

/// Each of `people` sends into their room of `rooms` for the run's
/// seconds, one message in flight; prints acks a second and checks the
/// rows stored (each room's last seq, summed) against them; returns the
/// acknowledged messages a second.
async fn send_and_count(
    args: &Args,
    people: &[(String, String)],
    rooms: &[i64],
) -> Result<f64, AnyError> {
    let before = seqs_of(args, people, rooms).await?;
    let acked = Arc::new(AtomicU64::new(0));
    // Client ids new to each run: a room used again (a direct chat is
    // one per pair) must not answer this run's sends as resends.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for ((_, cookie), room) in people.iter().zip(rooms) {
        let mut ws = connect(args, cookie).await?;
        let (acked, room) = (acked.clone(), *room);
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let frame = format!(r#"{{"type":"send","room":{room},"client_id":"p-{room}-{run}-{n}","body":"persist {n}"}}"#);
                if ws.send(Message::Text(frame.into())).await.is_err() {
                    return;
                }
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"ack""#) => break,
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => return,
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                }
                n += 1;
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let acks = acked.load(Ordering::Relaxed);
    // Every ack must be a row: the rooms' last seqs grew by the rows stored.
    let stored = seqs_of(args, people, rooms).await? - before;
    println!(
        "  acknowledged {acks} messages in {secs:.1} s: {:.0} msgs/s; rows stored {stored} ({})",
        acks as f64 / secs,
        if stored as u64 == acks {
            "equal to acks"
        } else {
            "MISMATCH"
        }
    );
    Ok(acks as f64 / secs)
}

/// The last seqs of `rooms` summed, as each one's sender's welcome frame
/// shows them (a person may be in rooms of other runs: only these count).
async fn seqs_of(args: &Args, people: &[(String, String)], rooms: &[i64]) -> Result<i64, AnyError> {
    let mut sum = 0;
    for ((_, cookie), room) in people.iter().zip(rooms) {
        let mut ws = open_socket(args, cookie).await?;
        if let Some(Ok(Message::Text(welcome))) = ws.next().await {
            let welcome: serde_json::Value = serde_json::from_str(welcome.as_str())?;
            let rooms = welcome["rooms"].as_array().cloned().unwrap_or_default();
            sum += rooms
                .iter()
                .find(|r| r["room"].as_i64() == Some(*room))
                .and_then(|r| r["last_seq"].as_i64())
                .unwrap_or(0);
        }
    }
    Ok(sum)
}
