//! Presence, typing and read receipts (issue 25), through real sockets on
//! SQLite and Postgres, and across two Postgres nodes: who is online is
//! the most present of a person's tabs anywhere, shown only to people who
//! share a conversation with them; "invisible" shows offline; typing
//! reaches the room's members only, is never caught up and has a budget;
//! read receipts follow the read marks in direct chats, groups and support
//! (the customer's, for staff), and the setting hides them both ways.

mod common;

use std::time::{Duration, Instant};

use common::desk::{ok, Desk};

use common::{ack, error, Backend, Tab, TestDb, TestServer};
use glasschat::realtime::protocol::{
    ClientFrame, ErrorCode, Presence, PresenceView, Reader, ServerFrame,
};

async fn id_of(server: &TestServer, cookie: &str) -> i64 {
    server.me(cookie).await["id"].as_i64().expect("user id")
}

/// Reads until a presence frame says where `user` stands; returns it.
async fn presence_of(tab: &mut Tab, user: i64) -> PresenceView {
    tab.until(|f| match f {
        ServerFrame::Presence { users } => users.iter().rev().find(|v| v.user == user).copied(),
        _ => None,
    })
    .await
}

/// Reads until `user` is shown in `state`.
async fn until_state(tab: &mut Tab, user: i64, state: Presence) -> PresenceView {
    loop {
        let view = presence_of(tab, user).await;
        if view.state == state {
            return view;
        }
    }
}

/// `until_state` for up to `limit`, pinging once a second so that a quiet
/// socket does not end the wait.
async fn until_state_within(
    tab: &mut Tab,
    user: i64,
    state: Presence,
    limit: Duration,
) -> PresenceView {
    let deadline = Instant::now() + limit;
    loop {
        assert!(Instant::now() < deadline, "not {state:?} within {limit:?}");
        tab.send_frame(&ClientFrame::Ping).await;
        let mut found = None;
        tab.until(|f| match f {
            ServerFrame::Presence { users } => {
                found = found.or(users
                    .iter()
                    .find(|v| v.user == user && v.state == state)
                    .copied());
                None
            }
            ServerFrame::Pong => Some(()),
            _ => None,
        })
        .await;
        if let Some(view) = found {
            return view;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Opens a tab that shows the people of its sidebar (and `room`'s members).
async fn watching(server: &TestServer, cookie: &str, room: Option<i64>) -> Tab {
    let mut tab = server.tab(cookie).await;
    tab.send_frame(&ClientFrame::View { room }).await;
    tab.until(|f| matches!(f, ServerFrame::Presence { .. }).then_some(()))
        .await;
    tab
}

/// Where `user` stood in the newest presence frame this tab received.
fn last_shown(tab: &Tab, user: i64) -> Option<PresenceView> {
    tab.log.iter().rev().find_map(|f| match f {
        ServerFrame::Presence { users } => users.iter().find(|v| v.user == user).copied(),
        _ => None,
    })
}

fn presence_frames_about(tab: &Tab, user: i64) -> usize {
    tab.log
        .iter()
        .filter(|f| matches!(f, ServerFrame::Presence { users } if users.iter().any(|v| v.user == user)))
        .count()
}

async fn read_receipts_of(server: &TestServer, cookie: &str, room: i64) -> Vec<Reader> {
    let reply = ok(server
        .call(cookie, "receipts", &[("room", &room.to_string())])
        .await);
    serde_json::from_str(&reply.body).expect("readers")
}

async fn set_privacy(server: &TestServer, cookie: &str, invisible: bool, receipts: bool) {
    ok(server
        .call(
            cookie,
            "privacy/set",
            &[
                ("invisible", &invisible.to_string()),
                ("receipts", &receipts.to_string()),
            ],
        )
        .await);
}

async fn presence_follows_the_most_present_tab(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bo = server.user("bo@example.com").await;
    let cy = server.user("cy@example.com").await;
    let ada_id = id_of(&server, &ada).await;
    let room = server.direct_chat(&bo, "ada@example.com").await;

    // Bo's sidebar shows Ada: offline, never seen.
    let mut bo_tab = server.tab(&bo).await;
    bo_tab.send_frame(&ClientFrame::View { room: None }).await;
    let first = presence_of(&mut bo_tab, ada_id).await;
    assert_eq!((first.state, first.last_seen), (Presence::Offline, None));
    // Cy, who shares no conversation with Ada, shows nobody and may not
    // look into Bo and Ada's chat.
    let mut cy_tab = watching(&server, &cy, None).await;
    cy_tab
        .send_frame(&ClientFrame::View { room: Some(room) })
        .await;
    let refused = error(&mut cy_tab).await;
    assert_eq!(
        (refused.code, refused.room),
        (ErrorCode::Forbidden, Some(room))
    );

    // Ada opens a tab: online; it goes idle: away; a second, active tab
    // wins over it; both closed: offline, with when.
    let mut ada_tab = server.tab(&ada).await;
    until_state(&mut bo_tab, ada_id, Presence::Online).await;
    ada_tab
        .send_frame(&ClientFrame::Presence { active: false })
        .await;
    until_state(&mut bo_tab, ada_id, Presence::Away).await;
    let ada_second = server.tab(&ada).await;
    until_state(&mut bo_tab, ada_id, Presence::Online).await;
    drop(ada_second);
    until_state(&mut bo_tab, ada_id, Presence::Away).await;
    let before = glasschat::server::store::now_ms();
    drop(ada_tab);
    let gone = until_state(&mut bo_tab, ada_id, Presence::Offline).await;
    assert!(gone.last_seen.is_some_and(|t| t >= before), "{gone:?}");
    // A new watcher learns "last seen" too.
    let fresh = watching(&server, &bo, None).await;
    let seen = last_shown(&fresh, ada_id).expect("Ada in the snapshot");
    assert_eq!(seen.state, Presence::Offline);
    assert_eq!(seen.last_seen, gone.last_seen);

    // A tab that comes and goes within one round shows Bo nothing.
    bo_tab.settle().await;
    let frames = presence_frames_about(&bo_tab, ada_id);
    drop(server.connect(&ada).await);
    tokio::time::sleep(Duration::from_millis(600)).await;
    bo_tab.settle().await;
    assert!(
        presence_frames_about(&bo_tab, ada_id) - frames <= 2,
        "at most one change each way"
    );
    cy_tab.settle().await;
    assert_eq!(
        presence_frames_about(&cy_tab, ada_id),
        0,
        "Cy heard nothing of Ada"
    );
    server.stop().await;
}
both_backends!(presence_follows_the_most_present_tab);

async fn an_invisible_user_shows_offline(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bo = server.user("bo@example.com").await;
    let ada_id = id_of(&server, &ada).await;
    let room = server.group(&bo, "Team", &["ada@example.com"]).await;
    let mut bo_tab = watching(&server, &bo, Some(room)).await;
    let mut ada_tab = server.tab(&ada).await;
    until_state(&mut bo_tab, ada_id, Presence::Online).await;

    set_privacy(&server, &ada, true, true).await;
    until_state(&mut bo_tab, ada_id, Presence::Offline).await;
    // Her typing would give her away: not shown.
    ada_tab
        .send_frame(&ClientFrame::Typing { room, on: true })
        .await;
    // Still invisible after reconnecting.
    drop(ada_tab);
    let ada_tab = server.tab(&ada).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    bo_tab.settle().await;
    assert!(
        !bo_tab
            .log
            .iter()
            .any(|f| matches!(f, ServerFrame::Typing { user, .. } if *user == ada_id)),
        "no typing from an invisible user"
    );
    let last = last_shown(&bo_tab, ada_id).expect("Ada's presence");
    assert_eq!(last.state, Presence::Offline);
    let privacy = ok(server.call(&ada, "privacy", &[]).await).json();
    assert_eq!(privacy["invisible"], true);

    set_privacy(&server, &ada, false, true).await;
    until_state(&mut bo_tab, ada_id, Presence::Online).await;
    drop(ada_tab);
    server.stop().await;
}
both_backends!(an_invisible_user_shows_offline);

async fn typing_reaches_members_only_and_is_never_caught_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bo = server.user("bo@example.com").await;
    let cy = server.user("cy@example.com").await;
    let ada_id = id_of(&server, &ada).await;
    let room = server.group(&ada, "Team", &["bo@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bo_tab = server.tab(&bo).await;
    let mut cy_tab = server.tab(&cy).await;

    ada_tab
        .send_frame(&ClientFrame::Typing { room, on: true })
        .await;
    let (user, name, on) = bo_tab
        .until(|f| match f {
            ServerFrame::Typing {
                room: r,
                user,
                name,
                on,
            } if *r == room => Some((*user, name.clone(), *on)),
            _ => None,
        })
        .await;
    assert_eq!((user, name.as_str(), on), (ada_id, "ada", true));
    ada_tab
        .send_frame(&ClientFrame::Typing { room, on: false })
        .await;
    let stopped = bo_tab
        .until(|f| match f {
            ServerFrame::Typing { on, .. } => Some(*on),
            _ => None,
        })
        .await;
    assert!(!stopped);

    // Cy is not a member: refused, and hears nothing.
    cy_tab
        .send_frame(&ClientFrame::Typing { room, on: true })
        .await;
    let refused = error(&mut cy_tab).await;
    assert_eq!(
        (refused.code, refused.room),
        (ErrorCode::Forbidden, Some(room))
    );
    cy_tab.settle().await;
    assert!(!cy_tab
        .log
        .iter()
        .any(|f| matches!(f, ServerFrame::Typing { .. })));

    // Never part of a catch-up: a tab that connects now hears none of it.
    let late = server.tab(&bo).await;
    assert!(!late
        .log
        .iter()
        .any(|f| matches!(f, ServerFrame::Typing { .. })));

    // A socket's budget: a burst of ten, then one per 3 s; the rest is
    // dropped unanswered.
    bo_tab.settle().await;
    let before = bo_tab.log.len();
    let mut flooder = server.tab(&ada).await;
    for _ in 0..15 {
        flooder
            .send_frame(&ClientFrame::Typing { room, on: true })
            .await;
    }
    flooder.send_frame(&ClientFrame::Ping).await;
    flooder
        .until(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
    bo_tab.settle().await;
    let heard = bo_tab.log[before..]
        .iter()
        .filter(|f| matches!(f, ServerFrame::Typing { .. }))
        .count();
    assert_eq!(heard, 10, "the burst, and nothing past it");
    server.stop().await;
}
both_backends!(typing_reaches_members_only_and_is_never_caught_up);

/// Reads until a receipt says `user` has read `room` up to `seq`.
async fn seen(tab: &mut Tab, room: i64, user: i64, seq: i64) {
    tab.until(|f| match f {
        ServerFrame::Seen(r) if r.room == room && r.user == user && r.read_seq >= seq => Some(()),
        _ => None,
    })
    .await;
}

/// `writer` says `body` in `room`; `reader` receives it and reads it.
/// Returns its seq.
async fn said_and_read(writer: &mut Tab, reader: &mut Tab, room: i64, id: &str, body: &str) -> i64 {
    writer.say(room, id, body).await;
    let seq = ack(writer).await.seq;
    reader.until_seq(room, seq).await;
    reader.send_frame(&ClientFrame::Read { room, seq }).await;
    seq
}

fn receipts_heard(tab: &Tab) -> usize {
    tab.log
        .iter()
        .filter(|f| matches!(f, ServerFrame::Seen(_)))
        .count()
}

async fn read_receipts_follow_read_marks(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bo = server.user("bo@example.com").await;
    let cy = server.user("cy@example.com").await;
    let bo_id = id_of(&server, &bo).await;
    let cy_id = id_of(&server, &cy).await;

    // A direct chat: Bo reads Ada's message; Ada hears it, live and on asking.
    let dm = server.direct_chat(&ada, "bo@example.com").await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bo_tab = server.tab(&bo).await;
    ada_tab.say(dm, "d1", "are you there?").await;
    let seq = ack(&mut ada_tab).await.seq;
    bo_tab.until_seq(dm, seq).await;
    assert!(read_receipts_of(&server, &ada, dm)
        .await
        .iter()
        .all(|r| r.read_seq < seq));
    bo_tab
        .send_frame(&ClientFrame::Read { room: dm, seq })
        .await;
    seen(&mut ada_tab, dm, bo_id, seq).await;
    let readers = read_receipts_of(&server, &ada, dm).await;
    assert_eq!(readers.len(), 1, "{readers:?}");
    assert_eq!((readers[0].user, readers[0].read_seq), (bo_id, seq));
    // Reading again where nothing moved tells nobody.
    let heard = receipts_heard(&ada_tab);
    bo_tab
        .send_frame(&ClientFrame::Read { room: dm, seq })
        .await;
    ada_tab.settle().await;
    assert_eq!(receipts_heard(&ada_tab), heard);

    // A group: every member with receipts hears each read.
    let group = server
        .group(&ada, "Team", &["bo@example.com", "cy@example.com"])
        .await;
    let mut cy_tab = server.tab(&cy).await;
    bo_tab
        .until(|f| matches!(f, ServerFrame::RoomAdded(s) if s.room == group).then_some(()))
        .await;
    ada_tab.say(group, "g1", "standup in 5").await;
    let seq = ack(&mut ada_tab).await.seq;
    cy_tab.until_seq(group, seq).await;
    cy_tab
        .send_frame(&ClientFrame::Read { room: group, seq })
        .await;
    seen(&mut ada_tab, group, cy_id, seq).await;
    seen(&mut bo_tab, group, cy_id, seq).await;
    let readers = read_receipts_of(&server, &bo, group).await;
    assert!(
        readers.iter().any(|r| r.user == cy_id && r.read_seq == seq),
        "{readers:?}"
    );
    assert!(readers.iter().all(|r| r.user != bo_id), "not the asker");
    // Outside the group: refused.
    let eve = server.user("eve@example.com").await;
    let refused = server
        .call(&eve, "receipts", &[("room", &group.to_string())])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    server.stop().await;
}
both_backends!(read_receipts_follow_read_marks);

async fn support_staff_see_the_customer_read_and_not_the_reverse(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut owner_tab = server.tab(&desk.owner).await;
    let mut agent_tab = server.tab(&desk.agent).await;
    said_and_read(
        &mut owner_tab,
        &mut agent_tab,
        room,
        "s1",
        "my invoice is wrong",
    )
    .await;
    let answer = said_and_read(
        &mut agent_tab,
        &mut owner_tab,
        room,
        "s2",
        "looking into it",
    )
    .await;
    seen(&mut agent_tab, room, desk.owner_id, answer).await;
    let readers = read_receipts_of(server, &desk.agent, room).await;
    assert_eq!(
        readers.iter().map(|r| r.user).collect::<Vec<_>>(),
        vec![desk.owner_id],
        "staff see the customer only"
    );
    // The customer sees no staff reads.
    assert!(read_receipts_of(server, &desk.owner, room).await.is_empty());
    owner_tab.settle().await;
    assert!(
        !owner_tab
            .log
            .iter()
            .any(|f| matches!(f, ServerFrame::Seen(r) if r.user != desk.owner_id)),
        "no staff reads reach the customer"
    );
    desk.server.stop().await;
}
both_backends!(support_staff_see_the_customer_read_and_not_the_reverse);

async fn receipts_off_hides_them_both_ways(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bo = server.user("bo@example.com").await;
    let bo_id = id_of(&server, &bo).await;
    let room = server.direct_chat(&ada, "bo@example.com").await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bo_tab = server.tab(&bo).await;
    set_privacy(&server, &bo, false, false).await;

    said_and_read(&mut ada_tab, &mut bo_tab, room, "r1", "hello").await;
    said_and_read(&mut bo_tab, &mut ada_tab, room, "r2", "hi").await;
    ada_tab.settle().await;
    bo_tab.settle().await;
    assert_eq!(receipts_heard(&ada_tab), 0, "Bo's reads are not shown");
    assert_eq!(receipts_heard(&bo_tab), 0, "and Bo sees nobody's");
    assert!(read_receipts_of(&server, &ada, room).await.is_empty());
    assert!(read_receipts_of(&server, &bo, room).await.is_empty());

    // On again: both ways.
    set_privacy(&server, &bo, false, true).await;
    let third = said_and_read(&mut ada_tab, &mut bo_tab, room, "r3", "back?").await;
    seen(&mut ada_tab, room, bo_id, third).await;
    assert_eq!(read_receipts_of(&server, &ada, room).await.len(), 1);
    server.stop().await;
}
both_backends!(receipts_off_hides_them_both_ways);

/// Two nodes: presence, typing, receipts and privacy cross between them;
/// a killed node's users go offline on the other within 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_typing_and_receipts_cross_nodes() {
    let a = TestServer::start_on(TestDb::new(Backend::Postgres).await, &[]).await;
    let b = a.another_node(&[]).await;
    let ada = a.user("ada@example.com").await;
    let bo = a.user("bo@example.com").await;
    let ada_id = id_of(&a, &ada).await;
    let bo_id = id_of(&a, &bo).await;
    let room = a.direct_chat(&bo, "ada@example.com").await;

    let mut bo_a = watching(&a, &bo, Some(room)).await;
    let mut ada_b = b.tab(&ada).await;
    until_state(&mut bo_a, ada_id, Presence::Online).await;
    ada_b
        .send_frame(&ClientFrame::Presence { active: false })
        .await;
    until_state(&mut bo_a, ada_id, Presence::Away).await;

    // Typing and a read receipt from B reach A.
    ada_b
        .send_frame(&ClientFrame::Typing { room, on: true })
        .await;
    bo_a.until(|f| matches!(f, ServerFrame::Typing { user, .. } if *user == ada_id).then_some(()))
        .await;
    let seq = said_and_read(&mut bo_a, &mut ada_b, room, "x1", "ping").await;
    seen(&mut bo_a, room, ada_id, seq).await;
    // Bo's reads reach Ada on B too.
    bo_a.send_frame(&ClientFrame::Read { room, seq }).await;

    // Invisible, set through A while her socket is on B.
    set_privacy(&a, &ada, true, true).await;
    until_state(&mut bo_a, ada_id, Presence::Offline).await;
    set_privacy(&a, &ada, false, true).await;
    until_state(&mut bo_a, ada_id, Presence::Away).await;

    // Bo, on B too, is seen by Ada on B; B killed: Ada (only on B) goes
    // offline on A within 30 s.
    let _bo_b = b.tab(&bo).await;
    b.stop().await;
    let gone = until_state_within(
        &mut bo_a,
        ada_id,
        Presence::Offline,
        Duration::from_secs(30),
    )
    .await;
    assert!(gone.last_seen.is_some());
    // Bo is still on A: Ada's view of him came from B, which is gone;
    // his own tab on A keeps him online here.
    let ada_a = watching(&a, &ada, Some(room)).await;
    let bo_here = last_shown(&ada_a, bo_id).expect("Bo in the snapshot");
    assert_eq!(bo_here.state, Presence::Online);
    a.stop().await;
}
