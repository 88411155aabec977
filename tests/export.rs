//! Exports end to end (the real binary, both databases): a person
//! downloads their own data (their conversations' messages, decrypted, and
//! nothing of conversations they are not in); an admin exports one
//! conversation; both are refused to whoever may not, budgeted, and in the
//! audit log.

mod common;

use common::{ack, Backend, TestDb, TestServer};
use glasschat::model::AuditEntryView;

async fn say(server: &TestServer, cookie: &str, room: i64, body: &str) {
    let mut tab = server.tab(cookie).await;
    tab.say(room, body, body).await;
    ack(&mut tab).await;
}

async fn audit(server: &TestServer, admin: &str) -> Vec<AuditEntryView> {
    let reply = server.call(admin, "admin/audit", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("entries")
}

async fn a_person_downloads_their_own_data(backend: Backend) {
    let server = TestServer::start_on(TestDb::new(backend).await, &[]).await;
    let root = server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    server.user("carl@example.com").await;
    let chat = server.direct_chat(&ada, "bob@example.com").await;
    let group = server
        .group(&bob, "Plans", &["ada@example.com", "carl@example.com"])
        .await;
    let theirs = server.direct_chat(&bob, "carl@example.com").await;
    say(&server, &ada, chat, "from-ada").await;
    say(&server, &bob, group, "from-bob").await;
    say(&server, &bob, theirs, "between-bob-and-carl").await;

    let reply = server.get("/export/me", Some(&ada)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment; filename=\"glasschat-")));
    let export = reply.json();
    assert_eq!(export["profile"]["email"], "ada@example.com");
    let conversations = export["conversations"].as_array().expect("conversations");
    let mut rooms: Vec<i64> = conversations
        .iter()
        .map(|c| c["room"].as_i64().expect("room"))
        .collect();
    rooms.sort_unstable();
    let mut expected = vec![chat, group];
    expected.sort_unstable();
    assert_eq!(rooms, expected, "her conversations, and only hers");
    let bodies: Vec<&str> = conversations
        .iter()
        .flat_map(|c| c["messages"].as_array().expect("messages"))
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"from-ada") && bodies.contains(&"from-bob"),
        "{bodies:?}"
    );
    assert!(!reply.body.contains("between-bob-and-carl"));
    let named = conversations
        .iter()
        .find(|c| c["room"] == chat)
        .expect("the direct chat");
    assert_eq!(named["name"], "bob");

    // Signed out: nothing. The budget: three in ten minutes.
    assert_eq!(server.get("/export/me", None).await.status, 401);
    for _ in 0..2 {
        assert_eq!(server.get("/export/me", Some(&ada)).await.status, 200);
    }
    let refused = server.get("/export/me", Some(&ada)).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());

    let log = audit(&server, &root).await;
    let entry = log
        .iter()
        .find(|e| e.action == "export.own")
        .expect("audited");
    assert_eq!(entry.actor, "ada@example.com");
    assert_eq!(entry.detail, "2 conversations");
}
both_backends!(a_person_downloads_their_own_data);

async fn an_admin_exports_one_conversation(backend: Backend) {
    let server = TestServer::start_on(TestDb::new(backend).await, &[]).await;
    let root = server.user("root@example.com").await;
    let bob = server.user("bob@example.com").await;
    server.user("carl@example.com").await;
    let theirs = server.direct_chat(&bob, "carl@example.com").await;
    for i in 0..3 {
        say(&server, &bob, theirs, &format!("line-{i}")).await;
    }

    let reply = server
        .get(&format!("/export/room/{theirs}"), Some(&root))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let export = reply.json();
    let bodies: Vec<&str> = export["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["line-0", "line-1", "line-2"]);
    assert_eq!(export["members"].as_array().expect("members").len(), 2);

    // A member is no admin; no such room is 404; signed out is 401.
    assert_eq!(
        server
            .get(&format!("/export/room/{theirs}"), Some(&bob))
            .await
            .status,
        403
    );
    assert_eq!(
        server.get("/export/room/999999", Some(&root)).await.status,
        404
    );
    assert_eq!(
        server
            .get(&format!("/export/room/{theirs}"), None)
            .await
            .status,
        401
    );

    let log = audit(&server, &root).await;
    let entry = log
        .iter()
        .find(|e| e.action == "export.room")
        .expect("audited");
    assert_eq!(entry.target, format!("room {theirs}"));
    assert_eq!(entry.detail, "3 messages");
    assert_eq!(entry.address.as_deref(), Some("127.0.0.1"));
}
both_backends!(an_admin_exports_one_conversation);
