//! @mentions end to end, on SQLite and Postgres (issue 22): who a message
//! calls is fixed by the writer from the people the sender picked and the
//! text itself; each member's mention count sits beside their unread
//! count, exact live, after a delete and a read, and in the catch-up of a
//! tab that slept; `@room` calls a whole group and only a group; the `@`
//! list offers members only.

mod common;

use common::{ack, assert_matches_fresh, changed, Backend, TestServer};
use glasschat::realtime::protocol::{ClientFrame, Person, RoomCursor, ServerFrame, MAX_MENTIONS};

/// The user id behind a session (from the socket's welcome).
async fn id_of(server: &TestServer, cookie: &str) -> i64 {
    server.connect(cookie).await.state.user_id
}

async fn a_mention_counts_for_the_person_named_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let cyd = server.user("cyd@example.com").await;
    let eve = server.user("eve@example.com").await;
    let room = server
        .group(&ada, "Launch", &["bob@example.com", "cyd@example.com"])
        .await;
    let (bob_id, cyd_id, eve_id) = (
        id_of(&server, &bob).await,
        id_of(&server, &cyd).await,
        id_of(&server, &eve).await,
    );
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    let mut cyd_tab = server.tab(&cyd).await;
    // Cyd's second tab sleeps through what follows.
    let mut sleeper = server.connect(&cyd).await;
    sleeper
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    let kept = sleeper.state.clone();
    drop(sleeper);

    // Ada names Bob (picked from the list) and Cyd (picked, but her name
    // is not in the text: no one is called unseen), and Eve, who is not a
    // member.
    ada_tab
        .mention(
            room,
            "m-1",
            "@Bob can you look? cc @eve",
            &[bob_id, cyd_id, eve_id],
        )
        .await;
    let first = ack(&mut ada_tab).await.seq;
    for tab in [&mut ada_tab, &mut bob_tab, &mut cyd_tab] {
        tab.until_seq(room, first).await;
        let m = &tab.state.rooms[&room].messages[&first];
        assert_eq!(
            m.mentions,
            vec![Person {
                id: bob_id,
                name: "bob".into()
            }]
        );
        assert!(!m.mentions_room);
    }
    assert_eq!(
        (bob_tab.summary(room).unread, bob_tab.summary(room).mentions),
        (1, 1)
    );
    assert_eq!(
        (cyd_tab.summary(room).unread, cyd_tab.summary(room).mentions),
        (1, 0)
    );
    assert_eq!(
        ada_tab.summary(room).mentions,
        0,
        "the sender's own message"
    );

    // A plain message counts as unread, not as a mention.
    ada_tab.say(room, "m-2", "ship it").await;
    let second = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, second).await;
    assert_eq!(
        (bob_tab.summary(room).unread, bob_tab.summary(room).mentions),
        (2, 1)
    );

    // Editing the text does not call anyone new (as in Slack), nor uncall.
    ada_tab.edit(room, first, "@Cyd can you look?").await;
    changed(&mut bob_tab).await;
    let m = &bob_tab.state.rooms[&room].messages[&first];
    assert_eq!(
        m.mentions.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![bob_id]
    );
    assert_eq!(bob_tab.summary(room).mentions, 1);
    changed(&mut cyd_tab).await;
    assert_eq!(cyd_tab.summary(room).mentions, 0);

    // Deleted: no longer unread, no longer a mention, live.
    ada_tab.delete(room, first).await;
    changed(&mut bob_tab).await;
    assert_eq!(
        (bob_tab.summary(room).unread, bob_tab.summary(room).mentions),
        (1, 0)
    );
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // Another mention, then Bob reads up to it: both counts go to zero.
    ada_tab
        .mention(room, "m-3", "thanks @bob!", &[bob_id])
        .await;
    let third = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, third).await;
    assert_eq!(bob_tab.summary(room).mentions, 1);
    bob_tab
        .send_frame(&ClientFrame::Read { room, seq: third })
        .await;
    bob_tab
        .until(|f| matches!(f, ServerFrame::ReadMark { room: r, .. } if *r == room).then_some(()))
        .await;
    assert_eq!(bob_tab.summary(room).mentions, 0);
    assert_eq!(bob_tab.summary(room).unread, 0);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // The sleeper catches up to what a fresh load shows.
    let mut back = server.reconnect(&cyd, kept).await;
    back.hello().await;
    assert_matches_fresh(&server, &cyd, &mut back).await;
    assert_matches_fresh(&server, &ada, &mut ada_tab).await;
    server.stop().await;
}
both_backends!(a_mention_counts_for_the_person_named_only);

async fn room_calls_every_member_of_a_group_and_nobody_elsewhere(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let cyd = server.user("cyd@example.com").await;
    let room = server
        .group(&ada, "All hands", &["bob@example.com", "cyd@example.com"])
        .await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    let mut cyd_tab = server.tab(&cyd).await;
    ada_tab.say(room, "r-1", "@room standup in 5").await;
    let seq = ack(&mut ada_tab).await.seq;
    for tab in [&mut bob_tab, &mut cyd_tab] {
        tab.until_seq(room, seq).await;
        assert!(tab.state.rooms[&room].messages[&seq].mentions_room);
        assert_eq!(tab.summary(room).mentions, 1);
    }
    // A name beside `@room` is marked, but the message counts once.
    let bob_id = bob_tab.state.user_id;
    ada_tab
        .mention(room, "r-0", "@room and @bob especially", &[bob_id])
        .await;
    let seq = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, seq).await;
    let m = &bob_tab.state.rooms[&room].messages[&seq];
    assert!(m.mentions_room && m.mentions.iter().any(|p| p.id == bob_id));
    assert_eq!(bob_tab.summary(room).mentions, 2);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    // Deleting it takes one off.
    ada_tab.delete(room, seq).await;
    changed(&mut bob_tab).await;
    assert_eq!(bob_tab.summary(room).mentions, 1);
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;

    // "@roommate" is not `@room`.
    ada_tab.say(room, "r-2", "ask @roommate").await;
    let seq = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(room, seq).await;
    assert!(!bob_tab.state.rooms[&room].messages[&seq].mentions_room);
    assert_eq!(bob_tab.summary(room).mentions, 1);

    // In a direct chat `@room` is just text.
    let direct = server
        .call(&ada, "rooms/direct", &[("email", "bob@example.com")])
        .await;
    assert_eq!(direct.status, 200, "{}", direct.body);
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    let chat = *bob_tab
        .state
        .rooms
        .keys()
        .find(|r| **r != room)
        .expect("the direct chat");
    ada_tab.say(chat, "d-1", "@room hi").await;
    let seq = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(chat, seq).await;
    assert!(!bob_tab.state.rooms[&chat].messages[&seq].mentions_room);
    assert_eq!(bob_tab.summary(chat).mentions, 0);
    assert_eq!(
        server.db.scalar("SELECT COUNT(*) FROM mentions").await,
        3,
        "two @room rows and Bob's name, none for the direct chat"
    );
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    assert_matches_fresh(&server, &cyd, &mut cyd_tab).await;
    server.stop().await;
}
both_backends!(room_calls_every_member_of_a_group_and_nobody_elsewhere);

async fn too_many_names_are_refused_and_store_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    let many: Vec<i64> = (1..=MAX_MENTIONS as i64 + 1).collect();
    tab.mention(room, "x-1", "@everyone", &many).await;
    let e = common::error(&mut tab).await;
    assert_eq!(e.code, glasschat::realtime::protocol::ErrorCode::Invalid);
    assert!(e.message.contains("at most 50"), "{}", e.message);
    assert!(server.all_messages(&ada, room).await.is_empty());
    server.stop().await;
}
both_backends!(too_many_names_are_refused_and_store_nothing);

async fn the_at_list_offers_members_by_name_or_word(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    for (email, name) in [
        ("ann@example.com", "Ann Lovelace"),
        ("lou@example.com", "Lou Reed"),
        ("pct@example.com", "100% Sure"),
    ] {
        let reply = server.sign_up(email, name, "correct horse battery").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let outsider = server.user("lorna@example.com").await;
    let room = server
        .group(
            &ada,
            "Names",
            &["ann@example.com", "lou@example.com", "pct@example.com"],
        )
        .await;
    let room_text = room.to_string();
    let names = |typed: &'static str| {
        let (server, ada, room_text) = (&server, &ada, &room_text);
        async move {
            let reply = server
                .call(ada, "mentions", &[("room", room_text), ("typed", typed)])
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let people: Vec<Person> = serde_json::from_str(&reply.body).expect("people");
            people.into_iter().map(|p| p.name).collect::<Vec<_>>()
        }
    };
    // By the start of the name or of a later word, any case; never the
    // asker, never someone outside the room.
    assert_eq!(names("lo").await, vec!["Ann Lovelace", "Lou Reed"]);
    assert_eq!(names("LOVE").await, vec!["Ann Lovelace"]);
    assert_eq!(names("").await.len(), 3);
    assert!(names("ada").await.is_empty());
    // LIKE's wildcards are plain text.
    assert_eq!(names("100%").await, vec!["100% Sure"]);
    assert!(names("_").await.is_empty());
    // Outside the room: refused, nothing listed.
    let refused = server
        .call(
            &outsider,
            "mentions",
            &[("room", &room_text), ("typed", "")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Too long to be a name.
    let long = "x".repeat(65);
    let reply = server
        .call(&ada, "mentions", &[("room", &room_text), ("typed", &long)])
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    server.stop().await;
}
both_backends!(the_at_list_offers_members_by_name_or_word);

async fn looking_up_names_too_fast_is_slowed_down(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_LOOKUP_RATE", "3/60")]).await;
    let (ada, room, _tab) = server.alone_in_room("Notes").await;
    let room = room.to_string();
    for _ in 0..3 {
        let ok = server
            .call(&ada, "mentions", &[("room", &room), ("typed", "a")])
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
    let slowed = server
        .call(&ada, "mentions", &[("room", &room), ("typed", "a")])
        .await;
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    server.stop().await;
}
both_backends!(looking_up_names_too_fast_is_slowed_down);
