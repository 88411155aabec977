//! The crash loop: a server under load is killed with SIGKILL at a random
//! moment and restarted; every client reconnects, senders resend what was
//! never acknowledged (same client ids, as the browser's outbox does), and
//! readers catch up. Senders also edit, react to and delete some of their
//! messages as they go (and, at the end, make every such change again: a
//! change states its end, so a repeat is harmless); some messages mention
//! the room's other account, some say `@room`. Then: every acknowledged
//! message is stored exactly once with its mentions, every room's seqs
//! (messages and changes) are contiguous, every reader holds exactly what a
//! fresh load shows (text, edits, deletes, reactions, mentions, unread and
//! mention counts), every message that calls someone left exactly one
//! row in the notification outbox per person it calls, every `@room`
//! message reached the device of each room's member who never opens a tab
//! (a push, checked at a local receiver: none lost; repeats after a kill
//! are counted and printed), and (SQLite) the file passes
//! `integrity_check`.
//!
//! Rounds: GLASSCHAT_CRASH_ROUNDS (3 in `make test`; `make crash N=50`).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::push_receiver::PushReceiver;
use common::{Backend, Tab, TestDb, TestServer, INDEX_BEHIND};
use glasschat::realtime::protocol::{ClientFrame, ServerFrame};
use glasschat::realtime::state::ClientState;

const ROOMS: usize = 5;
const SENDERS: usize = 50;
const READERS: usize = 200;
/// Sockets share a few accounts (sign-ups are slow on purpose).
const ACCOUNTS: usize = 2 * ROOMS;
/// Pushes after 1 s, a pass every 200 ms, and the rows a killed server
/// had taken are taken again after 2 s.
const FAST: &[(&str, &str)] = &[
    ("GLASSCHAT_SEND_RATE", "1000000/1"),
    ("GLASSCHAT_MAX_SOCKETS_PER_USER", "1000"),
    ("GLASSCHAT_PUSH_TEST_ENDPOINTS", "1"),
    ("GLASSCHAT_PUSH_GRACE_SECS", "1"),
    ("GLASSCHAT_PUSH_CHECK_MS", "200"),
    ("GLASSCHAT_PUSH_LEASE_SECS", "2"),
];

fn rounds() -> usize {
    std::env::var("GLASSCHAT_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// A tiny deterministic PRNG (xorshift), seeded per round.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// What a sender knows: acknowledged client ids (with their seqs), and the
/// one in flight.
#[derive(Default)]
struct Outbox {
    acked: Vec<String>,
    seqs: Vec<(i64, String)>,
    pending: Option<String>,
    next: u64,
}

/// The number in a client id (`tag-N`).
fn number(client_id: &str) -> u64 {
    client_id
        .rsplit('-')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The changes a sender makes to its message `id` once it is stored at
/// `seq`: every 4th is edited, every 5th gets a reaction, every 7th is
/// deleted (after its edit and reaction, when it has them).
fn changes_of(room: i64, seq: i64, id: &str) -> Vec<ClientFrame> {
    let n = number(id);
    let mut frames = Vec::new();
    if n.is_multiple_of(4) {
        frames.push(ClientFrame::Edit {
            room,
            seq,
            body: format!("edited {id}"),
        });
    }
    if n.is_multiple_of(5) {
        frames.push(ClientFrame::React {
            room,
            seq,
            emoji: "👍".into(),
            on: true,
        });
    }
    if n.is_multiple_of(7) {
        frames.push(ClientFrame::Delete { room, seq });
    }
    frames
}

/// The room's other account, whom a sender's messages may mention.
#[derive(Clone, Copy)]
struct Partner {
    id: i64,
    /// Its number: its name is `user{index}`.
    index: usize,
}

/// Sends one message at a time and waits for its ack, until `stop` or the
/// socket dies; returns the tab (if alive) and its outbox.
async fn send_until(
    mut tab: Tab,
    room: i64,
    partner: Partner,
    tag: String,
    mut outbox: Outbox,
    files: Vec<i64>,
    stop: Arc<AtomicBool>,
) -> Outbox {
    while !stop.load(Ordering::Relaxed) {
        let id = match outbox.pending.clone() {
            Some(id) => id,
            None => {
                outbox.next += 1;
                format!("{tag}-{}", outbox.next)
            }
        };
        outbox.pending = Some(id.clone());
        let frame = send_frame(room, &id, partner, &files);
        if tab.try_send_frame(&frame).await.is_err() {
            return outbox;
        }
        loop {
            match tab.next_or_close().await {
                Some(ServerFrame::Ack(a)) if a.client_id == id => {
                    outbox.acked.push(id.clone());
                    outbox.seqs.push((a.seq, id.clone()));
                    outbox.pending = None;
                    // Its changes go out at once, answered by nothing but
                    // their `changed` frames (which may die with the server).
                    for change in changes_of(room, a.seq, &id) {
                        if tab.try_send_frame(&change).await.is_err() {
                            return outbox;
                        }
                    }
                    break;
                }
                Some(ServerFrame::Error(e)) => panic!("send refused: {e:?}"),
                Some(_) => continue,
                None => return outbox,
            }
        }
    }
    outbox
}

/// The frame that sends (and resends) the message `id`. Every third
/// message replies to the room's first (there by then: this sender's first
/// was acknowledged); another third mention the partner, and every 11th
/// says `@room`.
/// Every sender uploads this many files before the first round.
const FILES_PER_SENDER: usize = 3;

/// The file message `id` carries, if any: messages 2, 8, 14, … take the
/// sender's uploads in turn (14 is deleted later, and its file with it). A
/// resend carries the same file.
fn file_of(id: &str, files: &[i64]) -> Option<i64> {
    let n = number(id) as usize;
    (n % 6 == 2).then(|| files.get(n / 6).copied()).flatten()
}

fn send_frame(room: i64, id: &str, partner: Partner, files: &[i64]) -> ClientFrame {
    let mut body = format!("body of {id}");
    let mut mentions = Vec::new();
    if mentions_partner(id) {
        body.push_str(&format!(" for @user{}", partner.index));
        mentions.push(partner.id);
    }
    if mentions_room(id) {
        body.push_str(" @room");
    }
    ClientFrame::Send {
        room,
        client_id: id.to_string(),
        body,
        reply_to: is_reply(id).then_some(1),
        mentions,
        files: file_of(id, files).into_iter().collect(),
    }
}

fn mentions_partner(client_id: &str) -> bool {
    number(client_id) % 3 == 1
}

fn mentions_room(client_id: &str) -> bool {
    number(client_id).is_multiple_of(11)
}

/// Whether the message with this client id (`tag-N`) is a reply.
fn is_reply(client_id: &str) -> bool {
    number(client_id).is_multiple_of(3)
}

/// Every `@room` message that was not deleted reached its room's watcher
/// in a push, whatever the kills interrupted; a push a killed server had
/// sent but not recorded is sent again (a repeat, which the service
/// worker folds: counted here, and printed).
async fn pushes_reached_the_watchers(
    db: &TestDb,
    receiver: &PushReceiver,
    rooms: &[i64],
    outboxes: &[Outbox],
) {
    let mut waited = 0;
    while db
        .scalar("SELECT COUNT(*) FROM notifications_due WHERE push_state <> 0")
        .await
        > 0
    {
        assert!(waited < 300, "pushes still undecided after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let (mut expected, mut repeats) = (0, 0);
    for (r, room) in rooms.iter().enumerate() {
        let mut seen = HashSet::new();
        for push in receiver.pushes(&format!("w{r}")) {
            assert_eq!(push.payload["room"], *room);
            for seq in push.payload["seqs"].as_array().into_iter().flatten() {
                if !seen.insert(seq.as_i64().unwrap_or(0)) {
                    repeats += 1;
                }
            }
        }
        for (i, outbox) in outboxes.iter().enumerate() {
            if rooms[(i % ACCOUNTS) / 2] != *room {
                continue;
            }
            for (seq, id) in &outbox.seqs {
                if mentions_room(id) && !number(id).is_multiple_of(7) {
                    expected += 1;
                    assert!(seen.contains(seq), "{id} (seq {seq}) was never pushed");
                }
            }
        }
    }
    assert!(receiver.faults().is_empty(), "{:?}", receiver.faults());
    println!("pushes: all {expected} @room messages reached their watchers; {repeats} repeated after a kill");
}

/// Reads until the socket dies (or `stop`); returns what the tab holds.
async fn read_until(mut tab: Tab, stop: Arc<AtomicBool>) -> ClientState {
    while !stop.load(Ordering::Relaxed) {
        if tab.next_or_close().await.is_none() {
            break;
        }
    }
    tab.state
}

async fn crash_loop(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = TestServer::start_on(db, FAST).await;
    let mut cookies = Vec::new();
    for i in 0..ACCOUNTS {
        cookies.push(server.user(&format!("user{i}@example.com")).await);
    }
    // Two accounts per room, so each socket carries one room's traffic;
    // and a third member who never opens a tab, with a device for pushes:
    // each `@room` message calls them.
    let receiver = PushReceiver::start().await;
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let partner = format!("user{}@example.com", 2 * r + 1);
        let watcher = format!("watcher{r}@example.com");
        let watcher_cookie = server.user(&watcher).await;
        let device = receiver.device(&format!("w{r}"));
        let subscribed = server
            .call(
                &watcher_cookie,
                "push/subscribe",
                &[
                    ("endpoint", &device.endpoint),
                    ("p256dh", &device.p256dh),
                    ("auth", &device.auth),
                    ("label", "watcher"),
                ],
            )
            .await;
        assert_eq!(subscribed.status, 200, "{}", subscribed.body);
        let room = server
            .group(
                &cookies[2 * r],
                &format!("crash {r}"),
                &[partner.as_str(), watcher.as_str()],
            )
            .await;
        rooms.push(room);
    }
    let mut ids = Vec::new();
    for cookie in &cookies {
        ids.push(server.connect(cookie).await.state.user_id);
    }
    // Account `a` shares its room with account `a ^ 1`.
    let partner_of = |account: usize| Partner {
        id: ids[account ^ 1],
        index: account ^ 1,
    };
    let mut outboxes: Vec<Outbox> = (0..SENDERS).map(|_| Outbox::default()).collect();
    // Each sender's uploads, sent with its messages through the kills.
    let mut uploads: Vec<Vec<i64>> = Vec::new();
    for i in 0..SENDERS {
        let (cookie, room) = (&cookies[i % ACCOUNTS], rooms[(i % ACCOUNTS) / 2]);
        let mut mine = Vec::new();
        for k in 0..FILES_PER_SENDER {
            let bytes = format!("file {k} of sender s{i}").into_bytes();
            mine.push(
                server
                    .upload(cookie, room, &format!("s{i}-{k}.txt"), &bytes)
                    .await,
            );
        }
        uploads.push(mine);
    }
    let mut readers: Vec<ClientState> = vec![ClientState::default(); READERS];

    for round in 1..=rounds() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round as u64 * 7919));
        let stop = Arc::new(AtomicBool::new(false));
        // Readers (re)connect with what they hold and catch up, all at once.
        let tabs = futures::future::join_all(readers.drain(..).enumerate().map(|(i, held)| {
            let (server, cookie) = (&server, &cookies[i % ACCOUNTS]);
            async move {
                let mut tab = server.reconnect(cookie, held).await;
                tab.hello().await;
                tab
            }
        }))
        .await;
        let reader_tasks: Vec<_> = tabs
            .into_iter()
            .map(|tab| tokio::spawn(read_until(tab, stop.clone())))
            .collect();
        // Senders (re)connect and resend whatever was in flight.
        let mut sender_tasks = Vec::new();
        for (i, outbox) in outboxes.drain(..).enumerate() {
            let mut tab = server.connect(&cookies[i % ACCOUNTS]).await;
            tab.hello_with(Vec::new()).await;
            let room = rooms[(i % ACCOUNTS) / 2];
            sender_tasks.push(tokio::spawn(send_until(
                tab,
                room,
                partner_of(i % ACCOUNTS),
                format!("s{i}"),
                outbox,
                uploads[i].clone(),
                stop.clone(),
            )));
        }
        // Load, then SIGKILL at a random moment, then a fresh server.
        tokio::time::sleep(Duration::from_millis(300 + rng.next(700))).await;
        server = server.restart(FAST).await;
        for t in sender_tasks {
            outboxes.push(t.await.expect("sender"));
        }
        for t in reader_tasks {
            readers.push(t.await.expect("reader"));
        }
        let pending = outboxes.iter().filter(|o| o.pending.is_some()).count();
        let acked: usize = outboxes.iter().map(|o| o.acked.len()).sum();
        println!(
            "crash round {round}/{}: {acked} acknowledged so far, {pending} in flight at the kill",
            rounds()
        );
    }

    // Last reconnect: outboxes drain, readers catch up, nobody sends more.
    let stop = Arc::new(AtomicBool::new(false));
    for (i, outbox) in outboxes.iter_mut().enumerate() {
        if let Some(id) = outbox.pending.take() {
            let mut tab = server.connect(&cookies[i % ACCOUNTS]).await;
            tab.hello_with(Vec::new()).await;
            let room = rooms[(i % ACCOUNTS) / 2];
            tab.send_frame(&send_frame(
                room,
                &id,
                partner_of(i % ACCOUNTS),
                &uploads[i],
            ))
            .await;
            let seq = common::ack(&mut tab).await.seq;
            outbox.acked.push(id.clone());
            outbox.seqs.push((seq, id));
        }
    }
    // Every change once more: those lost with a server come through; a
    // repeat changes nothing (an edit to the same text, a reaction that is
    // there), and a deleted message refuses it (not found).
    let (mut edits, mut reactions, mut deletes) = (0, 0, 0);
    for (i, outbox) in outboxes.iter().enumerate() {
        let mut tab = server.connect(&cookies[i % ACCOUNTS]).await;
        tab.hello_with(Vec::new()).await;
        let room = rooms[(i % ACCOUNTS) / 2];
        for (seq, id) in &outbox.seqs {
            let n = number(id);
            let deleted = n.is_multiple_of(7);
            edits += usize::from(n.is_multiple_of(4) && !deleted);
            reactions += usize::from(n.is_multiple_of(5) && !deleted);
            deletes += usize::from(deleted);
            for change in changes_of(room, *seq, id) {
                tab.send_frame(&change).await;
            }
        }
        tab.settle().await;
        for frame in &tab.log {
            if let ServerFrame::Error(e) = frame {
                assert_eq!(
                    e.code,
                    glasschat::realtime::protocol::ErrorCode::NotFound,
                    "{e:?}"
                );
            }
        }
    }
    stop.store(true, Ordering::Relaxed);

    // Stored: exactly the acknowledged ids, once each, seqs contiguous.
    let db = &server.db;
    let acked: HashSet<&String> = outboxes.iter().flat_map(|o| o.acked.iter()).collect();
    let total: usize = outboxes.iter().map(|o| o.acked.len()).sum();
    assert_eq!(acked.len(), total, "no client id acknowledged twice");
    let stored = db
        .scalar("SELECT COUNT(*) FROM messages WHERE client_id IS NOT NULL")
        .await;
    let distinct = db
        .scalar("SELECT COUNT(DISTINCT client_id) FROM messages WHERE client_id IS NOT NULL")
        .await;
    assert_eq!(stored, distinct, "every stored message once");
    assert_eq!(
        stored as usize, total,
        "every acknowledged message stored, nothing else"
    );
    let replies = db
        .scalar("SELECT COUNT(*) FROM messages WHERE reply_to = 1")
        .await;
    assert_eq!(
        replies as usize,
        acked.iter().filter(|id| is_reply(id)).count(),
        "every acknowledged reply stored as one"
    );
    // Each mention stored once with its message (a deleted one keeps it).
    let named = acked.iter().filter(|id| mentions_partner(id)).count();
    let everyone = acked.iter().filter(|id| mentions_room(id)).count();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM mentions WHERE user_id IS NOT NULL")
            .await as usize,
        named,
        "mentions by name"
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM mentions WHERE user_id IS NULL")
            .await as usize,
        everyone,
        "@room mentions"
    );
    // The notification outbox: one row per message that calls the room's
    // other account (by name or `@room`) and one per `@room` message for
    // the watcher, written with the message, so never lost or doubled by a
    // kill.
    let calling = acked
        .iter()
        .filter(|id| mentions_partner(id) || mentions_room(id))
        .count();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM notifications_due").await as usize,
        calling + everyone,
        "one outbox row per person a message calls"
    );
    pushes_reached_the_watchers(db, &receiver, &rooms, &outboxes).await;
    // Each change made once, whatever was repeated or lost on the way.
    let counted = [
        (
            "edited",
            "edited_at IS NOT NULL AND deleted_at IS NULL",
            edits,
        ),
        ("deleted", "deleted_at IS NOT NULL", deletes),
    ];
    for (what, filter, want) in counted {
        let got = db
            .scalar(&format!("SELECT COUNT(*) FROM messages WHERE {filter}"))
            .await;
        assert_eq!(got as usize, want, "{what} messages");
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM reactions").await as usize,
        reactions,
        "reactions"
    );
    let mut last_seqs = BTreeMap::new();
    for room in &rooms {
        let count = db
            .scalar(&format!(
                "SELECT (SELECT COUNT(*) FROM messages WHERE room_id = {room})
                      + (SELECT COUNT(*) FROM message_changes WHERE room_id = {room})"
            ))
            .await;
        let max = db
            .scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
            .await;
        assert_eq!(count, max, "room {room}: seqs 1..={max} without a gap");
        last_seqs.insert(*room, max);
    }
    // What a fresh load shows: each account's summaries and each room's
    // stored messages.
    let mut fresh = BTreeMap::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let tab = server.connect(cookie).await;
        let mut rooms_of = BTreeMap::new();
        for (room, state) in tab.state.rooms {
            let stored = server.all_messages(cookie, room).await;
            rooms_of.insert(room, (state.summary, stored));
        }
        fresh.insert(i, rooms_of);
    }
    // Every reader ends with exactly the stored sequence (50 at a time).
    let checks: Vec<_> = readers
        .into_iter()
        .enumerate()
        .map(|(i, held)| {
            let (server, cookie, last_seqs) = (&server, &cookies[i % ACCOUNTS], &last_seqs);
            let fresh = &fresh[&(i % ACCOUNTS)];
            async move {
                let mut tab = server.reconnect(cookie, held).await;
                tab.hello().await;
                for (room, max) in last_seqs {
                    let Some(held) = tab.state.rooms.get(room) else {
                        continue; // not this account's room
                    };
                    // `hello` returned after the catch-up: the tab holds
                    // every message from its first to the stored last, as
                    // the database has it now (edits, deletes, reactions),
                    // and the summary a fresh load shows (unread included).
                    let (summary, stored) = &fresh[room];
                    assert_eq!(&held.summary, summary, "reader {i}, room {room}: summary");
                    if let Some(&first) = held.messages.keys().next() {
                        let want: Vec<_> = stored.iter().filter(|m| m.seq >= first).collect();
                        let have: Vec<_> = held.messages.values().collect();
                        assert_eq!(have, want, "reader {i}, room {room}: as stored");
                    }
                    assert!(held.held_seq >= *max, "reader {i}, room {room}: caught up");
                    // Replies arrived with their quote, live or in catch-up.
                    for m in held.messages.values() {
                        let reply = m.client_id.as_deref().is_some_and(is_reply);
                        let quote = m.reply.as_ref();
                        assert_eq!(
                            quote.map(|q| (q.seq, q.gone, q.text.starts_with("body of "))),
                            reply.then_some((1, false, true)),
                            "reader {i}, room {room}, seq {}",
                            m.seq
                        );
                    }
                }
            }
        })
        .collect();
    let mut checks = checks.into_iter();
    loop {
        let chunk: Vec<_> = checks.by_ref().take(50).collect();
        if chunk.is_empty() {
            break;
        }
        futures::future::join_all(chunk).await;
    }
    drop(checks);
    // Files went with their messages exactly once through the kills: a
    // message that carries one has it (a resend attached nothing twice),
    // a deleted one has none, and none went with another message.
    let mut attached = 0;
    for (i, outbox) in outboxes.iter().enumerate() {
        for id in &outbox.acked {
            let Some(file) = file_of(id, &uploads[i]) else {
                continue;
            };
            let deleted = number(id).is_multiple_of(7);
            let with_it = db
                .scalar(&format!(
                    "SELECT COUNT(*) FROM files f JOIN messages m ON m.id = f.message_id
                     WHERE f.id = {file} AND m.client_id = '{id}'"
                ))
                .await;
            assert_eq!(with_it, i64::from(!deleted), "{id}: its file {file}");
            attached += usize::from(!deleted);
            if !deleted {
                let (status, _, bytes) = server
                    .download(Some(&cookies[i % ACCOUNTS]), &format!("/files/{file}"))
                    .await;
                assert_eq!(status, 200, "{id}: file {file}");
                let k = number(id) as usize / 6;
                assert_eq!(bytes, format!("file {k} of sender s{i}").into_bytes());
            }
        }
    }
    let sent = db
        .scalar("SELECT COUNT(*) FROM files WHERE message_id IS NOT NULL")
        .await;
    assert_eq!(sent as usize, attached, "no file went with another message");
    println!("files: {attached} sent with their messages through the kills");

    // The search index lost nothing to the kills: every message still there
    // has its entry, as it is now, and no deleted one has any. (SQLite
    // indexes from a queue committed with each message: it drains after
    // the restart.)
    if backend == Backend::Sqlite {
        let start = std::time::Instant::now();
        while db.scalar(INDEX_BEHIND).await > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the index queue drains"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for room in &rooms {
            let live = db
                .scalar(&format!(
                    "SELECT COUNT(*) FROM messages WHERE room_id = {room} AND kind = 'text' AND deleted_at IS NULL"
                ))
                .await;
            let entries = db
                .scalar(&format!(
                    "SELECT COUNT(*) FROM search_docs WHERE search_docs MATCH 'r{room}'"
                ))
                .await;
            assert_eq!(entries, live, "room {room}: one index entry per message");
        }
    } else {
        let missing = db
            .scalar(
                "SELECT COUNT(*) FROM messages m WHERE m.kind = 'text' AND m.deleted_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM search_postings p WHERE p.room_id = m.room_id AND p.message_id = m.id)",
            )
            .await;
        assert_eq!(missing, 0, "every message has its postings");
        let stale = db
            .scalar(
                "SELECT COUNT(*) FROM search_postings p JOIN messages m ON m.id = p.message_id
                 WHERE m.deleted_at IS NOT NULL",
            )
            .await;
        assert_eq!(stale, 0, "no deleted message is indexed");
    }
    // And search finds the edits as edited, in the words they have now.
    let edited: glasschat::model::SearchResults = serde_json::from_str(
        &server
            .call(&cookies[0], "search", &[("query", "edited ")])
            .await
            .body,
    )
    .expect("search results");
    assert!(edited.hits.iter().all(|h| h
        .snippet
        .iter()
        .map(|p| p.text.as_str())
        .collect::<String>()
        .starts_with("edited ")));
    if backend == Backend::Sqlite {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
    println!("crash loop: {} rounds, {total} messages acknowledged, all stored once, every reader gap-free", rounds());
    server.stop().await;
}
both_backends!(crash_loop);
