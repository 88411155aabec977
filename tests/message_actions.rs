//! Message actions (issue 22) end to end, on SQLite and Postgres: the real
//! binary, real sockets. A reply carries the quote of its original live, in
//! catch-up and in history, and a reply to nothing is refused with nothing
//! stored. Edits, deletes and reactions reach every tab once and in order,
//! live and in catch-up, and end where a fresh load ends; unread counts
//! only what a person would call unread; every refusal changes nothing.

mod common;

use common::{ack, assert_matches_fresh, changed, error, Backend, Tab, TestServer};
use glasschat::realtime::protocol::{
    ChangeKind, ClientFrame, ErrorCode, Quote, RoomCursor, ServerFrame,
};

async fn a_reply_quotes_its_original_everywhere(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    ada_tab
        .say(room, "q-1", "\n  Deploy at five?  \nsecond line")
        .await;
    let original = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, original).await;
    // Ada's second tab sleeps before the reply.
    let mut sleeper = server.connect(&ada).await;
    sleeper
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    sleeper.until_seq(room, original).await;
    let kept = sleeper.state.clone();
    drop(sleeper);

    bob_tab.reply(room, "r-1", "Yes, at five", original).await;
    let reply = ack(&mut bob_tab).await;
    let expected = Quote {
        seq: original,
        sender_name: "ada".into(),
        text: "Deploy at five?".into(),
        gone: false,
    };
    // Live, to every member's tab, the sender's too.
    for tab in [&mut ada_tab, &mut bob_tab] {
        tab.until_seq(room, reply.seq).await;
        let m = &tab.state.rooms[&room].messages[&reply.seq];
        assert_eq!(m.reply.as_ref(), Some(&expected));
        assert_eq!(m.body, "Yes, at five");
    }
    // A resend is the same reply, once.
    bob_tab.reply(room, "r-1", "Yes, at five", original).await;
    assert_eq!(ack(&mut bob_tab).await, reply);
    // In catch-up after the sleep, and in history.
    let mut back = server.reconnect(&ada, kept).await;
    back.hello().await;
    assert_eq!(
        back.state.rooms[&room].messages[&reply.seq].reply.as_ref(),
        Some(&expected)
    );
    let stored = server.all_messages(&ada, room).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].reply.as_ref(), Some(&expected));
    assert!(stored[0].reply.is_none());
    assert_matches_fresh(&server, &ada, &mut back).await;
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // The original's long first line is cut in the quote.
    let long = "x".repeat(300);
    ada_tab.say(room, "q-2", &long).await;
    let long_seq = ack(&mut ada_tab).await.seq;
    bob_tab.reply(room, "r-2", "ok", long_seq).await;
    let seq = ack(&mut bob_tab).await.seq;
    bob_tab.until_seq(room, seq).await;
    let quote = bob_tab.state.rooms[&room].messages[&seq]
        .reply
        .clone()
        .unwrap();
    assert_eq!(
        quote.text.chars().count(),
        101,
        "100 characters and an ellipsis"
    );

    // An original deleted later is quoted as gone: live, and in history.
    ada_tab.delete(room, original).await;
    changed(&mut bob_tab).await;
    assert_eq!(
        bob_tab.state.rooms[&room].messages[&reply.seq].reply,
        Some(Quote::gone(original))
    );
    let stored = server.all_messages(&ada, room).await;
    let reply_row = stored.iter().find(|m| m.seq == reply.seq).unwrap();
    assert_eq!(reply_row.reply, Some(Quote::gone(original)));
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    server.stop().await;
}
both_backends!(a_reply_quotes_its_original_everywhere);

async fn a_reply_to_nothing_is_refused_and_stores_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    tab.say(room, "m-1", "hello").await;
    let first = ack(&mut tab).await.seq;
    for (n, target) in [(1, 0), (2, -5), (3, first + 1), (4, 999_999)] {
        let id = format!("bad-{n}");
        tab.reply(room, &id, "into the void", target).await;
        let e = error(&mut tab).await;
        assert_eq!(e.code, ErrorCode::Invalid, "reply_to {target}");
        assert_eq!(e.client_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.room, Some(room));
    }
    // Nothing was stored, and no seq was used up.
    assert_eq!(server.all_messages(&ada, room).await.len(), 1);
    tab.reply(room, "good", "a real reply", first).await;
    assert_eq!(ack(&mut tab).await.seq, first + 1);

    // Someone outside the room gets the same refusal whether or not the
    // message exists: no way to probe a room's seqs.
    let eve = server.user("eve@example.com").await;
    let mut eve_tab = server.tab(&eve).await;
    for (n, target) in [(1, first), (2, 999_999)] {
        eve_tab
            .reply(room, &format!("eve-{n}"), "let me in", target)
            .await;
        assert_eq!(error(&mut eve_tab).await.code, ErrorCode::Forbidden);
    }
    eve_tab.settle().await;
    assert!(!eve_tab
        .log
        .iter()
        .any(|f| matches!(f, ServerFrame::Message(m) if m.room == room)));
    assert_eq!(server.all_messages(&ada, room).await.len(), 2);
    server.stop().await;
}
both_backends!(a_reply_to_nothing_is_refused_and_stores_nothing);

/// The room's seq as the database has it.
async fn last_seq(server: &TestServer, room: i64) -> i64 {
    server
        .db
        .scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
        .await
}

/// Everyone's tabs see each edit, reaction and delete once, in order; a
/// tab asleep through all of it catches up to exactly what a fresh load
/// shows; the old text is gone from the database.
async fn edits_deletes_and_reactions_reach_every_tab_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    ada_tab.say(room, "a-1", "Deploy at fiev").await;
    let first = ack(&mut ada_tab).await.seq;
    ada_tab.say(room, "a-2", "wrong chat, sorry").await;
    let second = ack(&mut ada_tab).await.seq;
    bob_tab.reply(room, "b-1", "which one?", second).await;
    let reply = ack(&mut bob_tab).await.seq;
    ada_tab.until_seq(room, reply).await;
    // Bob's second tab sleeps through everything that follows.
    let mut sleeper = server.connect(&bob).await;
    sleeper
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    let kept = sleeper.state.clone();
    drop(sleeper);
    // An edit.
    ada_tab.edit(room, first, "Deploy at five").await;
    let mut seqs = Vec::new();
    for tab in [&mut ada_tab, &mut bob_tab] {
        let c = changed(tab).await;
        assert_eq!((c.change, c.message.seq), (ChangeKind::Edited, first));
        assert_eq!(c.message.body, "Deploy at five");
        assert!(c.message.edited_at.is_some());
        seqs.push(c.seq);
    }
    assert_eq!(seqs[0], seqs[1]);
    assert_eq!(seqs[0], reply + 1, "a change takes the room's next seq");
    // The same edit again changes nothing and uses no seq.
    ada_tab.edit(room, first, "Deploy at five").await;
    // Reactions: two people, the same emoji; a second emoji; one taken back;
    // a repeated reaction is one reaction.
    bob_tab.react(room, first, "👍", true).await;
    // Ada reacts once she has seen Bob's: reactions are listed in the order
    // the room's sequence added them, and two sockets' frames race.
    changed(&mut ada_tab).await;
    ada_tab.react(room, first, "👍", true).await;
    bob_tab.react(room, first, "🎉", true).await;
    bob_tab.react(room, first, "👍", true).await;
    bob_tab.react(room, first, "🎉", false).await;
    bob_tab.react(room, first, "🎉", false).await;
    // A delete: the reply's quote says so.
    ada_tab.delete(room, second).await;
    let mut kinds = Vec::new();
    for _ in 0..5 {
        let c = changed(&mut bob_tab).await;
        kinds.push((c.change, c.seq));
    }
    // Bob's and Ada's frames race each other, so only the seqs' order is
    // fixed: consecutive, each once.
    let base = seqs[0];
    let got: Vec<i64> = kinds.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(got, (base + 1..=base + 5).collect::<Vec<_>>());
    let deletes = kinds
        .iter()
        .filter(|(kind, _)| *kind == ChangeKind::Deleted)
        .count();
    assert_eq!(
        deletes, 1,
        "four reactions, one delete: repeats change nothing"
    );
    assert_eq!(last_seq(&server, room).await, base + 5);
    let shown = &bob_tab.state.rooms[&room].messages;
    let reactions = &shown[&first].reactions;
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].emoji, "👍");
    let who: Vec<&str> = reactions[0].users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(who, vec!["bob", "ada"]);
    assert!(shown[&second].deleted);
    assert_eq!(shown[&second].body, "");
    assert_eq!(shown[&reply].reply, Some(Quote::gone(second)));
    assert_eq!(
        bob_tab.state.rooms[&room]
            .summary
            .last
            .as_ref()
            .map(|m| m.seq),
        Some(reply),
        "the preview is still the newest message"
    );

    // In the database: the edit sealed anew (a fresh nonce under the
    // current key), the deleted body gone.
    let resealed: i64 = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM messages WHERE room_id = {room} AND seq = {first} AND edited_at IS NOT NULL AND key_id IS NOT NULL"
        ))
        .await;
    assert_eq!(resealed, 1);
    let tombstone: i64 = server
        .db
        .scalar(&format!(
            "SELECT CAST(LENGTH(body) AS BIGINT) FROM messages WHERE room_id = {room} AND seq = {second} AND deleted_at IS NOT NULL AND key_id IS NULL"
        ))
        .await;
    assert_eq!(tombstone, 0, "the deleted body is gone");

    // The sleeper catches up: every change once, in order, ending where a
    // fresh load ends.
    let mut back = server.reconnect(&bob, kept).await;
    back.hello().await;
    let caught: Vec<i64> = back
        .log
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Changed(c) => Some(c.seq),
            _ => None,
        })
        .collect();
    assert_eq!(caught, (base..=base + 5).collect::<Vec<_>>());
    assert_matches_fresh(&server, &bob, &mut back).await;
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    assert_matches_fresh(&server, &ada, &mut ada_tab).await;
    server.stop().await;
}
both_backends!(edits_deletes_and_reactions_reach_every_tab_once);

fn unread(tab: &Tab, room: i64) -> i64 {
    tab.state.rooms[&room].summary.unread
}

/// Unread counts other people's text messages above the read mark that are
/// still there: not edits, reactions, system lines or your own; a deleted
/// unread message stops counting, on the tab and in a fresh count.
async fn unread_counts_what_a_person_would_call_unread(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "General", &["bob@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    let mut seqs = Vec::new();
    for n in 0..4 {
        ada_tab
            .say(room, &format!("a-{n}"), &format!("news {n}"))
            .await;
        seqs.push(ack(&mut ada_tab).await.seq);
    }
    bob_tab.until_seq(room, seqs[3]).await;
    assert_eq!(unread(&bob_tab, room), 4);
    assert_eq!(
        unread(&ada_tab, room),
        0,
        "your own messages are not unread"
    );
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // An edit and a reaction are not new messages.
    ada_tab.edit(room, seqs[0], "news 0, corrected").await;
    changed(&mut bob_tab).await;
    ada_tab.react(room, seqs[1], "👀", true).await;
    changed(&mut bob_tab).await;
    assert_eq!(unread(&bob_tab, room), 4);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // A deleted unread message stops counting; a system line never counts.
    ada_tab.delete(room, seqs[2]).await;
    changed(&mut bob_tab).await;
    assert_eq!(unread(&bob_tab, room), 3);
    ok_call(&server, &ada, "rooms/rename", room, &[("name", "News")]).await;
    bob_tab
        .until(|f| matches!(f, ServerFrame::Message(m) if m.room == room).then_some(()))
        .await;
    assert_eq!(unread(&bob_tab, room), 3);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // Reading up to the second message leaves the fourth (the third is
    // deleted); deleting one below the mark changes nothing.
    bob_tab
        .send_frame(&ClientFrame::Read { room, seq: seqs[1] })
        .await;
    bob_tab
        .until(|f| matches!(f, ServerFrame::ReadMark { room: r, .. } if *r == room).then_some(()))
        .await;
    assert_eq!(unread(&bob_tab, room), 1);
    ada_tab.delete(room, seqs[0]).await;
    changed(&mut bob_tab).await;
    assert_eq!(unread(&bob_tab, room), 1);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    ada_tab.delete(room, seqs[3]).await;
    changed(&mut bob_tab).await;
    assert_eq!(unread(&bob_tab, room), 0);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // A clear leaves nothing unread; what comes after counts again.
    ada_tab.say(room, "a-9", "after").await;
    ack(&mut ada_tab).await;
    ok_call(&server, &ada, "rooms/clear", room, &[]).await;
    ada_tab.say(room, "a-10", "fresh start").await;
    let last = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, last).await;
    assert_eq!(unread(&bob_tab, room), 1);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    server.stop().await;
}
both_backends!(unread_counts_what_a_person_would_call_unread);

async fn ok_call(
    server: &TestServer,
    cookie: &str,
    endpoint: &str,
    room: i64,
    extra: &[(&str, &str)],
) {
    let room = room.to_string();
    let mut form = vec![("room", room.as_str())];
    form.extend_from_slice(extra);
    let reply = server.call(cookie, endpoint, &form).await;
    assert_eq!(reply.status, 200, "{endpoint}: {}", reply.body);
}

/// Only the author edits; the author, the group's owner or an admin
/// deletes; only members react. Bad input and actions on messages that are
/// not there get a clear error, and nothing changes: no seq is used.
async fn refused_changes_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await; // the first account: admin
    let bob = server.user("bob@example.com").await;
    let cy = server.user("cy@example.com").await;
    let eve = server.user("eve@example.com").await;
    let room = server
        .group(&bob, "Bob's", &["ada@example.com", "cy@example.com"])
        .await;
    let mut bob_tab = server.tab(&bob).await;
    let mut cy_tab = server.tab(&cy).await;
    let mut ada_tab = server.tab(&ada).await;
    cy_tab.say(room, "c-1", "cy's words").await;
    let cys = ack(&mut cy_tab).await.seq;
    bob_tab.say(room, "b-1", "bob's words").await;
    let bobs = ack(&mut bob_tab).await.seq;
    ada_tab.until_seq(room, bobs).await;
    let before = last_seq(&server, room).await;
    let stored = server.all_messages(&bob, room).await;

    let eve_tab = server.tab(&eve).await;
    let long = "x".repeat(10_001);
    const EVE: usize = 0;
    const BOB: usize = 1;
    const ADA: usize = 2;
    const CY: usize = 3;
    let mut tabs = [eve_tab, bob_tab, ada_tab, cy_tab];
    let refusals: Vec<(usize, ClientFrame, ErrorCode)> = vec![
        // Not a member: the same answer whether or not the message exists.
        (
            EVE,
            ClientFrame::Edit {
                room,
                seq: cys,
                body: "mine".into(),
            },
            ErrorCode::Forbidden,
        ),
        (
            EVE,
            ClientFrame::Delete { room, seq: cys },
            ErrorCode::Forbidden,
        ),
        (
            EVE,
            ClientFrame::Delete { room, seq: 999 },
            ErrorCode::Forbidden,
        ),
        (
            EVE,
            ClientFrame::React {
                room,
                seq: cys,
                emoji: "👍".into(),
                on: true,
            },
            ErrorCode::Forbidden,
        ),
        // Someone else's message.
        (
            BOB,
            ClientFrame::Edit {
                room,
                seq: cys,
                body: "owner edit".into(),
            },
            ErrorCode::Forbidden,
        ),
        (
            ADA,
            ClientFrame::Edit {
                room,
                seq: cys,
                body: "admin edit".into(),
            },
            ErrorCode::Forbidden,
        ),
        (
            CY,
            ClientFrame::Delete { room, seq: bobs },
            ErrorCode::Forbidden,
        ),
        // Bad input.
        (
            CY,
            ClientFrame::Edit {
                room,
                seq: cys,
                body: "  ".into(),
            },
            ErrorCode::Invalid,
        ),
        (
            CY,
            ClientFrame::Edit {
                room,
                seq: cys,
                body: long,
            },
            ErrorCode::Invalid,
        ),
        (
            CY,
            ClientFrame::React {
                room,
                seq: cys,
                emoji: "yes".into(),
                on: true,
            },
            ErrorCode::Invalid,
        ),
        (
            CY,
            ClientFrame::React {
                room,
                seq: cys,
                emoji: "👍👍".into(),
                on: true,
            },
            ErrorCode::Invalid,
        ),
        (CY, ClientFrame::Delete { room, seq: 0 }, ErrorCode::Invalid),
        // No such message, or not a message (the group's creation line).
        (
            CY,
            ClientFrame::Edit {
                room,
                seq: 999,
                body: "x".into(),
            },
            ErrorCode::NotFound,
        ),
        (
            CY,
            ClientFrame::React {
                room,
                seq: 999,
                emoji: "👍".into(),
                on: true,
            },
            ErrorCode::NotFound,
        ),
    ];
    for (who, frame, code) in refusals {
        let tab = &mut tabs[who];
        let (frame_room, frame_seq) = match &frame {
            ClientFrame::Edit { room, seq, .. }
            | ClientFrame::Delete { room, seq }
            | ClientFrame::React { room, seq, .. } => (*room, *seq),
            _ => unreachable!(),
        };
        tab.send_frame(&frame).await;
        let e = error(tab).await;
        assert_eq!(e.code, code, "{frame:?}: {}", e.message);
        assert_eq!((e.room, e.seq), (Some(frame_room), Some(frame_seq)));
        assert!(!e.message.contains("cy's words"));
    }
    let [mut eve_tab, mut bob_tab, mut ada_tab, mut cy_tab] = tabs;
    assert_eq!(last_seq(&server, room).await, before, "no seq used");
    assert_eq!(
        server.all_messages(&bob, room).await,
        stored,
        "nothing changed"
    );
    eve_tab.settle().await;
    assert!(eve_tab
        .log
        .iter()
        .all(|f| !matches!(f, ServerFrame::Changed(_) | ServerFrame::Message(_))));

    // A deleted message takes no more changes.
    bob_tab.delete(room, cys).await; // the group's owner
    assert_eq!(changed(&mut cy_tab).await.change, ChangeKind::Deleted);
    let after_delete = last_seq(&server, room).await;
    for frame in [
        ClientFrame::Edit {
            room,
            seq: cys,
            body: "back".into(),
        },
        ClientFrame::Delete { room, seq: cys },
        ClientFrame::React {
            room,
            seq: cys,
            emoji: "👍".into(),
            on: true,
        },
    ] {
        cy_tab.send_frame(&frame).await;
        assert_eq!(
            error(&mut cy_tab).await.code,
            ErrorCode::NotFound,
            "{frame:?}"
        );
    }
    assert_eq!(last_seq(&server, room).await, after_delete);
    // An admin may delete in a group too.
    ada_tab.delete(room, bobs).await;
    bob_tab
        .until(|f| {
            matches!(f, ServerFrame::Changed(c) if c.message.seq == bobs && c.message.deleted)
                .then_some(())
        })
        .await;
    server.stop().await;
}
both_backends!(refused_changes_change_nothing);
