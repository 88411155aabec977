//! Message actions (issue 22) end to end, on SQLite and Postgres: the real
//! binary, real sockets. Replies so far: a reply carries the quote of its
//! original live, in catch-up and in history, and a reply to nothing is
//! refused with nothing stored.

mod common;

use common::{ack, assert_matches_fresh, error, Backend, TestServer};
use glasschat::realtime::protocol::{ErrorCode, Quote, RoomCursor, ServerFrame};

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

    // An original that is no longer there is quoted as gone (the row is
    // removed here by hand; deleting single messages comes with issue 22).
    server
        .db
        .execute(&format!(
            "DELETE FROM messages WHERE room_id = {room} AND seq = {original}"
        ))
        .await;
    let stored = server.all_messages(&ada, room).await;
    let reply_row = stored.iter().find(|m| m.seq == reply.seq).unwrap();
    assert_eq!(reply_row.reply, Some(Quote::gone(original)));
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
