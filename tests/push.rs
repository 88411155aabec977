//! Web Push against a local receiver that checks every push as a push
//! service and a browser would (VAPID signature, RFC 8030 headers, RFC 8291
//! decryption: tests/common/push_receiver.rs): when a push goes (after the
//! grace period, unread, no tab in use), what it says (previews off by
//! default), one per conversation, the closing push after a read, devices
//! that are gone, the refusals (no server-side request forgery, bad keys,
//! another account's device) and two nodes pushing each message once.
//! The real binary, both databases.

mod common;

use common::push_receiver::{PushReceiver, Subscription};
use common::{ack, Backend, TestDb, TestServer};
use glasschat::realtime::protocol::ClientFrame;

/// Pushes after 1 s; the pass runs every 200 ms.
fn push_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GLASSCHAT_PUSH_TEST_ENDPOINTS", "1"),
        ("GLASSCHAT_PUSH_GRACE_SECS", "1"),
        ("GLASSCHAT_PUSH_CHECK_MS", "200"),
    ]
}

async fn subscribe(
    server: &TestServer,
    cookie: &str,
    device: &Subscription,
    label: &str,
) -> common::Reply {
    server
        .call(
            cookie,
            "push/subscribe",
            &[
                ("endpoint", &device.endpoint),
                ("p256dh", &device.p256dh),
                ("auth", &device.auth),
                ("label", label),
            ],
        )
        .await
}

async fn mute(server: &TestServer, cookie: &str, room: i64, muted: bool) {
    let (room, muted) = (room.to_string(), muted.to_string());
    let reply = server
        .call(cookie, "rooms/mute", &[("room", &room), ("muted", &muted)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn settings(server: &TestServer, cookie: &str) -> serde_json::Value {
    let reply = server.call(cookie, "push/settings", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

async fn a_direct_message_is_pushed_after_the_grace_period(backend: Backend) {
    let receiver = PushReceiver::start().await;
    let server = TestServer::start_on(TestDb::new(backend).await, &push_env()).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let key = settings(&server, &ada).await["public_key"]
        .as_str()
        .expect("a key")
        .to_string();
    receiver.expect_server_key(&key);
    let laptop = receiver.device("laptop");
    let phone = receiver.device("phone");
    for (device, label) in [(&laptop, "Chrome on Linux"), (&phone, "Firefox on Android")] {
        let reply = subscribe(&server, &ada, device, label).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let listed = settings(&server, &ada).await;
    assert_eq!(listed["previews"], false, "previews are off by default");
    let labels: Vec<&str> = listed["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["label"].as_str())
        .collect();
    assert_eq!(labels, ["Chrome on Linux", "Firefox on Android"]);
    assert!(settings(&server, &bob).await["devices"]
        .as_array()
        .expect("devices")
        .is_empty());

    // One message: after the grace period, one push to each device, saying
    // who and where but not what.
    let room = server.direct_chat(&bob, "ada@example.com").await;
    let mut tab = server.tab(&bob).await;
    let sent = std::time::Instant::now();
    tab.say(room, "d1", "the secret launch date").await;
    let first = ack(&mut tab).await.seq;
    let pushes = receiver.wait_for("laptop", "message", 1, 10).await;
    assert!(
        sent.elapsed() >= std::time::Duration::from_millis(900),
        "pushed before the grace period ended"
    );
    receiver.wait_for("phone", "message", 1, 10).await;
    let push = &pushes[0];
    assert_eq!(push.payload["title"], "bob");
    assert_eq!(push.payload["body"], "New message from bob");
    assert_eq!(push.payload["tag"], format!("room-{room}"));
    assert_eq!(push.payload["url"], format!("/c/{room}/{first}"));
    assert_eq!(push.payload["count"], 1);
    assert_eq!(push.urgency, "high");
    // The topic is a keyed hash (16 bytes, base64url), not the room's tag:
    // the push service learns no room id.
    assert_eq!(push.topic.len(), 22, "topic {}", push.topic);
    assert!(
        push.topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && push.topic != format!("room-{room}"),
        "topic {}",
        push.topic
    );
    assert!(
        !push.payload.to_string().contains("secret"),
        "no text without previews: {}",
        push.payload
    );
    sleep_ms(1500).await;
    assert_eq!(receiver.pushes("laptop").len(), 1, "pushed once");

    // Reading it anywhere closes the notification on every device.
    let mut reader = server.tab(&ada).await;
    reader
        .send_frame(&ClientFrame::Read { room, seq: first })
        .await;
    drop(reader);
    let closes = receiver.wait_for("phone", "close", 1, 10).await;
    assert_eq!(closes[0].payload["tag"], format!("room-{room}"));
    assert_eq!(closes[0].payload["seq"], first);
    receiver.wait_for("laptop", "close", 1, 10).await;

    // Previews on: the text comes along. Three quick messages make at most
    // two pushes (one per pass they fall into), covering all three.
    let on = server.call(&ada, "push/previews", &[("on", "true")]).await;
    assert_eq!(on.status, 200, "{}", on.body);
    // Sent back to back (acknowledged after), so that they fall into at
    // most two passes however slow the machine is.
    let before = receiver.pushes("laptop").len();
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        tab.say(room, &format!("p{i}"), text).await;
    }
    for _ in 0..3 {
        ack(&mut tab).await;
    }
    let mut covered = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while covered < 3 {
        assert!(std::time::Instant::now() < deadline, "not all pushed");
        sleep_ms(100).await;
        covered = receiver.pushes("laptop")[before..]
            .iter()
            .filter(|p| p.payload["kind"] == "message")
            .map(|p| p.payload["count"].as_i64().unwrap_or(0))
            .sum();
    }
    let new: Vec<_> = receiver.pushes("laptop")[before..].to_vec();
    assert!(new.len() <= 2, "three messages, {} pushes", new.len());
    let last = new.last().expect("a push");
    assert!(
        last.payload["body"]
            .as_str()
            .unwrap_or_default()
            .contains("three"),
        "{}",
        last.payload
    );

    // Not pushed: a message that arrives while a tab of Ada's is in use,
    // or one read before the grace period ends.
    let message_pushes = |receiver: &PushReceiver| {
        receiver
            .pushes("laptop")
            .iter()
            .filter(|p| p.payload["kind"] == "message")
            .count()
    };
    let messages = message_pushes(&receiver);
    let mut ada_tab = server.tab(&ada).await;
    tab.say(room, "v1", "you are here").await;
    let seen = ack(&mut tab).await.seq;
    sleep_ms(1800).await;
    assert_eq!(message_pushes(&receiver), messages, "a tab in use");
    ada_tab
        .send_frame(&ClientFrame::Presence { active: false })
        .await;
    ada_tab
        .send_frame(&ClientFrame::Read { room, seq: seen })
        .await;
    tab.say(room, "r1", "read quickly").await;
    let quick = ack(&mut tab).await.seq;
    ada_tab
        .send_frame(&ClientFrame::Read { room, seq: quick })
        .await;
    sleep_ms(1800).await;
    assert_eq!(message_pushes(&receiver), messages, "read in time");

    // A muted conversation pushes nothing (a mention aside).
    mute(&server, &ada, room, true).await;
    tab.say(room, "m1", "muted now").await;
    ack(&mut tab).await;
    sleep_ms(1800).await;
    assert_eq!(message_pushes(&receiver), messages, "muted");

    // A tab that is open but not in use (hidden, or idle) does not hold
    // a push back.
    mute(&server, &ada, room, false).await;
    tab.say(room, "a1", "still there?").await;
    ack(&mut tab).await;
    let all = receiver
        .wait_for("laptop", "message", messages + 1, 10)
        .await;
    assert!(
        all.last()
            .is_some_and(|p| p.payload["body"] == "bob: still there?"),
        "{:?}",
        all.last()
    );
    drop(ada_tab);
    assert!(receiver.faults().is_empty(), "{:?}", receiver.faults());
}
both_backends!(a_direct_message_is_pushed_after_the_grace_period);

async fn devices_that_are_gone_are_forgotten(backend: Backend) {
    let receiver = PushReceiver::start().await;
    let server = TestServer::start_on(TestDb::new(backend).await, &push_env()).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let old = receiver.device("old");
    let new = receiver.device("new");
    assert_eq!(subscribe(&server, &ada, &old, "old").await.status, 200);
    assert_eq!(subscribe(&server, &ada, &new, "new").await.status, 200);
    receiver.set_gone("old");
    let room = server.direct_chat(&bob, "ada@example.com").await;
    let mut tab = server.tab(&bob).await;
    tab.say(room, "g1", "hello").await;
    ack(&mut tab).await;
    receiver.wait_for("new", "message", 1, 10).await;
    for _ in 0..50 {
        if settings(&server, &ada).await["devices"]
            .as_array()
            .is_some_and(|d| d.len() == 1)
        {
            break;
        }
        sleep_ms(100).await;
    }
    let devices = settings(&server, &ada).await["devices"].clone();
    assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
    assert_eq!(devices[0]["label"], "new");
    assert!(devices[0]["last_push_at"].as_i64().is_some());

    // Removing a device: one's own only.
    let id = devices[0]["id"].as_i64().expect("id").to_string();
    let theirs = server.call(&bob, "push/remove", &[("id", &id)]).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let mine = server.call(&ada, "push/remove", &[("id", &id)]).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    tab.say(room, "g2", "anyone?").await;
    ack(&mut tab).await;
    sleep_ms(1800).await;
    assert_eq!(
        receiver.pushes("new").len(),
        1,
        "a removed device gets nothing"
    );
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM notifications_due WHERE push_state <> 0")
            .await,
        0,
        "nothing waits to be pushed"
    );
}
both_backends!(devices_that_are_gone_are_forgotten);

async fn bad_subscriptions_are_refused(backend: Backend) {
    let receiver = PushReceiver::start().await;
    // Production mode: no loopback endpoints.
    let server = TestServer::start(backend).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let good = receiver.device("good");
    let refuse = |endpoint: &str, p256dh: &str, auth: &str| {
        let (endpoint, p256dh, auth) = (endpoint.to_string(), p256dh.to_string(), auth.to_string());
        let server = &server;
        let ada = ada.clone();
        async move {
            server
                .call(
                    &ada,
                    "push/subscribe",
                    &[
                        ("endpoint", &endpoint),
                        ("p256dh", &p256dh),
                        ("auth", &auth),
                        ("label", "x"),
                    ],
                )
                .await
        }
    };
    for endpoint in [
        good.endpoint.as_str(),
        "http://push.example.com/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
        "ftp://push.example.com/x",
        "not a url",
    ] {
        let reply = refuse(endpoint, &good.p256dh, &good.auth).await;
        assert_eq!(reply.status, 422, "{endpoint}: {}", reply.body);
        assert!(reply.body.contains("BadPushDevice"), "{}", reply.body);
    }
    let huge = format!("https://push.example.com/{}", "a".repeat(5000));
    assert_eq!(refuse(&huge, &good.p256dh, &good.auth).await.status, 422);
    let public = "https://push.example.com/send/abc";
    assert_eq!(refuse(public, "bm90IGEga2V5", &good.auth).await.status, 422);
    assert_eq!(refuse(public, &good.p256dh, "c2hvcnQ").await.status, 422);
    let fine = refuse(public, &good.p256dh, &good.auth).await;
    assert_eq!(fine.status, 200, "{}", fine.body);

    // One endpoint, one account.
    let taken = server
        .call(
            &bob,
            "push/subscribe",
            &[
                ("endpoint", public),
                ("p256dh", &good.p256dh),
                ("auth", &good.auth),
                ("label", "mine now"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.body.contains("PushDeviceTaken"), "{}", taken.body);
    assert_eq!(
        settings(&server, &ada).await["devices"][0]["label"],
        "x",
        "left as it was"
    );
    // Signed out: nothing.
    for endpoint in [
        "push/settings",
        "push/subscribe",
        "push/remove",
        "push/previews",
    ] {
        let reply = server.call_as(None, endpoint, &[]).await;
        assert!(
            reply.status == 401 || reply.status == 400,
            "{endpoint}: {}",
            reply.status
        );
    }
}
both_backends!(bad_subscriptions_are_refused);

/// Two nodes on one database both run the push pass: each message is
/// pushed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_push_each_message_once() {
    let receiver = PushReceiver::start().await;
    let first = TestServer::start_on(TestDb::new(Backend::Postgres).await, &push_env()).await;
    let second = first.another_node(&push_env()).await;
    first.user("root@example.com").await;
    let cy = first.user("cy@example.com").await;
    let mut rooms = Vec::new();
    for i in 0..6 {
        let email = format!("p{i}@example.com");
        let person = first.user(&email).await;
        let device = receiver.device(&format!("d{i}"));
        assert_eq!(subscribe(&first, &person, &device, "d").await.status, 200);
        rooms.push(second.direct_chat(&cy, &email).await);
    }
    let mut tab = second.tab(&cy).await;
    for round in 0..5 {
        for (i, room) in rooms.iter().enumerate() {
            tab.say(*room, &format!("m{round}-{i}"), "ping").await;
            ack(&mut tab).await;
        }
        sleep_ms(150).await;
    }
    for i in 0..6 {
        let name = format!("d{i}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let covered: i64 = receiver
                .pushes(&name)
                .iter()
                .map(|p| p.payload["count"].as_i64().unwrap_or(0))
                .sum();
            if covered >= 5 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: {covered} of 5"
            );
            sleep_ms(100).await;
        }
    }
    sleep_ms(1500).await;
    for i in 0..6 {
        let pushes = receiver.pushes(&format!("d{i}"));
        let covered: i64 = pushes
            .iter()
            .map(|p| p.payload["count"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(covered, 5, "each message pushed once: {pushes:?}");
        let mut seqs: Vec<i64> = pushes
            .iter()
            .filter_map(|p| p.payload["seq"].as_i64())
            .collect();
        let before = seqs.len();
        seqs.dedup();
        assert_eq!(seqs.len(), before, "no push repeated");
    }
    assert!(receiver.faults().is_empty(), "{:?}", receiver.faults());
}

/// A support conversation calls its department's staff while unassigned,
/// then only its assignee; staff's answers call the member.
async fn support_calls_reach_the_right_devices(backend: Backend) {
    let receiver = PushReceiver::start().await;
    let desk = common::desk::Desk::open_with(backend, &push_env()).await;
    let server = &desk.server;
    for (who, cookie) in [
        ("agent", &desk.agent),
        ("admin", &desk.admin),
        ("member", &desk.owner),
        ("stranger", &desk.stranger),
    ] {
        let device = receiver.device(who);
        let reply = subscribe(server, cookie, &device, who).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut member = server.tab(&desk.owner).await;
    member.say(room, "s1", "my order is late").await;
    ack(&mut member).await;
    for staff in ["agent", "admin"] {
        let push = receiver.wait_for(staff, "message", 1, 10).await;
        assert_eq!(push[0].payload["title"], "mia (support, Billing)");
        assert_eq!(push[0].payload["body"], "New message from mia");
    }

    // Claimed: only the assignee is called.
    let claimed = server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    member.say(room, "s2", "any news?").await;
    ack(&mut member).await;
    receiver.wait_for("agent", "message", 2, 10).await;
    sleep_ms(1500).await;
    let admin_messages = receiver
        .pushes("admin")
        .iter()
        .filter(|p| p.payload["kind"] == "message")
        .count();
    assert_eq!(admin_messages, 1, "the admin is no longer called");

    // Staff answer: the member is called (their tab closed meanwhile).
    drop(member);
    sleep_ms(300).await;
    let mut agent = server.tab(&desk.agent).await;
    agent.say(room, "a1", "It ships today.").await;
    ack(&mut agent).await;
    let push = receiver.wait_for("member", "message", 1, 10).await;
    assert_eq!(push[0].payload["title"], "Support · Billing");
    assert!(
        receiver.pushes("stranger").is_empty(),
        "outsiders hear nothing"
    );
    assert!(receiver.faults().is_empty(), "{:?}", receiver.faults());
}
both_backends!(support_calls_reach_the_right_devices);
