//! `welcome`: how long a socket waits for its `welcome` when its user is in
//! `--rooms` rooms (200) of `--messages` messages each (10,000), some
//! deleted, each read up to a different point, some messages mentioning
//! them (by name, or `@room`): the frame carries every room's exact unread
//! and mention counts, which must not cost a count of the unread rows.
//! Then the same user's catch-up after a reconnect that missed the newest
//! message of every room (an agent whose every conversation moved on): from
//! connecting to the last room's `caught_up`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, create_room, open_socket};
use crate::measure::{number_after, percentile};
use crate::{AnyError, Args};

/// One message in this many is deleted.
const DELETE_EVERY: u64 = 50;
/// One message in this many mentions the reader by name, one in
/// `ROOM_EVERY` says `@room` (message numbers, not seqs).
const MENTION_EVERY: u64 = 20;
const ROOM_EVERY: u64 = 97;
/// Filling sockets, each with its share of the rooms.
const FILLERS: usize = 8;
/// Unanswered sends per filling socket.
const WINDOW: u64 = 2_000;
const SAMPLES: usize = 30;

/// A small deterministic PRNG (xorshift) for the read marks.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Whether message number `n` of a filler mentions the reader.
fn mentions(n: u64) -> bool {
    n.is_multiple_of(MENTION_EVERY) || n.is_multiple_of(ROOM_EVERY)
}

/// A stored message: its seq, and whether it mentions the reader.
type Stored = (u64, bool);

/// Records the room and seq an ack names, and whether that message (by the
/// number in its client id, `w{tag}-{n}`) mentions the reader.
fn note_ack(ack: &str, seqs: &mut HashMap<i64, Vec<Stored>>) {
    if let (Some(room), Some(seq)) = (
        number_after(ack, r#""room":"#),
        number_after(ack, r#""seq":"#),
    ) {
        let called = ack
            .split(r#""client_id":"w"#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|id| id.split('-').nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(mentions);
        seqs.entry(room as i64).or_default().push((seq, called));
    }
}

/// Sends `--messages` messages to each of `rooms` over one socket, then
/// deletes every `DELETE_EVERY`th; returns each room's message seqs.
async fn fill(
    args: &Args,
    cookie: &str,
    rooms: Vec<i64>,
    tag: usize,
    reader_id: i64,
) -> Result<HashMap<i64, Vec<Stored>>, AnyError> {
    let ws = connect(args, cookie).await?;
    let (mut write, mut read) = ws.split();
    let mut seqs: HashMap<i64, Vec<Stored>> = HashMap::new();
    let total = rooms.len() as u64 * args.welcome_messages;
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < total {
        while sent < total && sent - acked < WINDOW {
            let room = rooms[(sent % rooms.len() as u64) as usize];
            let frame = if sent.is_multiple_of(ROOM_EVERY) {
                format!(
                    r#"{{"type":"send","room":{room},"client_id":"w{tag}-{sent}","body":"@room message {sent} of the welcome benchmark"}}"#
                )
            } else if sent.is_multiple_of(MENTION_EVERY) {
                format!(
                    r#"{{"type":"send","room":{room},"client_id":"w{tag}-{sent}","body":"@load message {sent} of the welcome benchmark","mentions":[{reader_id}]}}"#
                )
            } else {
                format!(
                    r#"{{"type":"send","room":{room},"client_id":"w{tag}-{sent}","body":"message {sent} of the welcome benchmark"}}"#
                )
            };
            write.send(Message::Text(frame.into())).await?;
            sent += 1;
        }
        match read.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"ack""#) => {
                note_ack(t.as_str(), &mut seqs);
                acked += 1;
            }
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => {
                return Err(format!("a send was refused (raise GLASSCHAT_SEND_RATE): {t}").into());
            }
            Some(Ok(_)) => {}
            _ => return Err("the filling socket closed".into()),
        }
    }
    // The deletes, then one last message per room: its ack means every
    // change before it in that room is committed.
    for (room, list) in &mut seqs {
        list.sort_unstable();
        for (seq, _) in list.iter().filter(|s| s.0.is_multiple_of(DELETE_EVERY)) {
            let frame = format!(r#"{{"type":"delete","room":{room},"seq":{seq}}}"#);
            write.send(Message::Text(frame.into())).await?;
        }
        let frame = format!(
            r#"{{"type":"send","room":{room},"client_id":"w{tag}-end-{room}","body":"end"}}"#
        );
        write.send(Message::Text(frame.into())).await?;
    }
    let mut ends = 0;
    while ends < seqs.len() {
        match read.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"ack""#) => {
                note_ack(t.as_str(), &mut seqs);
                ends += 1;
            }
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => {
                return Err(
                    format!("a delete was refused (raise GLASSCHAT_CHANGE_RATE): {t}").into(),
                );
            }
            Some(Ok(_)) => {}
            _ => return Err("the filling socket closed".into()),
        }
    }
    Ok(seqs)
}

pub async fn welcome(args: &Args) -> Result<(), AnyError> {
    let (rooms, messages) = (args.welcome_rooms, args.welcome_messages);
    println!(
        "welcome: one user in {rooms} rooms of {messages} messages (one in {DELETE_EVERY} deleted), each read up to a different point"
    );
    // One writer per filling socket, each in its own rooms: a socket gets
    // the messages of its user's rooms, so writers sharing rooms would each
    // receive everything.
    let people = accounts(args, "welcome", 1 + FILLERS).await?;
    let (reader_email, reader) = (&people[0].0, &people[0].1);
    let reader_id = {
        let mut ws = open_socket(args, reader).await?;
        let Some(Ok(Message::Text(frame))) = ws.next().await else {
            return Err("no welcome".into());
        };
        number_after(frame.as_str(), r#""user_id":"#).ok_or("no user id in the welcome")? as i64
    };
    let mut shares: Vec<Vec<i64>> = vec![Vec::new(); FILLERS];
    for r in 0..rooms {
        let writer = &people[1 + r % FILLERS].1;
        let room = create_room(
            args,
            writer,
            &format!("welcome {r}"),
            std::slice::from_ref(reader_email),
        )
        .await?;
        shares[r % FILLERS].push(room);
    }
    let filling = Instant::now();
    let filled = futures::future::join_all(
        shares
            .into_iter()
            .enumerate()
            .map(|(tag, share)| fill(args, &people[1 + tag].1, share, tag, reader_id)),
    )
    .await;
    let mut seqs: HashMap<i64, Vec<Stored>> = HashMap::new();
    for part in filled {
        seqs.extend(part?);
    }
    let secs = filling.elapsed().as_secs_f64();
    println!(
        "  stored {} messages in {secs:.0} s ({:.0}/s) and deleted one in {DELETE_EVERY}",
        rooms as u64 * messages,
        (rooms as u64 * messages) as f64 / secs
    );

    // The reader reads each room up to a random message; what is left is
    // the writer's messages above that mark that are not deleted.
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let (mut expected, mut expected_mentions) = (0u64, 0u64);
    let mut ws = connect(args, reader).await?;
    for (room, list) in &seqs {
        let mark = list[(next(&mut state) % list.len() as u64) as usize].0;
        // The last seq is the closing message, never deleted.
        let end = list.last().map_or(0, |s| s.0);
        let deleted = |s: u64| s.is_multiple_of(DELETE_EVERY) && s != end;
        let left: Vec<&Stored> = list
            .iter()
            .filter(|s| s.0 > mark && !deleted(s.0))
            .collect();
        expected += left.len() as u64;
        expected_mentions += left.iter().filter(|s| s.1).count() as u64;
        let frame = format!(r#"{{"type":"read","room":{room},"seq":{mark}}}"#);
        ws.send(Message::Text(frame.into())).await?;
    }
    // Marks are written at most every 250 ms per socket.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(ws);

    let mut times = Vec::with_capacity(SAMPLES);
    let mut size = 0;
    let (mut unread, mut mentioned) = (0, 0);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let mut ws = open_socket(args, reader).await?;
        let Some(Ok(Message::Text(frame))) = ws.next().await else {
            return Err("no welcome".into());
        };
        times.push(started.elapsed().as_micros() as u64);
        let text = frame.as_str();
        size = text.len();
        unread = text
            .match_indices(r#""unread":"#)
            .filter_map(|(at, _)| number_after(&text[at..], r#""unread":"#))
            .sum::<u64>();
        mentioned = text
            .match_indices(r#""mentions":"#)
            .filter_map(|(at, _)| number_after(&text[at..], r#""mentions":"#))
            .sum::<u64>();
        let _ = ws.close(None).await;
    }
    times.sort_unstable();
    println!(
        "  welcome ({} KiB, {rooms} rooms): median {:.1} ms, p95 {:.1} ms, fastest {:.1} ms over {SAMPLES} connections (connect to frame)",
        size / 1024,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.first().copied().unwrap_or(0) as f64 / 1000.0,
    );
    println!(
        "  unread in the welcome: {unread}, expected {expected} ({})",
        if unread == expected {
            "exact"
        } else {
            "MISMATCH"
        }
    );
    println!(
        "  mentions in the welcome: {mentioned}, expected {expected_mentions} ({})",
        if mentioned == expected_mentions {
            "exact"
        } else {
            "MISMATCH"
        }
    );
    catch_up(reader, rooms, args).await
}

/// From connecting to the last `caught_up`, for a reader whose `hello`
/// holds every room but its newest message: the welcome, then one message
/// and a `caught_up` per room.
async fn catch_up(reader: &str, rooms: usize, args: &Args) -> Result<(), AnyError> {
    let mut times = Vec::with_capacity(SAMPLES);
    let mut caught = 0;
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let mut ws = open_socket(args, reader).await?;
        let Some(Ok(Message::Text(frame))) = ws.next().await else {
            return Err("no welcome".into());
        };
        let welcome: serde_json::Value = serde_json::from_str(frame.as_str())?;
        let cursors: Vec<serde_json::Value> = welcome["rooms"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let last = r["last_seq"].as_i64().unwrap_or(0);
                serde_json::json!({"room": r["room"], "last_seq": (last - 1).max(0)})
            })
            .collect();
        let hello = serde_json::json!({"type": "hello", "rooms": cursors});
        ws.send(Message::Text(hello.to_string().into())).await?;
        let (mut left, mut resent) = (cursors.len(), 0);
        while left > 0 {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"caught_up""#) => {
                    left -= 1
                }
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"message""#) => {
                    resent += 1
                }
                Some(Ok(_)) => {}
                _ => return Err("the socket closed during the catch-up".into()),
            }
        }
        times.push(started.elapsed().as_micros() as u64);
        caught = resent;
        let _ = ws.close(None).await;
    }
    times.sort_unstable();
    println!(
        "  welcome and catch-up of {rooms} rooms ({caught} messages missed, one per room): median {:.1} ms, p95 {:.1} ms over {SAMPLES} connections (connect to the last caught_up)",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
    );
    Ok(())
}
