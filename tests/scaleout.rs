//! Several nodes on one Postgres (real processes, real sockets), fanned out
//! with LISTEN/NOTIFY: every event reaches the sockets of every node,
//! exactly once and in seq order; a killed node's clients catch up on the
//! other; a listener cut off by the database resynchronises its sockets;
//! a node that started alone (and sent nothing) speaks before a second
//! node serves anyone; a writer's one-statement batches notice a room
//! moved by another node; messages cross nodes in their NOTIFY, sealed,
//! when they fit, and are read back when not; and SQLite refuses a
//! second node.

mod common;

use std::collections::HashSet;

use common::{ack, assert_matches_fresh, changed, run_glasschat, Backend, Tab, TestDb, TestServer};
use glasschat::realtime::protocol::{close, ClientFrame, ServerFrame};
use glasschat::server::cluster::listener_name;

/// The send limit is raised: these tests write fast on purpose.
const FAST: &[(&str, &str)] = &[("GLASSCHAT_SEND_RATE", "100000/1")];

async fn two_nodes() -> (TestServer, TestServer) {
    let a = TestServer::start_on(TestDb::new(Backend::Postgres).await, FAST).await;
    let b = a.another_node(FAST).await;
    (a, b)
}

async fn tab(server: &TestServer, cookie: &str) -> Tab {
    let mut tab = server.connect(cookie).await;
    tab.hello().await;
    tab
}

async fn call(server: &TestServer, cookie: &str, endpoint: &str, form: &[(&str, &str)]) {
    let reply = server
        .post_form(&format!("/api/{endpoint}"), form, Some(cookie))
        .await;
    assert_eq!(reply.status, 200, "{endpoint}: {}", reply.body);
}

/// Seqs of `room`'s message frames in arrival order, asserted 1..=n exactly.
fn assert_exactly_once_in_order(tab: &Tab, room: i64, n: i64, who: &str) {
    let seqs = tab.seqs(room);
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "{who}: every seq once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_serve_the_same_users() {
    let (a, b) = two_nodes().await;
    a.user("root@example.com").await;
    let ada = a.user("ada@example.com").await;
    let bob = b.user("bob@example.com").await;

    // Bob has a tab on each node; Ada is on A only.
    let mut ada_a = tab(&a, &ada).await;
    let mut bob_b = tab(&b, &bob).await;
    let mut bob_a = tab(&a, &bob).await;

    // A group made through A appears live on B.
    let room = a.group(&ada, "Ops", &["bob@example.com"]).await;
    bob_b
        .until(|f| matches!(f, ServerFrame::RoomAdded(s) if s.room == room).then_some(()))
        .await;

    // Messages from both sides, interleaved, reach every tab once, in order.
    for i in 1..=60 {
        ada_a
            .say(room, &format!("a{i}"), &format!("from ada {i}"))
            .await;
        bob_b
            .say(room, &format!("b{i}"), &format!("from bob {i}"))
            .await;
    }
    for t in [&mut ada_a, &mut bob_b, &mut bob_a] {
        t.until_seq(room, 120).await;
    }
    assert_exactly_once_in_order(&bob_b, room, 120, "bob on B");
    assert_exactly_once_in_order(&bob_a, room, 120, "bob on A");
    assert_exactly_once_in_order(&ada_a, room, 120, "ada on A");

    // A read on B is known to Bob's tab on A, with the unread count.
    bob_b
        .send_frame(&ClientFrame::Read { room, seq: 120 })
        .await;
    let unread = bob_a
        .until(|f| match f {
            ServerFrame::ReadMark {
                room: r,
                read_seq: 120,
                unread,
                ..
            } if *r == room => Some(*unread),
            _ => None,
        })
        .await;
    assert_eq!(unread, 0);

    // A reply written on B carries its quote to the tabs on A.
    let first = bob_b.state.rooms[&room].messages[&1].clone();
    // The acks of Bob's sends may still be arriving (message 120 can come
    // from A before B has acked Bob's last ones): take them all first.
    bob_b.settle().await;
    bob_b.reply(room, "reply-1", "answering you", 1).await;
    assert_eq!(ack(&mut bob_b).await.seq, 121);
    for t in [&mut ada_a, &mut bob_a] {
        t.until_seq(room, 121).await;
        let quote = t.state.rooms[&room].messages[&121].reply.clone();
        assert_eq!(
            quote.map(|q| (q.seq, q.sender_name, q.text)),
            Some((1, first.sender_name.clone(), first.body.clone()))
        );
    }

    // Edits, reactions and deletes made on either node reach every tab
    // once, in order, and end where a fresh load on the other node ends.
    let bobs = bob_b.state.rooms[&room]
        .messages
        .values()
        .find(|m| m.body == "from bob 2")
        .map(|m| m.seq)
        .unwrap();
    bob_b.edit(room, bobs, "from bob 2, edited on B").await;
    ada_a.react(room, bobs, "👍", true).await;
    bob_b.react(room, 1, "🎉", true).await;
    // The delete of message 1 waits for Bob's reaction to it to be seen on
    // A: sent at once from the other node it could overtake the reaction,
    // which would then be refused (the message is gone), as it should be.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(changed(&mut ada_a).await.seq);
    }
    ada_a.delete(room, 1).await;
    for (i, t) in [&mut ada_a, &mut bob_a, &mut bob_b].into_iter().enumerate() {
        let mut seqs = if i == 0 { seen.clone() } else { Vec::new() };
        while seqs.len() < 4 {
            seqs.push(changed(t).await.seq);
        }
        assert_eq!(seqs, vec![122, 123, 124, 125], "each change once, in order");
        let held = &t.state.rooms[&room].messages;
        assert_eq!(held[&bobs].body, "from bob 2, edited on B");
        assert_eq!(held[&bobs].reactions.len(), 1);
        assert!(held[&1].deleted && held[&1].reactions.is_empty());
        assert!(held[&121].reply.as_ref().is_some_and(|q| q.gone));
    }
    assert_matches_fresh(&b, &bob, &mut bob_a).await;
    assert_matches_fresh(&a, &ada, &mut ada_a).await;

    // A mention written on A counts on both of Bob's tabs; his read on B
    // takes it off his tab on A too.
    let bob_number = b.me(&bob).await["id"].as_i64().unwrap();
    ada_a.mention(room, "m-1", "@bob look", &[bob_number]).await;
    let mention = ack(&mut ada_a).await.seq;
    for t in [&mut bob_a, &mut bob_b] {
        t.until_seq(room, mention).await;
        assert_eq!(t.summary(room).mentions, 1);
    }
    bob_b
        .send_frame(&ClientFrame::Read { room, seq: mention })
        .await;
    let left = bob_a
        .until(|f| match f {
            ServerFrame::ReadMark {
                room: r,
                read_seq,
                mentions,
                ..
            } if *r == room && *read_seq == mention => Some(*mentions),
            _ => None,
        })
        .await;
    assert_eq!((left, bob_a.summary(room).mentions), (0, 0));
    assert_matches_fresh(&b, &bob, &mut bob_a).await;

    // A clear made on B empties Ada's view on A.
    call(&b, &ada, "rooms/clear", &[("room", &room.to_string())]).await;
    ada_a.until_seq(room, mention + 1).await;
    assert_eq!(
        ada_a.state.rooms[&room].messages.len(),
        1,
        "only the clear line is left"
    );

    // Bob removed through B: both of his tabs lose the room; what follows
    // reaches neither.
    let bob_id = bob_number.to_string();
    call(
        &b,
        &ada,
        "rooms/remove",
        &[("room", &room.to_string()), ("user_id", &bob_id)],
    )
    .await;
    for t in [&mut bob_a, &mut bob_b] {
        t.until(|f| matches!(f, ServerFrame::RoomRemoved { room: r } if *r == room).then_some(()))
            .await;
    }
    ada_a.say(room, "after", "after bob left").await;
    let after = ack(&mut ada_a).await.seq;
    for t in [&mut bob_a, &mut bob_b] {
        t.settle().await;
        assert!(!t.seqs(room).contains(&after));
    }
    assert_matches_fresh(&b, &ada, &mut ada_a).await;
    assert_matches_fresh(&a, &bob, &mut bob_b).await;
    assert_matches_fresh(&b, &bob, &mut bob_a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_nothing() {
    let (a, b) = two_nodes().await;
    a.user("root@example.com").await;
    let ada = a.user("ada@example.com").await;
    let bob = a.user("bob@example.com").await;
    let carol = a.user("carol@example.com").await;
    let room = a
        .group(&ada, "Flow", &["bob@example.com", "carol@example.com"])
        .await;
    let mut ada_a = tab(&a, &ada).await;
    let bob_a = tab(&a, &bob).await;
    let mut carol_b = tab(&b, &carol).await;

    // Ada sends 150 without waiting; A is killed after about 50 acks.
    const N: i64 = 150;
    for i in 1..=N {
        ada_a
            .say(room, &format!("m{i}"), &format!("message {i}"))
            .await;
    }
    let mut acked = HashSet::new();
    while acked.len() < 50 {
        if let ServerFrame::Ack(a) = ada_a.next().await {
            acked.insert(a.client_id);
        }
    }
    let held_by_bob = bob_a.state.clone();
    let held_by_ada = ada_a.state.clone();
    a.stop().await; // SIGKILL

    // Ada's tab reconnects to B and resends what was never acknowledged,
    // with the same client ids (as the browser's outbox does).
    let mut ada_b = b.reconnect(&ada, held_by_ada).await;
    ada_b.hello().await;
    for i in 1..=N {
        let id = format!("m{i}");
        if !acked.contains(&id) {
            ada_b.say(room, &id, &format!("message {i}")).await;
            ack(&mut ada_b).await;
        }
    }
    // Bob's tab reconnects to B and catches up.
    let mut bob_b = b.reconnect(&bob, held_by_bob).await;
    bob_b.hello().await;
    let last =
        b.db.scalar(&format!(
            "SELECT MAX(seq) FROM messages WHERE room_id = {room}"
        ))
        .await;
    bob_b.until_seq(room, last).await;
    carol_b.until_seq(room, last).await;

    // Every message stored once, seqs without a gap.
    let db = &b.db;
    let q = |sql: &str| sql.replace("$room", &room.to_string());
    assert_eq!(
        db.scalar(&q("SELECT COUNT(*) FROM messages WHERE room_id = $room"))
            .await,
        N
    );
    assert_eq!(
        db.scalar(&q(
            "SELECT COUNT(DISTINCT client_id) FROM messages WHERE room_id = $room"
        ))
        .await,
        N
    );
    assert_eq!(last, N);
    let held: Vec<i64> = bob_b.state.rooms[&room].messages.keys().copied().collect();
    assert_eq!(
        held,
        (1..=N).collect::<Vec<_>>(),
        "bob holds every message once"
    );
    assert_exactly_once_in_order(&carol_b, room, N, "carol on B");
    assert_matches_fresh(&b, &bob, &mut bob_b).await;
    assert_matches_fresh(&b, &carol, &mut carol_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_cut_by_the_database_resyncs_its_sockets() {
    let (a, b) = two_nodes().await;
    a.user("root@example.com").await;
    let ada = a.user("ada@example.com").await;
    let bob = a.user("bob@example.com").await;
    let room = a.group(&ada, "Cut", &["bob@example.com"]).await;
    let mut ada_a = tab(&a, &ada).await;
    let mut bob_b = tab(&b, &bob).await;
    ada_a.say(room, "m1", "before").await;
    ack(&mut ada_a).await;
    bob_b.until_seq(room, 1).await;

    // The database ends B's listening connection; Ada keeps writing on A.
    let name = listener_name(b.pid().expect("pid"));
    let killed = b
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}') t"
        ))
        .await;
    assert_eq!(killed, 1, "one listener named {name}");
    for i in 2..=6 {
        ada_a
            .say(room, &format!("m{i}"), &format!("during {i}"))
            .await;
        ack(&mut ada_a).await;
    }
    // B listens again and sends its sockets to catch up.
    assert_eq!(bob_b.closed_with().await, Some(close::LAGGED));
    let held = bob_b.state.clone();
    let mut bob_b = b.reconnect(&bob, held).await;
    bob_b.hello().await;
    bob_b.until_seq(room, 6).await;
    // And live delivery from A to B works again.
    ada_a.say(room, "m7", "after").await;
    ack(&mut ada_a).await;
    bob_b.until_seq(room, 7).await;
    let health = b.get("/health", None).await;
    assert_eq!(health.json()["fanout"], "listening", "{}", health.body);
    assert_matches_fresh(&b, &bob, &mut bob_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_alone_speaks_once_a_second_node_starts() {
    let a = TestServer::start_on(TestDb::new(Backend::Postgres).await, FAST).await;
    let alone = |health: &common::Reply| health.json()["fanout_alone"].as_bool();
    let health = a.get("/health", None).await;
    assert_eq!(
        alone(&health),
        Some(true),
        "nobody hears A: {}",
        health.body
    );
    a.user("root@example.com").await;
    let ada = a.user("ada@example.com").await;
    let bob = a.user("bob@example.com").await;
    let room = a.group(&ada, "Later", &["bob@example.com"]).await;
    let mut ada_a = tab(&a, &ada).await;
    ada_a.say(room, "m1", "while alone").await;
    ack(&mut ada_a).await;

    // B serves nobody before A has answered its Hello, and A answers only
    // once it speaks: by the time B is up, A is no longer alone.
    let b = a.another_node(FAST).await;
    let health = a.get("/health", None).await;
    assert_eq!(alone(&health), Some(false), "A heard B: {}", health.body);
    let health = b.get("/health", None).await;
    assert_eq!(alone(&health), Some(false), "B saw A: {}", health.body);

    // What A stores now reaches Bob on B live, each once, in order.
    let mut bob_b = tab(&b, &bob).await;
    for i in 2..=20 {
        ada_a
            .say(room, &format!("m{i}"), &format!("after {i}"))
            .await;
        ack(&mut ada_a).await;
    }
    bob_b.until_seq(room, 20).await;
    assert_eq!(bob_b.seqs(room), (2..=20).collect::<Vec<_>>(), "bob on B");
    assert_matches_fresh(&b, &bob, &mut bob_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_one_sqlite_file_is_refused() {
    let first = TestServer::start(Backend::Sqlite).await;
    let db: &TestDb = &first.db;
    let (ok, _, stderr) = run_glasschat(db, &[], &[("GLASSCHAT_ADDR", "127.0.0.1:0")]).await;
    assert!(!ok, "the second node must not start");
    assert!(stderr.contains("already serving"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    // The first node is unharmed.
    assert_eq!(first.get("/health", None).await.status, 200);
}

/// A role change made on one node reaches the person's tabs on the other,
/// live and without a sign-out: a promotion brings the support queue's
/// conversations and the new role; a demotion takes both away at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_on_one_node_is_live_on_the_other() {
    let (a, b) = two_nodes().await;
    let root = a.user("root@example.com").await;
    let mia = a.user("mia@example.com").await;
    let cy = b.user("cy@example.com").await;
    let cy_id = b.me(&cy).await["id"].as_i64().unwrap().to_string();
    // Mia asks Billing (department 1) for help through node A.
    let contact = a
        .post_form("/api/support/contact", &[("department", "1")], Some(&mia))
        .await;
    assert_eq!(contact.status, 200, "{}", contact.body);
    let room = contact.json().as_i64().unwrap();

    let mut cy_b = tab(&b, &cy).await;
    assert!(!cy_b.state.rooms.contains_key(&room));
    call(
        &a,
        &root,
        "admin/role",
        &[("user", &cy_id), ("role", "admin")],
    )
    .await;
    let role = cy_b.role_changed().await;
    assert_eq!(role, glasschat::model::Role::Admin);
    assert!(
        cy_b.state.rooms.contains_key(&room),
        "staff everywhere, live"
    );
    assert_eq!(b.me(&cy).await["role"], "admin", "the same session");

    call(
        &a,
        &root,
        "admin/role",
        &[("user", &cy_id), ("role", "member")],
    )
    .await;
    let role = cy_b.role_changed().await;
    assert_eq!(role, glasschat::model::Role::Member);
    assert!(
        !cy_b.state.rooms.contains_key(&room),
        "the access ends at once"
    );
    let refused = b.post_form("/api/admin/users", &[], Some(&cy)).await;
    assert_eq!(refused.status, 403);
    for server in [a, b] {
        server.stop().await;
    }
}

/// On Postgres, messages keep no foreign keys to rooms and users (they
/// cost a row lock per message): deleting either by hand still does what
/// the keys did. A room's messages go with it; a user's messages stay,
/// without a sender.
/// This build's INSERTs move their rooms themselves and the trigger skips
/// them; a session without `glasschat.writes_advance` (a node of the
/// previous build during a rolling restart, or SQL by hand) still has its
/// messages move their room and their sender's read mark.
/// The room's last seq and count of texts, and Ada's read mark.
async fn head(db: &mut sqlx::PgConnection, room: i64) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT r.last_seq, r.text_count, m.last_read_seq FROM rooms r
         JOIN room_members m ON m.room_id = r.id
         JOIN users u ON u.id = m.user_id AND u.email = 'ada@example.com'
         WHERE r.id = $1",
    )
    .bind(room)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_by_an_older_node_still_moves_its_room() {
    use sqlx::Connection;
    let server = TestServer::start_on(TestDb::new(Backend::Postgres).await, FAST).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let room = server.group(&ada, "Mixed", &[]).await;
    let mut ada_tab = tab(&server, &ada).await;
    for i in 1..=3 {
        ada_tab.say(room, &format!("n{i}"), "from this build").await;
        ack(&mut ada_tab).await;
    }
    let mut db = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
    assert_eq!(head(&mut db, room).await, (3, 3, 3), "the writer moved it");
    // What an older node's writer sends: a plain INSERT.
    sqlx::query(
        "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, created_at, text_rank)
         SELECT $1, 4, id, 'old-1', 'text', 'from the older build', 0, 4
         FROM users WHERE email = 'ada@example.com'",
    )
    .bind(room)
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(head(&mut db, room).await, (4, 4, 4), "the trigger moved it");
    // And this build goes on from there.
    ada_tab.say(room, "n5", "after it").await;
    ack(&mut ada_tab).await;
    assert_eq!(head(&mut db, room).await, (5, 5, 5));
    server.stop().await;
}

/// The writer's one-statement batches and the ones that went the long
/// way, from a node's `/metrics`.
/// The values of the named counters in `server`'s /metrics.
async fn counters<const N: usize>(server: &TestServer, names: [&str; N]) -> [f64; N] {
    let text = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics");
    names.map(|name| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    })
}

async fn one_statement_batches(server: &TestServer) -> (f64, f64) {
    let [stored, missed] = counters(
        server,
        [
            "glasschat_writer_one_statement_batches_total",
            "glasschat_writer_one_statement_missed_total",
        ],
    )
    .await;
    (stored, missed)
}

/// Messages another node announced that `server` handed out from the
/// frames the NOTIFY carried, and those it read back from the database.
async fn carried_and_read_back(server: &TestServer) -> [f64; 2] {
    counters(
        server,
        [
            "glasschat_fanout_carried_messages_total",
            "glasschat_fanout_read_back_messages_total",
        ],
    )
    .await
}

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

/// Two nodes that show /metrics; Ada on A and Bob on B, a tab each, in a
/// group room: (A, B, Ada's cookie, Bob's, the room, Ada's tab on A, Bob's
/// on B).
type Pair = (TestServer, TestServer, String, String, i64, Tab, Tab);

async fn ada_and_bob_on_two_nodes(room_name: &str) -> Pair {
    let env = [FAST[0], ("GLASSCHAT_METRICS_TOKEN", METRICS_TOKEN)];
    let a = TestServer::start_on(TestDb::new(Backend::Postgres).await, &env).await;
    let b = a.another_node(&env).await;
    a.user("root@example.com").await;
    let ada = a.user("ada@example.com").await;
    let bob = b.user("bob@example.com").await;
    let room = a.group(&ada, room_name, &["bob@example.com"]).await;
    let ada_a = tab(&a, &ada).await;
    let bob_b = tab(&b, &bob).await;
    (a, b, ada, bob, room, ada_a, bob_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_stores_plain_texts_in_one_statement_until_the_room_moves_elsewhere() {
    let (a, b, ada, bob, room, mut ada_a, mut bob_b) = ada_and_bob_on_two_nodes("Heads").await;
    async fn say(tab: &mut Tab, room: i64, id: &str, body: &str) -> i64 {
        tab.say(room, id, body).await;
        ack(tab).await.seq
    }

    // The first batch learns the room's head the long way; the next ones
    // are one statement each, words new to the vocabulary included.
    assert_eq!(say(&mut ada_a, room, "n1", "first").await, 1);
    let before = one_statement_batches(&a).await;
    for (i, body) in [(2, "second"), (3, "zebracorn stampede"), (4, "fourth")] {
        assert_eq!(say(&mut ada_a, room, &format!("n{i}"), body).await, i);
    }
    let after = one_statement_batches(&a).await;
    assert_eq!((after.0 - before.0, after.1 - before.1), (3.0, 0.0));

    // Another node moves the room (a message, then an edit): A's head is
    // stale, so its next statement stores nothing and the batch goes the
    // long way, at the right seq. The room then goes the long way for a
    // second (nodes taking turns there would waste a round trip a batch),
    // and after it is one statement again.
    assert_eq!(say(&mut bob_b, room, "b5", "from bob").await, 5);
    bob_b.edit(room, 5, "from bob, edited").await;
    assert_eq!(changed(&mut bob_b).await.seq, 6);
    assert_eq!(say(&mut ada_a, room, "n7", "after the edit").await, 7);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(say(&mut ada_a, room, "n8", "and on").await, 8);
    let moved = one_statement_batches(&a).await;
    assert_eq!((moved.0 - after.0, moved.1 - after.1), (1.0, 1.0));

    // A resend is the long way's to answer: as the first send was.
    assert_eq!(say(&mut ada_a, room, "n8", "and on").await, 8);
    let resent = one_statement_batches(&a).await;
    assert_eq!((resent.0 - moved.0, resent.1 - moved.1), (0.0, 1.0));

    // Every tab saw each event once, in order, and ends as a fresh load;
    // the room, the read mark and the search index moved with the rows.
    for t in [&mut ada_a, &mut bob_b] {
        t.until_seq(room, 8).await;
        assert_eq!(t.seqs(room), vec![1, 2, 3, 4, 5, 7, 8]);
    }
    assert_matches_fresh(&b, &ada, &mut ada_a).await;
    assert_matches_fresh(&a, &bob, &mut bob_b).await;
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&a.db.url)
        .await
        .unwrap();
    assert_eq!(head(&mut db, room).await, (8, 7, 8));
    let hits = a.call(&ada, "search", &[("query", "zebr")]).await;
    assert_eq!(hits.status, 200, "{}", hits.body);
    let hits = hits.json()["hits"].as_array().map_or(0, Vec::len);
    assert_eq!(hits, 1, "a prefix of a word first seen in one statement");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_in_their_notify_when_they_fit_and_are_read_back_when_not() {
    let (a, b, ada, bob, room, mut ada_a, mut bob_b) = ada_and_bob_on_two_nodes("Carried").await;
    let moved = |before: [f64; 2], after: [f64; 2]| [after[0] - before[0], after[1] - before[1]];

    // A short message travels in the NOTIFY: B hands it out as it came.
    let start = carried_and_read_back(&b).await;
    ada_a.say(room, "c1", "short and sweet").await;
    assert_eq!(ack(&mut ada_a).await.seq, 1);
    bob_b.until_seq(room, 1).await;
    let short = carried_and_read_back(&b).await;
    assert_eq!(moved(start, short), [1.0, 0.0]);

    // One too long to carry is announced as a reference and read back.
    let long = "a long line ".repeat(600);
    ada_a.say(room, "c2", &long).await;
    assert_eq!(ack(&mut ada_a).await.seq, 2);
    bob_b.until_seq(room, 2).await;
    let read = carried_and_read_back(&b).await;
    assert_eq!(moved(short, read), [0.0, 1.0]);
    assert_eq!(bob_b.state.rooms[&room].messages[&2].body, long);

    // A change travels too, and so does the other way round.
    ada_a.edit(room, 2, "shorter now").await;
    assert_eq!(changed(&mut bob_b).await.seq, 3);
    let edited = carried_and_read_back(&b).await;
    assert_eq!(moved(read, edited), [1.0, 0.0]);
    let on_a = carried_and_read_back(&a).await;
    bob_b.say(room, "c4", "back from bob").await;
    assert_eq!(ack(&mut bob_b).await.seq, 4);
    ada_a.until_seq(room, 4).await;
    assert_eq!(moved(on_a, carried_and_read_back(&a).await), [1.0, 0.0]);

    // Each tab saw every message once, in order, and ends as a fresh load
    // on the other node.
    assert_eq!(ada_a.seqs(room), vec![1, 2, 4]);
    assert_eq!(bob_b.seqs(room), vec![1, 2, 4]);
    assert_matches_fresh(&b, &ada, &mut ada_a).await;
    assert_matches_fresh(&a, &bob, &mut bob_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_room_or_a_user_by_hand_reaches_their_messages() {
    use sqlx::Connection;
    let server = TestServer::start_on(TestDb::new(Backend::Postgres).await, FAST).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let kept = server.group(&ada, "Kept", &["bob@example.com"]).await;
    let gone = server.group(&ada, "Gone", &["bob@example.com"]).await;
    let mut ada_tab = tab(&server, &ada).await;
    let mut bob_tab = tab(&server, &bob).await;
    for i in 1..=3 {
        ada_tab.say(kept, &format!("k{i}"), "from ada").await;
        bob_tab.say(kept, &format!("b{i}"), "from bob").await;
        ada_tab.say(gone, &format!("g{i}"), "soon gone").await;
    }
    bob_tab.until_seq(kept, 6).await;
    bob_tab.until_seq(gone, 3).await;
    drop(bob_tab);

    let mut db = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
    let count = |sql: &'static str, room: i64| sqlx::query_scalar::<_, i64>(sql).bind(room);
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(gone)
        .execute(&mut db)
        .await
        .unwrap();
    let left = count("SELECT COUNT(*) FROM messages WHERE room_id = $1", gone)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left, 0, "a deleted room's messages go with it");

    sqlx::query("DELETE FROM users WHERE email = 'bob@example.com'")
        .execute(&mut db)
        .await
        .unwrap();
    let (kept_rows, senderless): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE sender_id IS NULL) FROM messages WHERE room_id = $1",
    )
    .bind(kept)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        (kept_rows, senderless),
        (6, 3),
        "a deleted user's messages stay, without a sender"
    );
    server.stop().await;
}
