//! Conversations end to end (the real binary, real sockets, both
//! databases): direct chats and invitations, hide, clear, and group
//! membership with its effect on open sockets.

mod common;

use common::{ack, assert_matches_fresh, error, Backend, Tab, TestServer};
use glasschat::api::error::ApiError;
use glasschat::model::{DirectOutcome, MemberView};
use glasschat::realtime::protocol::{ErrorCode, RoomKind, ServerFrame, SystemEvent};

impl TestServer {
    async fn direct(&self, cookie: &str, email: &str) -> DirectOutcome {
        let reply = self.call(cookie, "rooms/direct", &[("email", email)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("outcome")
    }

    async fn direct_room(&self, cookie: &str, email: &str) -> i64 {
        match self.direct(cookie, email).await {
            DirectOutcome::Room(room) => room,
            other => panic!("expected a room, got {other:?}"),
        }
    }

    async fn members(&self, cookie: &str, room: i64) -> Vec<MemberView> {
        let reply = self
            .call(cookie, "rooms/members", &[("room", &room.to_string())])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("members")
    }

    /// Calls an endpoint about `room` and returns the HTTP status.
    async fn on_room(&self, cookie: &str, endpoint: &str, room: i64, more: &[(&str, &str)]) -> u16 {
        let room = room.to_string();
        let mut form = vec![("room", room.as_str())];
        form.extend_from_slice(more);
        self.call(cookie, endpoint, &form).await.status
    }
}

/// The first account is an admin; these scenarios want ordinary members,
/// so an admin account is made first and returned.
async fn with_admin(server: &TestServer) -> String {
    server.user("root@example.com").await
}

async fn room_added(tab: &mut Tab) -> glasschat::realtime::protocol::RoomSummary {
    tab.until(|f| match f {
        ServerFrame::RoomAdded(s) => Some(s.clone()),
        _ => None,
    })
    .await
}

async fn direct_chats_are_reused_and_validated(backend: Backend) {
    let server = TestServer::start(backend).await;
    with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let mut bob_tab = server.tab(&bob).await;

    let room = server.direct_room(&ada, "Bob@Example.com ").await;
    let added = room_added(&mut bob_tab).await;
    assert_eq!(added.room, room);
    assert_eq!(added.kind, RoomKind::Direct);
    assert_eq!(added.name, "ada", "named after the other person");
    assert_eq!(added.peer_email.as_deref(), Some("ada@example.com"));

    assert_eq!(server.direct_room(&ada, "bob@example.com").await, room);
    assert_eq!(server.direct_room(&bob, "ada@example.com").await, room);
    // Two quick clicks: still one room (a unique key, not a check in code).
    let (a, b) = tokio::join!(
        server.direct_room(&bob, "ada@example.com"),
        server.direct_room(&ada, "bob@example.com")
    );
    assert_eq!((a, b), (room, room));
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM rooms WHERE kind = 'direct'")
            .await,
        1
    );

    let me = server
        .call(&ada, "rooms/direct", &[("email", "ada@example.com")])
        .await;
    assert_eq!(me.status, 422, "{}", me.body);
    let err: ApiError = serde_json::from_str(&me.body).unwrap();
    assert_eq!(err, ApiError::InviteSelf);
    assert!(err.to_string().contains("your own email"));
    let bad = server
        .call(&ada, "rooms/direct", &[("email", "not an email")])
        .await;
    assert_eq!(bad.status, 422);
    let err: ApiError = serde_json::from_str(&bad.body).unwrap();
    assert_eq!(err.to_string(), "Enter a valid email address.");
    let anon = server
        .post_form("/api/rooms/direct", &[("email", "bob@example.com")], None)
        .await;
    assert_eq!(anon.status, 401);

    let mut ada_tab = server.tab(&ada).await;
    ada_tab.say(room, "d-1", "hi bob").await;
    assert_eq!(ack(&mut ada_tab).await.seq, 1);
    bob_tab.until_seq(room, 1).await;
    assert_matches_fresh(&server, &bob, &mut bob_tab).await;
}

async fn an_invitation_becomes_a_chat_at_sign_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let mut ada_tab = server.tab(&ada).await;

    let invited = match server.direct(&ada, "carol+x@example.com").await {
        DirectOutcome::Invited(inv) => inv,
        other => panic!("expected an invitation, got {other:?}"),
    };
    assert_eq!(invited.email, "carol+x@example.com");
    let (link, token) = invited
        .signup_link
        .split_once("&invite=")
        .expect("the link carries the invitation's token");
    assert!(
        link.ends_with("/signup?email=carol%2Bx%40example.com"),
        "{}",
        invited.signup_link
    );
    assert!(token.len() >= 40, "{token}");
    // Asking twice keeps one invitation, with the same link.
    server.direct(&ada, "carol+x@example.com").await;
    let list = server.call(&ada, "rooms/invitations", &[]).await;
    let pending: Vec<glasschat::model::InvitationView> = serde_json::from_str(&list.body).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].signup_link, invited.signup_link);

    // Carol signs up through the link (the sign-up form carries its token).
    let signed_up = server
        .sign_up_invited("carol+x@example.com", "carol", token)
        .await;
    assert_eq!(signed_up.status, 200, "{}", signed_up.body);
    let carol = signed_up.session();
    let added = room_added(&mut ada_tab).await;
    assert_eq!(added.kind, RoomKind::Direct);
    assert_eq!(added.peer_email.as_deref(), Some("carol+x@example.com"));
    let list = server.call(&ada, "rooms/invitations", &[]).await;
    assert_eq!(list.body, "[]", "the invitation is done");

    let mut carol_tab = server.tab(&carol).await;
    assert!(carol_tab.state.rooms.contains_key(&added.room));
    assert_eq!(carol_tab.summary(added.room).name, "ada");
    ada_tab.say(added.room, "i-1", "welcome!").await;
    ack(&mut ada_tab).await;
    carol_tab.until_seq(added.room, 1).await;
}

async fn hide_removes_my_chat_until_the_next_message(backend: Backend) {
    let server = TestServer::start(backend).await;
    with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.direct_room(&ada, "bob@example.com").await;
    let mut ada1 = server.tab(&ada).await;
    let mut ada2 = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    bob_tab.say(room, "h-1", "first").await;
    ack(&mut bob_tab).await;

    assert_eq!(
        server
            .on_room(&ada, "rooms/hide", room, &[("hidden", "true")])
            .await,
        200
    );
    for tab in [&mut ada1, &mut ada2] {
        tab.until(|f| matches!(f, ServerFrame::RoomUpdated(s) if s.hidden).then_some(()))
            .await;
        assert!(tab.state.sidebar().is_empty(), "gone from my sidebar");
    }
    assert!(!bob_tab.summary(room).hidden, "only mine");
    assert_eq!(
        server.all_messages(&ada, room).await.len(),
        1,
        "history stays"
    );

    bob_tab.say(room, "h-2", "are you there?").await;
    ack(&mut bob_tab).await;
    for tab in [&mut ada1, &mut ada2] {
        tab.until_seq(room, 2).await;
        assert_eq!(tab.state.sidebar().len(), 1, "back on a new message");
        assert_matches_fresh(&server, &ada, tab).await;
    }

    // Hidden again, then brought back by starting the chat again.
    server
        .on_room(&ada, "rooms/hide", room, &[("hidden", "true")])
        .await;
    ada1.until(|f| matches!(f, ServerFrame::RoomUpdated(s) if s.hidden).then_some(()))
        .await;
    assert_eq!(server.direct_room(&ada, "bob@example.com").await, room);
    ada1.until(|f| matches!(f, ServerFrame::RoomUpdated(s) if !s.hidden).then_some(()))
        .await;
    assert_matches_fresh(&server, &ada, &mut ada1).await;

    let carl = server.user("carl@example.com").await;
    assert_eq!(
        server
            .on_room(&carl, "rooms/hide", room, &[("hidden", "true")])
            .await,
        403
    );
}

async fn clear_deletes_every_row_for_everyone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "Team", &["bob@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob1 = server.tab(&bob).await;
    let mut bob2 = server.tab(&bob).await;
    for i in 1..=3 {
        ada_tab
            .say(room, &format!("c-{i}"), &format!("secret {i}"))
            .await;
        ack(&mut ada_tab).await;
    }
    bob1.until_seq(room, 3).await;
    assert_eq!(bob1.summary(room).unread, 3);
    let count = format!("SELECT COUNT(*) FROM messages WHERE room_id = {room}");

    // A plain member of a group may not clear it.
    assert_eq!(server.on_room(&bob, "rooms/clear", room, &[]).await, 403);
    assert_eq!(server.db.scalar(&count).await, 3);

    assert_eq!(server.on_room(&ada, "rooms/clear", room, &[]).await, 200);
    assert_eq!(
        server.db.scalar(&count).await,
        1,
        "the rows are gone; only the system line is left"
    );
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM messages WHERE room_id = {room} AND kind = 'text'"
            ))
            .await,
        0
    );
    for tab in [&mut ada_tab, &mut bob1, &mut bob2] {
        tab.until_seq(room, 4).await;
        tab.settle().await;
        let held = &tab.state.rooms[&room].messages;
        assert_eq!(
            held.keys().copied().collect::<Vec<_>>(),
            vec![4],
            "the pane empties live"
        );
        assert_eq!(
            held[&4].event,
            Some(SystemEvent::Cleared { by: "ada".into() })
        );
        assert_eq!(held[&4].body, "ada cleared the history");
        assert_eq!(tab.summary(room).unread, 0);
    }
    let history = server.all_messages(&bob, room).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].seq, 4);

    // Seqs keep counting after a clear.
    ada_tab.say(room, "c-after", "fresh start").await;
    assert_eq!(ack(&mut ada_tab).await.seq, 5);
    bob1.until_seq(room, 5).await;
    assert_matches_fresh(&server, &bob, &mut bob1).await;

    // An admin who is not in the group may clear it; an outsider may not.
    let outsider = server.user("out@example.com").await;
    assert_eq!(
        server.on_room(&outsider, "rooms/clear", room, &[]).await,
        403
    );
    assert_eq!(server.on_room(&root, "rooms/clear", room, &[]).await, 200);
    bob1.until_seq(room, 6).await;
    assert_eq!(bob1.state.rooms[&room].messages.len(), 1);

    // Either side of a direct chat may clear it.
    let direct = server.direct_room(&ada, "bob@example.com").await;
    bob1.say(direct, "d-1", "psst").await;
    ack(&mut bob1).await;
    assert_eq!(server.on_room(&bob, "rooms/clear", direct, &[]).await, 200);
    ada_tab.until_seq(direct, 2).await;
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM messages WHERE room_id = {direct} AND kind = 'text'"
            ))
            .await,
        0
    );
}

async fn a_catch_up_after_a_clear_drops_the_old_messages(backend: Backend) {
    let server = TestServer::start(backend).await;
    with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.direct_room(&ada, "bob@example.com").await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;
    ada_tab.say(room, "o-1", "one").await;
    ack(&mut ada_tab).await;
    bob_tab.until_seq(room, 1).await;
    let offline = bob_tab.state.clone();
    drop(bob_tab);

    server.on_room(&ada, "rooms/clear", room, &[]).await;
    let mut back = server.reconnect(&bob, offline).await;
    back.hello().await;
    assert_eq!(
        back.state.rooms[&room]
            .messages
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![2],
        "the catch-up carries the clear"
    );
    assert_matches_fresh(&server, &bob, &mut back).await;
}

async fn group_membership_follows_open_sockets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let root = with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let carl = server.user("carl@example.com").await;
    let mut bob_tab = server.tab(&bob).await;
    let mut carl_tab = server.tab(&carl).await;

    let room = server.group(&ada, "Plans", &["bob@example.com"]).await;
    assert_eq!(room_added(&mut bob_tab).await.name, "Plans");
    let mut ada_tab = server.tab(&ada).await;
    assert!(ada_tab.summary(room).owner);
    assert!(!bob_tab.summary(room).owner);

    // Only the owner (or an admin) manages the group.
    assert_eq!(
        server
            .on_room(&bob, "rooms/add", room, &[("members", "carl@example.com")])
            .await,
        403
    );
    assert_eq!(
        server
            .on_room(&bob, "rooms/rename", room, &[("name", "Mine")])
            .await,
        403
    );
    let bob_id = server.me(&bob).await["id"].as_i64().unwrap();
    let carl_id = server.me(&carl).await["id"].as_i64().unwrap();
    let ada_id = server.me(&ada).await["id"].as_i64().unwrap();
    assert_eq!(
        server
            .on_room(
                &bob,
                "rooms/remove",
                room,
                &[("user_id", &ada_id.to_string())]
            )
            .await,
        403
    );
    assert_eq!(
        server
            .on_room(
                &ada,
                "rooms/add",
                room,
                &[("members", "nobody@example.com")]
            )
            .await,
        422,
        "unknown emails are reported"
    );

    assert_eq!(
        server
            .on_room(&ada, "rooms/add", room, &[("members", "carl@example.com")])
            .await,
        200
    );
    let added = room_added(&mut carl_tab).await;
    assert_eq!(added.room, room);
    let line = ada_tab
        .until(|f| match f {
            ServerFrame::Message(m) if m.room == room => m.event.clone(),
            _ => None,
        })
        .await;
    assert_eq!(
        line,
        SystemEvent::Added {
            by: "ada".into(),
            names: vec!["carl".into()]
        }
    );
    carl_tab.until_seq(room, 1).await;

    assert_eq!(
        server
            .on_room(&ada, "rooms/rename", room, &[("name", "Big plans")])
            .await,
        200
    );
    for tab in [&mut bob_tab, &mut carl_tab] {
        tab.until(|f| {
            matches!(f, ServerFrame::RoomUpdated(s) if s.name == "Big plans").then_some(())
        })
        .await;
    }
    let names: Vec<String> = server
        .members(&carl, room)
        .await
        .into_iter()
        .map(|m| m.display_name)
        .collect();
    assert_eq!(names, vec!["ada", "bob", "carl"]);

    // Removing bob stops his open socket at once.
    assert_eq!(
        server
            .on_room(
                &ada,
                "rooms/remove",
                room,
                &[("user_id", &bob_id.to_string())]
            )
            .await,
        200
    );
    bob_tab
        .until(|f| matches!(f, ServerFrame::RoomRemoved { room: r } if *r == room).then_some(()))
        .await;
    assert!(!bob_tab.state.rooms.contains_key(&room));
    ada_tab.say(room, "after-bob", "bob cannot see this").await;
    let seq = ack(&mut ada_tab).await.seq;
    carl_tab.until_seq(room, seq).await;
    bob_tab.settle().await;
    assert!(
        !bob_tab
            .log
            .iter()
            .any(|f| matches!(f, ServerFrame::Message(m) if m.seq == seq && m.room == room)),
        "nothing reaches a removed member"
    );
    assert_eq!(server.history(&bob, room, i64::MAX, 50).await.status, 403);
    assert_eq!(server.on_room(&bob, "rooms/members", room, &[]).await, 403);
    bob_tab.say(room, "sneak", "let me in").await;
    assert_eq!(error(&mut bob_tab).await.code, ErrorCode::Forbidden);
    let fresh_bob = server.tab(&bob).await;
    assert!(!fresh_bob.state.rooms.contains_key(&room));

    // Anyone may leave; an owner who leaves hands the group on.
    assert_eq!(server.on_room(&ada, "rooms/leave", room, &[]).await, 200);
    ada_tab
        .until(|f| matches!(f, ServerFrame::RoomRemoved { .. }).then_some(()))
        .await;
    carl_tab
        .until(|f| matches!(f, ServerFrame::RoomUpdated(s) if s.owner).then_some(()))
        .await;
    let members = server.members(&carl, room).await;
    assert_eq!(members.len(), 1);
    assert!(members[0].owner && members[0].user_id == carl_id);
    assert_matches_fresh(&server, &carl, &mut carl_tab).await;

    // An admin outside the group moderates it (renames, removes) but adds
    // nobody: a new member reads the whole history (issue 19).
    assert_eq!(
        server
            .on_room(&root, "rooms/add", room, &[("members", "bob@example.com")])
            .await,
        403
    );
    assert_eq!(
        server
            .on_room(&root, "rooms/rename", room, &[("name", "Moderated")])
            .await,
        200
    );
    // Direct chats cannot be left (they are hidden instead).
    let direct = server.direct_room(&ada, "carl@example.com").await;
    assert_eq!(server.on_room(&carl, "rooms/leave", direct, &[]).await, 403);
}

async fn mute_is_per_member_and_reaches_every_tab(backend: Backend) {
    let server = TestServer::start(backend).await;
    with_admin(&server).await;
    let ada = server.user("ada@example.com").await;
    server.user("bob@example.com").await;
    let room = server.direct_room(&ada, "bob@example.com").await;
    let mut tab1 = server.tab(&ada).await;
    let mut tab2 = server.tab(&ada).await;
    assert_eq!(
        server
            .on_room(&ada, "rooms/mute", room, &[("muted", "true")])
            .await,
        200
    );
    for tab in [&mut tab1, &mut tab2] {
        tab.until(|f| matches!(f, ServerFrame::RoomUpdated(s) if s.muted).then_some(()))
            .await;
        assert_matches_fresh(&server, &ada, tab).await;
    }
}

both_backends!(direct_chats_are_reused_and_validated);
both_backends!(an_invitation_becomes_a_chat_at_sign_up);
both_backends!(hide_removes_my_chat_until_the_next_message);
both_backends!(clear_deletes_every_row_for_everyone);
both_backends!(a_catch_up_after_a_clear_drops_the_old_messages);
both_backends!(group_membership_follows_open_sockets);
both_backends!(mute_is_per_member_and_reaches_every_tab);
