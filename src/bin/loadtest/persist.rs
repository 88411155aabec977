//! `persist`: senders alone in their rooms, one message in flight each:
//! acknowledged messages a second, checked against the rows stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, create_room, open_socket};
use crate::measure::number_after;
use crate::{AnyError, Args};

pub async fn persist(args: &Args) -> Result<(), AnyError> {
    const SENDERS: usize = 50;
    println!(
        "persist: {SENDERS} senders, each alone in a room, one message in flight each, for {} s",
        args.seconds
    );
    let people = accounts(args, "persist", SENDERS).await?;
    let mut rooms = Vec::new();
    for (i, (_, cookie)) in people.iter().enumerate() {
        rooms.push(create_room(args, cookie, &format!("persist {i}"), &[]).await?);
    }
    let acked = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for ((_, cookie), room) in people.iter().zip(&rooms) {
        let mut ws = connect(args, cookie).await?;
        let (acked, room) = (acked.clone(), *room);
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let frame = format!(r#"{{"type":"send","room":{room},"client_id":"p-{room}-{n}","body":"persist {n}"}}"#);
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
    // Every ack must be a row: each room's last seq counts its rows.
    let mut stored = 0i64;
    for (_, cookie) in &people {
        let mut ws = open_socket(args, cookie).await?;
        if let Some(Ok(Message::Text(welcome))) = ws.next().await {
            stored += number_after(welcome.as_str(), r#""last_seq":"#).unwrap_or(0) as i64;
        }
    }
    println!(
        "  acknowledged {acks} messages in {secs:.1} s: {:.0} msgs/s; rows stored {stored} ({})",
        acks as f64 / secs,
        if stored as u64 == acks {
            "equal to acks"
        } else {
            "MISMATCH"
        }
    );
    Ok(())
}
