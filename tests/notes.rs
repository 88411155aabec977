//! Internal notes (the real binary, both databases, at socket level): a
//! note reaches the conversation's staff and never its member, by any way a
//! line travels (live, catch-up, history, search, previews, unread, typing,
//! files, the `@` list), and the member's seqs stay gap-free. The notes
//! follow the conversation's staff through a transfer and a role change.

mod common;

use std::time::Duration;

use common::desk::*;
use common::{ack, error, Backend, Tab, TestServer, INDEX_BEHIND};
use glasschat::model::SearchResults;
use glasschat::realtime::protocol::{ClientFrame, ErrorCode, Person, RoomCursor, ServerFrame};

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
