//! The load test's bulk path and a node's sizing figures, through the real
//! binary: `glasschat loadtest-seed` (accounts, sessions and one room in
//! seconds, for the `bigroom` and `manysockets` scenarios) and the `node`
//! part of `/health`.

mod common;

use common::{run_glasschat, Backend, TestDb, TestServer};
use glasschat::realtime::protocol::ServerFrame;

async fn loadtest_seed_makes_accounts_sessions_and_one_room(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile_dir();
    let out = dir.join("seeded.txt");
    let out_arg = out.display().to_string();
    let (ok, stdout, stderr) = run_glasschat(
        &db,
        &["loadtest-seed", "--users", "25", "--out", &out_arg],
        &[],
    )
    .await;
    assert!(ok, "seed failed: {stdout} {stderr}");
    assert!(stdout.contains("seeded 25 accounts"), "{stdout}");
    let text = std::fs::read_to_string(&out).expect("the seed file");
    let mut lines = text.lines();
    let room: i64 = lines
        .next()
        .and_then(|l| l.strip_prefix("room "))
        .and_then(|r| r.parse().ok())
        .expect("the first line names the room");
    let cookies: Vec<&str> = lines.collect();
    assert_eq!(cookies.len(), 25, "a session per account");
    assert_eq!(
        db.scalar(&format!(
            "SELECT COUNT(*) FROM room_members WHERE room_id = {room}"
        ))
        .await,
        25,
        "every account is in the room"
    );

    // A bad count is one clear line, and changes nothing.
    let (ok, _, stderr) = run_glasschat(
        &db,
        &["loadtest-seed", "--users", "1", "--out", &out_arg],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("--users must be a number from 2"),
        "{stderr}"
    );

    // The sessions work: two members' sockets are welcomed into the room,
    // and a message from one reaches the other.
    let server = TestServer::start_on(db, &[]).await;
    let mut first = server.connect(cookies[0]).await;
    let mut last = server.connect(cookies[24]).await;
    for tab in [&first, &last] {
        let ServerFrame::Welcome { rooms, .. } = &tab.log[0] else {
            panic!("expected a welcome, got {:?}", tab.log[0]);
        };
        assert!(
            rooms.iter().any(|r| r.room == room),
            "the room is in the welcome"
        );
    }
    first.hello().await;
    last.hello().await;
    first
        .say(room, "seeded-1", "hello from a seeded account")
        .await;
    let got = loop {
        match last.next().await {
            ServerFrame::Message(view) => break view,
            _ => continue,
        }
    };
    assert_eq!(
        (got.room, got.body.as_str()),
        (room, "hello from a seeded account")
    );

    // The node's sizing figures count these two sockets.
    let health = server.get("/health", None).await.json();
    let node = &health["node"];
    assert_eq!(node["sockets_open"].as_u64(), Some(2), "{health}");
    let limit = node["descriptor_limit"]
        .as_u64()
        .expect("the descriptor limit");
    assert!(limit > 256, "{health}");
    assert_eq!(node["max_sockets"].as_u64(), Some(limit - 256), "{health}");
    assert!(
        node["resident_memory_bytes"].as_u64().unwrap_or(0) > 1_000_000,
        "{health}"
    );
    assert!(node["messages_per_second"].as_f64().is_some(), "{health}");
    assert!(
        node["writes_per_transaction"].as_f64().is_some(),
        "{health}"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
both_backends!(loadtest_seed_makes_accounts_sessions_and_one_room);

/// The admin page's "This node" figures: for admins only, and the same
/// as `/health`'s.
async fn admins_see_the_nodes_sizing_figures(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.user("ada@example.com").await;
    let member = server.user("bob@example.com").await;
    let _tab = server.connect(&member).await;
    let refused = server.call(&member, "admin/node", &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let figures = server.call(&admin, "admin/node", &[]).await;
    assert_eq!(figures.status, 200, "{}", figures.body);
    let figures = figures.json();
    assert_eq!(figures["sockets_open"].as_u64(), Some(1), "{figures}");
    let health = server.get("/health", None).await.json();
    assert_eq!(figures["max_sockets"], health["node"]["max_sockets"]);
    assert_eq!(
        figures["descriptor_limit"],
        health["node"]["descriptor_limit"]
    );
    server.stop().await;
}
both_backends!(admins_see_the_nodes_sizing_figures);

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "glasschat-scale-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
