//! Internal notes (the real binary, both databases, at socket level): a
//! note reaches the conversation's staff and never its member, by any way a
//! line travels (live, catch-up, history, search, previews, unread, typing,
//! files, the `@` list), and the member's seqs stay gap-free. The notes
//! follow the conversation's staff through a transfer and a role change,
//! and everything holds through kills (the desk's crash loop).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::desk::*;
use common::{ack, error, Backend, Tab, TestServer, INDEX_BEHIND};
use glasschat::model::SearchResults;
use glasschat::realtime::protocol::{ClientFrame, ErrorCode, Person, RoomCursor, ServerFrame};
use glasschat::realtime::state::ClientState;

async fn open_notes(desk: &Desk, who: &str, room: i64) -> common::Reply {
    desk.server
        .call(who, "support/notes", &[("room", &room.to_string())])
        .await
}

async fn say(tab: &mut Tab, room: i64, id: &str, body: &str) -> i64 {
    tab.say(room, id, body).await;
    ack(tab).await.seq
}

/// Search hits' rooms for `query`, once the index has caught up.
async fn search_rooms(server: &TestServer, cookie: &str, query: &str) -> Vec<i64> {
    if server.db.backend == Backend::Sqlite {
        while server.db.scalar(INDEX_BEHIND).await > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let found: SearchResults =
        ok(server.call(cookie, "search", &[("query", query)]).await).json_as();
    found.hits.iter().map(|h| h.room).collect()
}

/// Nothing the member's tab ever received names the notes room or says
/// what a note said.
fn nothing_of_notes(tab: &Tab, notes: i64, words: &[&str]) {
    for frame in &tab.log {
        let json = serde_json::to_string(frame).unwrap();
        for word in words {
            assert!(!json.contains(word), "{word:?} reached the member: {json}");
        }
        let names_notes = match frame {
            ServerFrame::Message(m) => m.room == notes,
            ServerFrame::RoomAdded(s) | ServerFrame::RoomUpdated(s) => s.room == notes,
            ServerFrame::Typing { room, .. } | ServerFrame::CaughtUp { room, .. } => *room == notes,
            ServerFrame::ReadMark { room, .. } => *room == notes,
            ServerFrame::Changed(c) => c.room == notes,
            _ => false,
        };
        assert!(!names_notes, "a frame about the notes room: {json}");
    }
    assert!(!tab.state.rooms.contains_key(&notes));
}

async fn a_note_never_reaches_the_member(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut member = server.tab(&desk.owner).await;
    assert_eq!(
        say(&mut member, room, "m1", "my parcel never came").await,
        1
    );
    let mut agent = server.tab(&desk.agent).await;
    let mut admin = server.tab(&desk.admin).await;

    // Staff of the conversation open its notes; nobody else may.
    for who in [&desk.owner, &desk.other, &desk.stranger] {
        assert_eq!(open_notes(&desk, who, room).await.status, 403);
    }
    let notes: i64 = ok(open_notes(&desk, &desk.agent, room).await).json_as();
    assert_ne!(notes, room);
    // The same room again, for any of its staff.
    let again: i64 = ok(open_notes(&desk, &desk.admin, room).await).json_as();
    assert_eq!(again, notes);
    room_added(&mut agent, notes).await;
    room_added(&mut admin, notes).await;
    assert_eq!(agent.summary(notes).notes_of, Some(room));

    // A note (with a file and a reaction), typing in the notes, a reply.
    agent
        .send_frame(&ClientFrame::Typing {
            room: notes,
            on: true,
        })
        .await;
    admin
        .until(|f| match f {
            ServerFrame::Typing { room: r, .. } if *r == notes => Some(()),
            _ => None,
        })
        .await;
    let file = server
        .upload(&desk.agent, notes, "courier-log.txt", b"lost at depot")
        .await;
    agent
        .send_files(notes, "n1", "courier says parcel-lost-depot", &[file])
        .await;
    assert_eq!(ack(&mut agent).await.seq, 1);
    admin.until_seq(notes, 1).await;
    admin.react(notes, 1, "👀", true).await;
    agent
        .until(|f| match f {
            ServerFrame::Changed(c) if c.room == notes => Some(()),
            _ => None,
        })
        .await;
    assert_eq!(
        say(&mut agent, room, "r1", "Sorry! A new parcel is on its way.").await,
        2
    );

    // Live: the member got seq 2 right after seq 1, and nothing of the note.
    member.until_seq(room, 2).await;
    member.settle().await;
    assert_eq!(member.seqs(room), [1, 2]);
    let secrets = ["parcel-lost-depot", "courier-log", "👀"];
    nothing_of_notes(&member, notes, &secrets);
    let summary = member.summary(room);
    assert_eq!((summary.last_seq, summary.unread), (2, 1));
    assert_eq!(
        summary.last.map(|m| m.body),
        Some("Sorry! A new parcel is on its way.".to_string())
    );

    // Catch-up from before the reply, and a fresh tab: the same.
    let old = member.state.clone();
    drop(member);
    let mut back = server.connect(&desk.owner).await;
    back.hello_with(vec![RoomCursor { room, last_seq: 1 }])
        .await;
    back.settle().await;
    assert_eq!(back.seqs(room), [2]);
    nothing_of_notes(&back, notes, &secrets);
    let mut again = server.reconnect(&desk.owner, old).await;
    again.hello().await;
    again.settle().await;
    nothing_of_notes(&again, notes, &secrets);
    let fresh = server.connect(&desk.owner).await;
    nothing_of_notes(&fresh, notes, &secrets);
    let ServerFrame::Welcome { rooms, .. } = &fresh.log[0] else {
        panic!("no welcome first");
    };
    assert_eq!(rooms.iter().map(|r| r.room).collect::<Vec<_>>(), [room]);
    assert_eq!((rooms[0].last_seq, rooms[0].unread), (2, 1));

    // Asking for the notes room by name gets the member nowhere.
    back.send_frame(&ClientFrame::Send {
        room: notes,
        client_id: "x1".into(),
        body: "let me in".into(),
        reply_to: None,
        mentions: vec![],
        files: vec![],
    })
    .await;
    assert_eq!(error(&mut back).await.code, ErrorCode::Forbidden);
    for frame in [
        ClientFrame::Read {
            room: notes,
            seq: 1,
        },
        ClientFrame::Typing {
            room: notes,
            on: true,
        },
        ClientFrame::View { room: Some(notes) },
    ] {
        back.send_frame(&frame).await;
        assert_eq!(
            error(&mut back).await.code,
            ErrorCode::Forbidden,
            "{frame:?}"
        );
    }
    let mut probe = server.connect(&desk.owner).await;
    probe
        .send_frame(&ClientFrame::Hello {
            rooms: vec![RoomCursor {
                room: notes,
                last_seq: 0,
            }],
        })
        .await;
    assert_eq!(error(&mut probe).await.code, ErrorCode::Forbidden);
    assert_eq!(
        server.history(&desk.owner, notes, 100, 50).await.status,
        403
    );
    let history = server.all_messages(&desk.owner, room).await;
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    let (status, _, _) = server
        .download(Some(&desk.owner), &format!("/files/{file}"))
        .await;
    assert_eq!(status, 404);
    let mentions = server
        .call(
            &desk.owner,
            "mentions",
            &[("room", &notes.to_string()), ("typed", "")],
        )
        .await;
    assert_eq!(mentions.status, 403);
    assert!(search_rooms(server, &desk.owner, "parcel-lost-depot")
        .await
        .is_empty());

    // Staff have it all: history, search, the `@` list (staff only).
    let held = server.all_messages(&desk.agent, notes).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].files.len(), 1);
    assert_eq!(held[0].reactions.len(), 1);
    assert_eq!(
        search_rooms(server, &desk.admin, "parcel-lost-depot").await,
        [notes]
    );
    let people: Vec<Person> = ok(server
        .call(
            &desk.agent,
            "mentions",
            &[("room", &notes.to_string()), ("typed", "")],
        )
        .await)
    .json_as();
    assert!(people.iter().all(|p| p.id != desk.owner_id));
    assert!(!people.is_empty());
    // A note is part of the record: not edited, not deleted.
    agent.edit(notes, 1, "changed").await;
    assert_eq!(error(&mut agent).await.code, ErrorCode::Forbidden);
    agent.delete(notes, 1).await;
    assert_eq!(error(&mut agent).await.code, ErrorCode::Forbidden);
}
both_backends!(a_note_never_reaches_the_member);

async fn notes_follow_the_conversations_staff(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let notes: i64 = ok(open_notes(&desk, &desk.admin, room).await).json_as();
    let mut admin = server.tab(&desk.admin).await;
    say(&mut admin, notes, "n1", "VIP customer, be kind").await;
    // Billing's agent has the notes; Technical's agent does not.
    let mut agent = server.tab(&desk.agent).await;
    assert!(agent.state.rooms.contains_key(&notes));
    assert_eq!(agent.summary(notes).unread, 1);
    let mut stranger = server.tab(&desk.stranger).await;
    assert!(!stranger.state.rooms.contains_key(&notes));
    assert_eq!(open_notes(&desk, &desk.stranger, room).await.status, 403);

    // Transferred to Technical: the notes go with the conversation.
    ok(desk.transfer(&desk.agent, room, desk.technical).await);
    room_removed(&mut agent, notes).await;
    room_added(&mut stranger, notes).await;
    assert_eq!(
        server.history(&desk.agent, notes, 100, 50).await.status,
        403
    );
    let held = server.all_messages(&desk.stranger, notes).await;
    assert_eq!(held.len(), 1);
    say(&mut stranger, notes, "n2", "took it over").await;
    admin.until_seq(notes, 2).await;
    agent.settle().await;
    assert!(agent
        .log
        .iter()
        .all(|f| !matches!(f, ServerFrame::Message(m) if m.room == notes && m.seq == 2)));

    // A role change: Technical's agent becomes a member and loses both.
    let stranger_id = server.me(&desk.stranger).await["id"].as_i64().unwrap();
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &stranger_id.to_string()), ("role", "member")],
        )
        .await);
    let relogged = desk.log_in("tess@example.com").await;
    assert_eq!(server.history(&relogged, notes, 100, 50).await.status, 403);
    let tab = server.tab(&relogged).await;
    assert!(!tab.state.rooms.contains_key(&notes));
    assert!(!tab.state.rooms.contains_key(&room));
}
both_backends!(notes_follow_the_conversations_staff);

/// One writer of the desk crash loop: sends `tag-1`, `tag-2`, … into `room`
/// one at a time, each after the previous was acknowledged, until `stop`
/// or the socket dies. A message in flight at a kill is resent (same id)
/// on the next round, as the browser's outbox does.
async fn write_until(
    mut tab: Tab,
    room: i64,
    tag: &'static str,
    mut sent: (u64, Option<u64>),
    stop: Arc<AtomicBool>,
) -> (u64, Option<u64>) {
    while !stop.load(Ordering::Relaxed) {
        let n = sent.1.unwrap_or(sent.0 + 1);
        sent.1 = Some(n);
        let id = format!("{tag}-{n}");
        let frame = ClientFrame::Send {
            room,
            client_id: id.clone(),
            body: format!("{tag} line {n}"),
            reply_to: None,
            mentions: vec![],
            files: vec![],
        };
        if tab.try_send_frame(&frame).await.is_err() {
            return sent;
        }
        loop {
            match tab.next_or_close().await {
                Some(ServerFrame::Ack(a)) if a.client_id == id => {
                    sent = (n, None);
                    break;
                }
                Some(ServerFrame::Error(e)) => panic!("{tag} refused: {e:?}"),
                Some(_) => continue,
                None => return sent,
            }
        }
    }
    sent
}

/// Staff resolve and reopen the conversation over HTTP until `stop`; a call
/// cut by the kill is simply lost (its line and event together, or neither).
async fn toggle_until(server: &TestServer, admin: &str, room: i64, stop: Arc<AtomicBool>) {
    let mut resolve = true;
    while !stop.load(Ordering::Relaxed) {
        let endpoint = if resolve { "resolve" } else { "reopen" };
        let _ = server
            .client
            .post(server.url(&format!("/api/support/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("glasschat_session={admin}"))
            .body(format!("room={room}"))
            .send()
            .await;
        resolve = !resolve;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The desk's crash loop: the member writes, staff write notes and resolve
/// and reopen, all at once, and the server is killed (SIGKILL) at a random
/// moment each round. Then: every acknowledged line stored once, both
/// rooms' seqs without a gap, the member's tab holding exactly its fresh
/// load and nothing of the notes, and one status event per status line.
async fn notes_and_status_lines_survive_kills(backend: Backend) {
    let desk = Desk::open(backend).await;
    let Desk {
        mut server,
        admin,
        owner,
        billing,
        ..
    } = desk;
    let room = ok(server
        .call(
            &owner,
            "support/contact",
            &[("department", &billing.to_string())],
        )
        .await)
    .json()
    .as_i64()
    .unwrap();
    let notes: i64 = ok(server
        .call(&admin, "support/notes", &[("room", &room.to_string())])
        .await)
    .json_as();
    // Sends as fast as acks come back: no send budget in the way.
    const FAST: &[(&str, &str)] = &[("GLASSCHAT_SEND_RATE", "1000000/1")];
    server = server.restart(FAST).await;
    let rounds: usize = std::env::var("GLASSCHAT_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let (mut member_sent, mut notes_sent) = ((0, None), (0, None));
    let mut held = ClientState::default();
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let mut reader = server.reconnect(&owner, held).await;
        reader.hello().await;
        let reading = tokio::spawn({
            let stop = stop.clone();
            async move {
                while !stop.load(Ordering::Relaxed) {
                    if reader.next_or_close().await.is_none() {
                        break;
                    }
                }
                reader
            }
        });
        let mut member = server.connect(&owner).await;
        member.hello_with(vec![]).await;
        let mut staff = server.connect(&admin).await;
        staff.hello_with(vec![]).await;
        let member_task = tokio::spawn(write_until(member, room, "m", member_sent, stop.clone()));
        let staff_task = tokio::spawn(write_until(staff, notes, "n", notes_sent, stop.clone()));
        let toggling = toggle_until(&server, &admin, room, stop.clone());
        let wait = Duration::from_millis(300 + (round as u64 * 211) % 500);
        tokio::select! {
            _ = toggling => {}
            _ = tokio::time::sleep(wait) => {}
        }
        server = server.restart(FAST).await;
        stop.store(true, Ordering::Relaxed);
        member_sent = member_task.await.expect("member");
        notes_sent = staff_task.await.expect("staff");
        held = reading.await.expect("reader").state;
    }
    // The lines in flight at the last kill go through now.
    for (cookie, target, tag, sent) in [
        (&owner, room, "m", &mut member_sent),
        (&admin, notes, "n", &mut notes_sent),
    ] {
        if let Some(n) = sent.1 {
            let mut tab = server.connect(cookie).await;
            tab.hello_with(vec![]).await;
            tab.say(target, &format!("{tag}-{n}"), &format!("{tag} line {n}"))
                .await;
            ack(&mut tab).await;
            *sent = (n, None);
        }
    }
    let db = &server.db;
    for (target, tag, acked) in [(room, "m", member_sent.0), (notes, "n", notes_sent.0)] {
        let stored = db
            .scalar(&format!(
                "SELECT COUNT(DISTINCT client_id) * 1000000 + COUNT(*) FROM messages
                 WHERE room_id = {target} AND client_id LIKE '{tag}-%'"
            ))
            .await;
        assert_eq!(
            stored,
            acked as i64 * 1_000_001,
            "{tag}: each acknowledged line once"
        );
        let (count, last) = (
            db.scalar(&format!(
                "SELECT COUNT(*) FROM messages WHERE room_id = {target}"
            ))
            .await,
            db.scalar(&format!("SELECT last_seq FROM rooms WHERE id = {target}"))
                .await,
        );
        assert_eq!(count, last, "room {target}: seqs 1..={last} without a gap");
    }
    // One status event per status line, and none without its line.
    let lines = server.all_messages(&admin, room).await;
    let status: Vec<i64> = lines
        .iter()
        .filter(|m| m.event.as_ref().and_then(|e| e.support_kind()).is_some())
        .map(|m| m.seq)
        .collect();
    let mut events = Vec::new();
    for seq in 1..=lines.last().map_or(0, |m| m.seq) {
        if db
            .scalar(&format!(
                "SELECT COUNT(*) FROM support_events WHERE room_id = {room} AND seq = {seq}"
            ))
            .await
            > 0
        {
            events.push(seq);
        }
    }
    assert_eq!(events, status, "status events match the status lines");
    assert!(
        status.len() >= 2,
        "the desk changed status through the kills"
    );
    println!(
        "desk crash loop: {rounds} kills; {} member lines, {} notes, {} status lines",
        member_sent.0,
        notes_sent.0,
        status.len()
    );
    // The member's tab catches up to exactly its fresh load, notes apart.
    let mut back = server.reconnect(&owner, held).await;
    back.hello().await;
    assert!(!back.state.rooms.contains_key(&notes));
    let mine = &back.state.rooms[&room];
    let first = mine.messages.keys().next().copied().unwrap_or(1);
    let fresh = server.all_messages(&owner, room).await;
    let want: Vec<_> = fresh.iter().filter(|m| m.seq >= first).collect();
    let have: Vec<_> = mine.messages.values().collect();
    assert_eq!(have, want, "the member holds what is stored");
    assert!(mine.messages.values().all(|m| !m.body.contains("n line")));
}
both_backends!(notes_and_status_lines_survive_kills);
