//! The real-time contract (docs/protocol.md) end to end: the real binary,
//! real sockets, each scenario on SQLite and on Postgres.

mod common;

use common::{ack, assert_matches_fresh, Backend, TestServer};
use futures::future::join_all;
use glasschat::realtime::protocol::{ClientFrame, RoomCursor, ServerFrame};

/// Scenarios that send more than the default 30 messages per 10 s per user
/// raise the limit for their server.
const FAST: &[(&str, &str)] = &[("GLASSCHAT_SEND_RATE", "100000/1")];

async fn fast_server(backend: Backend) -> TestServer {
    let db = common::TestDb::new(backend).await;
    TestServer::start_on(db, FAST).await
}

async fn two_users_and_three_tabs(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;

    let mut ada1 = server.connect(&ada).await;
    let mut bobs = vec![
        server.connect(&bob).await,
        server.connect(&bob).await,
        server.connect(&bob).await,
    ];
    ada1.hello().await;
    for tab in &mut bobs {
        tab.hello().await;
    }

    ada1.say(room, "c-1", "hello bob").await;
    let a = ack(&mut ada1).await;
    assert_eq!((a.room, a.seq, a.client_id.as_str()), (room, 1, "c-1"));
    bobs[1].say(room, "c-2", "hi ada").await;
    assert_eq!(ack(&mut bobs[1]).await.seq, 2);

    ada1.until_seq(room, 2).await;
    for tab in &mut bobs {
        tab.until_seq(room, 2).await;
    }
    // Give any stray duplicate a moment to arrive, then check exactly-once.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    ada1.say(room, "c-3", "sync point").await;
    ack(&mut ada1).await;
    for tab in bobs.iter_mut().chain(std::iter::once(&mut ada1)) {
        tab.until_seq(room, 3).await;
        assert_eq!(
            tab.seqs(room),
            vec![1, 2, 3],
            "each tab gets every message once, in order"
        );
    }
    let m = &bobs[0].state.rooms[&room].messages[&1];
    assert_eq!(
        (m.body.as_str(), m.sender_name.as_str()),
        ("hello bob", "ada")
    );
    assert_eq!(
        bobs[2].state.rooms[&room].messages[&2].client_id.as_deref(),
        Some("c-2")
    );
    assert_matches_fresh(&server, &bob, &mut bobs[0]).await;
    assert_matches_fresh(&server, &ada, &mut ada1).await;
}
both_backends!(two_users_and_three_tabs);

async fn concurrent_senders_get_contiguous_seqs(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.user("owner@example.com").await;
    let emails: Vec<String> = (0..19).map(|i| format!("s{i}@example.com")).collect();
    let mut cookies = vec![owner.clone()];
    for e in &emails {
        cookies.push(server.user(e).await);
    }
    let members: Vec<&str> = emails.iter().map(String::as_str).collect();
    let room = server.group(&owner, "Busy", &members).await;

    let mut tabs = Vec::new();
    for c in &cookies {
        let mut tab = server.connect(c).await;
        tab.hello().await;
        tabs.push(tab);
    }
    const EACH: usize = 10;
    let acks = join_all(tabs.iter_mut().enumerate().map(|(i, tab)| async move {
        let mut seqs = Vec::new();
        for n in 0..EACH {
            tab.say(
                room,
                &format!("u{i}-m{n}"),
                &format!("message {n} from {i}"),
            )
            .await;
            seqs.push(ack(tab).await.seq);
        }
        seqs
    }))
    .await;
    let total = (cookies.len() * EACH) as i64;
    let mut all: Vec<i64> = acks.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=total).collect::<Vec<_>>(),
        "seqs are exactly 1..N"
    );

    for tab in &mut tabs {
        tab.until_seq(room, total).await;
        assert_eq!(
            tab.seqs(room),
            (1..=total).collect::<Vec<_>>(),
            "every socket saw each message once, in order"
        );
    }
    assert_eq!(server.all_messages(&owner, room).await.len() as i64, total);
}
both_backends!(concurrent_senders_get_contiguous_seqs);

async fn a_resend_is_stored_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    tab.say(room, "same-id", "only once").await;
    let first = ack(&mut tab).await;
    tab.say(room, "same-id", "only once").await;
    let second = ack(&mut tab).await;
    assert_eq!(first, second, "identical acks");

    // And again from a new socket, as after a reconnect.
    let mut again = server.connect(&ada).await;
    again.hello().await;
    again.say(room, "same-id", "only once").await;
    assert_eq!(ack(&mut again).await, first);
    let stored = server.all_messages(&ada, room).await;
    assert_eq!(stored.len(), 1, "one row");
    assert_eq!(stored[0].seq, 1);
}
both_backends!(a_resend_is_stored_once);

/// The same client id sent at once from several tabs (the race after a
/// reconnect: the old socket still sending while the new one resends), one
/// of them into another room: the sends meet in one write batch. One row
/// per id, every tab gets the same ack, and each room's seqs stay
/// contiguous (a refused resend takes no seq).
async fn concurrent_resends_are_stored_once(backend: Backend) {
    let server = fast_server(backend).await;
    let ada = server.user("ada@example.com").await;
    let room = server.group(&ada, "Notes", &[]).await;
    let other = server.group(&ada, "Other", &[]).await;
    let mut tabs = Vec::new();
    for _ in 0..6 {
        tabs.push(server.tab(&ada).await);
    }
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let id = format!("race-{round}");
        let acks = join_all(tabs.iter_mut().enumerate().map(|(i, tab)| {
            let id = id.clone();
            async move {
                tab.say(if i == 5 { other } else { room }, &id, "once")
                    .await;
                ack(tab).await
            }
        }))
        .await;
        assert!(
            acks.iter().all(|a| *a == acks[0]),
            "round {round}: one ack for all {acks:?}"
        );
    }
    let mut total = 0;
    for r in [room, other] {
        let seqs: Vec<i64> = server
            .all_messages(&ada, r)
            .await
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        total += seqs.len();
    }
    assert_eq!(total, ROUNDS, "one row per client id");
}
both_backends!(concurrent_resends_are_stored_once);

async fn reconnect_catches_up_exactly_the_missing(backend: Backend) {
    let server = fast_server(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut sender = server.connect(&ada).await;
    sender.hello().await;
    sender.say(room, "before", "before the blip").await;
    ack(&mut sender).await;

    let mut bob_tab = server.connect(&bob).await;
    bob_tab
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    bob_tab.until_seq(room, 1).await;
    let kept_state = bob_tab.state.clone();
    drop(bob_tab); // the laptop sleeps

    for n in 0..50 {
        sender
            .say(room, &format!("missed-{n}"), &format!("missed {n}"))
            .await;
        ack(&mut sender).await;
    }

    let mut back = server.reconnect(&bob, kept_state).await;
    back.hello().await;
    assert_eq!(
        back.seqs(room),
        (2..=51).collect::<Vec<_>>(),
        "exactly the 50 missing, in order"
    );
    assert_eq!(back.summary(room).unread, 51, "he never read seq 1 either");
    assert_matches_fresh(&server, &bob, &mut back).await;
}
both_backends!(reconnect_catches_up_exactly_the_missing);

/// A tab asleep in many rooms (more than one read's worth) catches up
/// exactly: each room's messages and changes once, in order, every
/// message with its own reactions, mentions and files though the rooms
/// share seqs, a change to a message the tab already held, and a room further
/// behind than one page.
async fn a_catch_up_across_many_rooms_is_exact(backend: Backend) {
    const ROOMS: usize = 70;
    let server = fast_server(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        rooms.push(
            server
                .group(&ada, &format!("Room {i}"), &["bob@example.com"])
                .await,
        );
    }
    let mut sender = server.connect(&ada).await;
    sender.hello().await;
    for (i, &room) in rooms.iter().enumerate() {
        sender.say(room, &format!("first-{i}"), "hello").await;
        ack(&mut sender).await;
    }
    let mut bob_tab = server.connect(&bob).await;
    let from_start = rooms
        .iter()
        .map(|&room| RoomCursor { room, last_seq: 0 })
        .collect();
    bob_tab.hello_with(from_start).await;
    for &room in &rooms {
        bob_tab.until_seq(room, 1).await;
    }
    let bob_id = bob_tab.state.user_id;
    let kept = bob_tab.state.clone();
    drop(bob_tab); // the laptop sleeps

    for (i, &room) in rooms.iter().enumerate() {
        if i % 5 == 0 {
            sender
                .mention(room, &format!("second-{i}"), "look @bob", &[bob_id])
                .await;
        } else if i % 3 == 0 {
            let notes = server.upload(&ada, room, "notes.txt", b"the notes").await;
            sender
                .send_files(room, &format!("second-{i}"), "notes", &[notes])
                .await;
        } else {
            sender.say(room, &format!("second-{i}"), "again").await;
        }
        ack(&mut sender).await;
        if i % 2 == 0 {
            sender.react(room, 2, "👍", true).await;
        }
        if i % 7 == 0 {
            sender.edit(room, 1, "hello, edited").await;
        }
    }
    // The last room falls further behind than one page of the catch-up.
    let far = rooms[ROOMS - 1];
    for n in 0..520 {
        sender.say(far, &format!("far-{n}"), "more").await;
        ack(&mut sender).await;
    }
    let mut ends = Vec::new();
    for &room in &rooms {
        let last: i64 = server
            .db
            .scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
            .await;
        ends.push(last);
    }

    let mut back = server.reconnect(&bob, kept).await;
    back.hello().await;
    for (i, &room) in rooms.iter().enumerate() {
        let seqs: Vec<i64> = back
            .log
            .iter()
            .filter_map(|f| match f {
                ServerFrame::Message(m) if m.room == room => Some(m.seq),
                ServerFrame::Changed(c) if c.room == room => Some(c.seq),
                _ => None,
            })
            .collect();
        assert_eq!(
            seqs,
            (2..=ends[i]).collect::<Vec<_>>(),
            "room {i}: each event once, in order"
        );
        let second = &back.state.rooms[&room].messages[&2];
        assert_eq!(
            second.reactions.len(),
            usize::from(i % 2 == 0),
            "room {i} reactions"
        );
        assert_eq!(
            second.mentions.len(),
            usize::from(i % 5 == 0),
            "room {i} mentions"
        );
        let first = &back.state.rooms[&room].messages[&1];
        assert_eq!(first.edited_at.is_some(), i % 7 == 0, "room {i} edit");
    }
    assert_matches_fresh(&server, &bob, &mut back).await;
}
both_backends!(a_catch_up_across_many_rooms_is_exact);

async fn server_restart_loses_and_duplicates_nothing(backend: Backend) {
    let server = fast_server(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut ada_tab = server.connect(&ada).await;
    let mut bob_tab = server.connect(&bob).await;
    ada_tab.hello().await;
    bob_tab.hello().await;
    for n in 0..5 {
        ada_tab
            .say(room, &format!("pre-{n}"), &format!("pre {n}"))
            .await;
        ack(&mut ada_tab).await;
    }
    bob_tab.until_seq(room, 5).await;
    // A send whose ack never comes: the server dies right after it.
    ada_tab
        .say(room, "in-flight", "sent as the server died")
        .await;
    let server = server.restart(FAST).await;

    // Both reconnect to the new process; Ada's outbox resends the same id.
    let mut ada_tab = server.reconnect(&ada, ada_tab.state).await;
    ada_tab.hello().await;
    ada_tab
        .say(room, "in-flight", "sent as the server died")
        .await;
    let resent = ack(&mut ada_tab).await;
    ada_tab.say(room, "post", "after the restart").await;
    let post = ack(&mut ada_tab).await;
    assert_eq!(post.seq, resent.seq + 1);

    let mut bob_tab = server.reconnect(&bob, bob_tab.state).await;
    bob_tab.hello().await;
    bob_tab.until_seq(room, post.seq).await;
    assert_eq!(
        bob_tab.seqs(room),
        (6..=post.seq).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );

    let stored = server.all_messages(&ada, room).await;
    assert_eq!(
        stored
            .iter()
            .filter(|m| m.client_id.as_deref() == Some("in-flight"))
            .count(),
        1,
        "the unacked send is stored exactly once"
    );
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=post.seq).collect::<Vec<_>>()
    );
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
}
both_backends!(server_restart_loses_and_duplicates_nothing);

async fn reads_update_every_tab(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut ada_tab = server.connect(&ada).await;
    let mut b1 = server.connect(&bob).await;
    let mut b2 = server.connect(&bob).await;
    for tab in [&mut ada_tab, &mut b1, &mut b2] {
        tab.hello().await;
    }
    for n in 0..3 {
        ada_tab.say(room, &format!("r{n}"), "read me").await;
        ack(&mut ada_tab).await;
    }
    b1.until_seq(room, 3).await;
    b2.until_seq(room, 3).await;
    assert_eq!((b1.summary(room).unread, b2.summary(room).unread), (3, 3));
    // Sending reads your own message. The read mark may come just before
    // the ack (docs/protocol.md), so look at the tab's state, not the
    // frames after the ack.
    while ada_tab.summary(room).read_seq < 3 {
        ada_tab.next().await;
    }
    assert_eq!(
        ada_tab.summary(room).unread,
        0,
        "sending reads your own message"
    );

    b1.send_frame(&ClientFrame::Read { room, seq: 2 }).await;
    let unread = b2
        .until(|f| match f {
            ServerFrame::ReadMark {
                room: r, unread, ..
            } if *r == room => Some(*unread),
            _ => None,
        })
        .await;
    assert_eq!(unread, 1, "the other tab learns the new count");
    // Marks never move backwards.
    b1.send_frame(&ClientFrame::Read { room, seq: 1 }).await;
    b1.send_frame(&ClientFrame::Read { room, seq: 99 }).await;
    let (read_seq, unread) = b2
        .until(|f| match f {
            ServerFrame::ReadMark {
                read_seq, unread, ..
            } if *read_seq != 2 => Some((*read_seq, *unread)),
            _ => None,
        })
        .await;
    assert_eq!((read_seq, unread), (3, 0), "clamped to the last seq");
    assert_matches_fresh(&server, &bob, &mut b2).await;
}
both_backends!(reads_update_every_tab);
