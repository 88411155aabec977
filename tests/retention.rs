//! Retention end to end (the real binary, both databases), with a clock
//! the test controls (`GLASSCHAT_TEST_CLOCK_FILE`: the time the retention
//! job takes for now). Old messages go with everything of them (changes,
//! reactions, mentions, files, search entries); younger ones, and rooms
//! kept longer, stay; unread and mention counts stay exact, live (the
//! race check) and after a reconnect; on Postgres the cut reaches a tab on
//! the other node. Overrides: a room's number first, then its
//! department's, then the instance's. Admins only, checked, in the audit log.

mod common;

use std::time::Duration;

use common::{ack, assert_matches_fresh, Backend, TestDb, TestServer};
use glasschat::model::{AuditEntryView, RetentionView, SearchResults};
use glasschat::realtime::protocol::ServerFrame;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A clock file for the server, and a way to set it.
struct Clock(std::path::PathBuf);

impl Clock {
    fn new() -> Clock {
        // One file per test: tests run at once in this process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("glasschat-clock-{}-{n}", std::process::id()));
        std::fs::write(&path, "").expect("clock file");
        Clock(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn set(&self, at: i64) {
        std::fs::write(&self.0, at.to_string()).expect("set the clock");
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn set(server: &TestServer, admin: &str, scope: &str, id: Option<i64>, days: &str) {
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    let mut form = vec![("scope", scope), ("days", days)];
    if !id.is_empty() {
        form.push(("id", &id));
    }
    let reply = server.call(admin, "admin/retention/set", &form).await;
    assert_eq!(reply.status, 200, "{scope} {days}: {}", reply.body);
}

async fn audit(server: &TestServer, admin: &str) -> Vec<AuditEntryView> {
    let reply = server.call(admin, "admin/audit", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("entries")
}

async fn search(server: &TestServer, cookie: &str, query: &str) -> usize {
    let reply = server.call(cookie, "search", &[("query", query)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results: SearchResults = serde_json::from_str(&reply.body).expect("results");
    results.hits.len()
}

/// Searches until `expected` hits come back (the index follows the
/// writer within a fraction of a second), for at most 10 s.
async fn search_until(server: &TestServer, cookie: &str, query: &str, expected: usize) {
    let mut found = 0;
    for _ in 0..100 {
        found = search(server, cookie, query).await;
        if found == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{query:?}: {found} hits, expected {expected}");
}

async fn old_messages_go_and_counts_stay_exact(backend: Backend) {
    let clock = Clock::new();
    let env = [
        ("GLASSCHAT_RETENTION_CHECK_SECS", "1"),
        ("GLASSCHAT_TEST_CLOCK_FILE", clock.path()),
    ];
    let server = TestServer::start_on(TestDb::new(backend).await, &env).await;
    // On Postgres Bob watches from a second node, which never runs the
    // pass itself here (no test clock: nothing is old by its clock), so
    // the cut reaches him through the cluster.
    let other = match backend {
        Backend::Postgres => Some(server.another_node(&[]).await),
        Backend::Sqlite => None,
    };
    let bobs_node = other.as_ref().unwrap_or(&server);
    let root = server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let bob_id = server.me(&bob).await["id"].as_i64().expect("id");
    let chat = server.direct_chat(&ada, "bob@example.com").await;
    let kept = server.group(&ada, "Kept", &["bob@example.com"]).await;
    let longer = server.group(&ada, "Longer", &["bob@example.com"]).await;

    let mut bob_tab = bobs_node.tab(&bob).await;
    let mut ada_tab = server.tab(&ada).await;
    // Old: a plain message, a mention of Bob, one with a file, an edit,
    // a reaction; then a younger one after the clock's cut.
    ada_tab.say(chat, "c1", "elderberry one").await;
    let first = ack(&mut ada_tab).await.seq;
    ada_tab
        .mention(chat, "c2", "elderberry two @bob", &[bob_id])
        .await;
    ack(&mut ada_tab).await;
    let file = server.upload(&ada, chat, "old.txt", b"old bytes").await;
    ada_tab
        .send_files(chat, "c3", "elderberry three", &[file])
        .await;
    let third = ack(&mut ada_tab).await.seq;
    ada_tab.edit(chat, first, "elderberry one, edited").await;
    ada_tab.react(chat, third, "👍", true).await;
    for (room, id) in [(kept, "k1"), (longer, "l1")] {
        ada_tab.say(room, id, "elderberry elsewhere").await;
        ack(&mut ada_tab).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cut = now_ms();
    tokio::time::sleep(Duration::from_millis(50)).await;
    ada_tab.say(chat, "c4", "huckleberry four").await;
    let young = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(chat, young).await;
    // What Bob's tab held before the cut, for a reconnect after it.
    let before_cut = bob_tab.state.clone();
    assert_eq!(bob_tab.summary(chat).unread, 4);
    assert_eq!(bob_tab.summary(chat).mentions, 1);

    // 30 days for everyone; "Kept" for ever; "Longer" 45 days.
    set(&server, &root, "instance", None, "30").await;
    set(&server, &root, "room", Some(kept), "0").await;
    set(&server, &root, "room", Some(longer), "45").await;
    search_until(&server, &bob, "elderberry", 5).await;

    // 30 days later by the job's clock, to the millisecond of the cut.
    clock.set(cut + 30 * DAY_MS);
    let summary = bob_tab
        .until(|f| match f {
            ServerFrame::RoomUpdated(s) if s.room == chat && s.trimmed_through > 0 => {
                Some(s.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        summary.trimmed_through, third,
        "every old message, no young one"
    );
    assert_eq!((summary.unread, summary.mentions), (1, 0));
    assert_eq!(summary.read_seq, third, "the read mark moved up to the cut");
    let left = server.all_messages(&bob, chat).await;
    assert_eq!(
        left.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![young],
        "only the young message stays"
    );
    assert!(bob_tab.state.rooms[&chat]
        .messages
        .keys()
        .all(|&seq| seq > third));
    // The race check: the live tab equals a fresh load.
    assert_matches_fresh(bobs_node, &bob, &mut bob_tab).await;

    // Everything of the old messages went with them.
    let db = &server.db;
    for table in [
        "messages",
        "message_changes",
        "reactions",
        "mentions",
        "files",
    ] {
        let column = match table {
            "messages" => "seq",
            "files" => "id",
            _ => "message_seq",
        };
        let sql = match table {
            "files" => format!("SELECT COUNT(*) FROM files WHERE room_id = {chat}"),
            _ => format!(
                "SELECT COUNT(*) FROM {table} WHERE room_id = {chat} AND {column} <= {third}"
            ),
        };
        assert_eq!(db.scalar(&sql).await, 0, "{table}");
    }
    let download = server.get(&format!("/files/{file}"), Some(&ada)).await;
    assert_eq!(download.status, 404);
    // Search: the old ones are gone, the other rooms' stay findable.
    search_until(&server, &bob, "elderberry", 2).await;
    search_until(&server, &bob, "huckleberry", 1).await;
    assert_eq!(server.all_messages(&bob, kept).await.len(), 1);
    assert_eq!(server.all_messages(&bob, longer).await.len(), 1);

    // A tab that was away while it happened drops what it held there.
    let mut back = bobs_node.reconnect(&bob, before_cut).await;
    back.settle().await;
    assert!(back.state.rooms[&chat]
        .messages
        .keys()
        .all(|&seq| seq > third));
    assert_eq!(back.summary(chat).unread, 1);

    // A new message after the cut counts as before.
    ada_tab.say(chat, "c5", "after the cut").await;
    let newest = ack(&mut ada_tab).await.seq;
    bob_tab.until_seq(chat, newest).await;
    assert_eq!(bob_tab.summary(chat).unread, 2);
    assert_matches_fresh(bobs_node, &bob, &mut bob_tab).await;

    // 46 days: "Longer" goes too, "Kept" never (and the chat is kept for
    // ever from now on: its own number).
    set(&server, &root, "room", Some(chat), "0").await;
    clock.set(cut + 46 * DAY_MS);
    bob_tab
        .until(|f| match f {
            ServerFrame::RoomUpdated(s) if s.room == longer && s.trimmed_through > 0 => Some(()),
            _ => None,
        })
        .await;
    assert!(server.all_messages(&bob, longer).await.is_empty());
    assert_eq!(server.all_messages(&bob, kept).await.len(), 1);
    assert_eq!(server.all_messages(&bob, chat).await.len(), 2);

    // Runs and changes are in the audit log.
    let entries = audit(&server, &root).await;
    let runs: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "retention.run")
        .collect();
    assert_eq!(runs.len(), 2, "{entries:?}");
    assert!(runs
        .iter()
        .any(|e| e.detail == "3 messages deleted in 1 conversation"));
    assert_eq!(runs[0].actor, "retention job");
    assert!(entries.iter().any(|e| e.action == "retention.changed"
        && e.target == "instance"
        && e.detail == "30 days"));
    assert!(entries.iter().any(|e| e.action == "retention.changed"
        && e.target.starts_with("room #")
        && e.detail == "kept for ever"));
    if let Some(node) = other {
        node.stop().await;
    }
    server.stop().await;
}

async fn departments_override_and_only_admins_set_it(backend: Backend) {
    let clock = Clock::new();
    let env = [
        ("GLASSCHAT_RETENTION_CHECK_SECS", "1"),
        ("GLASSCHAT_TEST_CLOCK_FILE", clock.path()),
    ];
    let server = TestServer::start_on(TestDb::new(backend).await, &env).await;
    let root = server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;

    // A member asks Billing; Billing keeps 10 days, the instance for ever.
    let reply = server.call(&root, "admin/retention", &[]).await;
    let settings: RetentionView = serde_json::from_str(&reply.body).expect("settings");
    assert_eq!(settings.days, 0);
    let billing = settings
        .departments
        .iter()
        .find(|d| d.name == "Billing")
        .expect("Billing")
        .id;
    let reply = server
        .call(
            &ada,
            "support/contact",
            &[("department", &billing.to_string())],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let support: i64 = reply.body.trim().parse().expect("room id");
    let group = server.group(&ada, "Mine", &[]).await;
    let mut tab = server.tab(&ada).await;
    for room in [support, group] {
        tab.say(room, &format!("m{room}"), "a question").await;
        ack(&mut tab).await;
    }
    set(&server, &root, "department", Some(billing), "10").await;
    let reply = server.call(&root, "admin/retention", &[]).await;
    let settings: RetentionView = serde_json::from_str(&reply.body).expect("settings");
    assert_eq!(
        settings
            .departments
            .iter()
            .find(|d| d.id == billing)
            .and_then(|d| d.days),
        Some(10)
    );

    clock.set(now_ms() + 11 * DAY_MS);
    tab.until(|f| match f {
        ServerFrame::RoomUpdated(s) if s.room == support && s.trimmed_through > 0 => Some(()),
        _ => None,
    })
    .await;
    assert!(server.all_messages(&ada, support).await.is_empty());
    assert_eq!(server.all_messages(&ada, group).await.len(), 1);

    // A room's own number beats its department's: kept for ever.
    set(&server, &root, "room", Some(support), "0").await;
    tab.say(support, "again", "another question").await;
    ack(&mut tab).await;
    clock.set(now_ms() + 40 * DAY_MS);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.all_messages(&ada, support).await.len(), 1);
    let reply = server.call(&root, "admin/retention", &[]).await;
    let settings: RetentionView = serde_json::from_str(&reply.body).expect("settings");
    assert_eq!(settings.rooms.len(), 1);
    assert_eq!(settings.rooms[0].days, Some(0));

    // Refusals: not an admin; a bad number; no such room; a bad scope.
    for endpoint in ["admin/retention", "admin/retention/set"] {
        let reply = server
            .call(&ada, endpoint, &[("scope", "instance"), ("days", "1")])
            .await;
        assert_eq!(reply.status, 403, "{endpoint}: {}", reply.body);
    }
    for days in ["-1", "36501", "soon"] {
        let reply = server
            .call(
                &root,
                "admin/retention/set",
                &[("scope", "instance"), ("days", days)],
            )
            .await;
        assert_eq!(reply.status, 422, "{days}: {}", reply.body);
        assert!(reply.body.contains("RetentionDays"), "{}", reply.body);
    }
    let reply = server
        .call(
            &root,
            "admin/retention/set",
            &[("scope", "room"), ("id", "999999"), ("days", "5")],
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    let reply = server
        .call(
            &root,
            "admin/retention/set",
            &[("scope", "planet"), ("days", "5")],
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        server.call(&root, "admin/retention", &[]).await.json()["days"],
        0,
        "nothing refused was applied"
    );
    server.stop().await;
}

/// Old messages per round: four steps of the job's 500.
const OLD_PER_ROUND: usize = 1_800;

/// The crash loop for retention: each round stores a run of messages (some
/// mentioning the reader, some reacted to), marks a cut, stores younger
/// ones, moves the job's clock past the cut, and kills the server (SIGKILL)
/// as soon as the reader sees the first step land, in the middle of the
/// pass. After the restart the pass finishes: every message below the cut
/// is gone with its reactions and mentions, every younger one stays, and
/// the reader (reconnected with what it held) equals a fresh load, counts
/// included.
async fn a_kill_during_a_pass_loses_nothing_and_leaves_nothing(backend: Backend) {
    let clock = Clock::new();
    let env = [
        ("GLASSCHAT_RETENTION_CHECK_SECS", "1"),
        ("GLASSCHAT_TEST_CLOCK_FILE", clock.path()),
        ("GLASSCHAT_SEND_RATE", "1000000/1"),
        // The killed node's hold on the pass lapses quickly.
        ("GLASSCHAT_RETENTION_LEASE_SECS", "1"),
    ];
    let mut server = TestServer::start_on(TestDb::new(backend).await, &env).await;
    let root = server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let bob_id = server.me(&bob).await["id"].as_i64().expect("id");
    let room = server.group(&ada, "Busy", &["bob@example.com"]).await;
    set(&server, &root, "instance", None, "30").await;
    let mut held = server.tab(&bob).await.state;
    // Rounds whose kill landed before the pass had finished.
    let mut midway = 0;
    let rounds = std::env::var("GLASSCHAT_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3usize);
    for round in 0..rounds {
        let mut ada_tab = server.tab(&ada).await;
        let mut last_old = 0;
        for i in 0..OLD_PER_ROUND {
            let id = format!("r{round}-{i}");
            if i % 7 == 0 {
                ada_tab.mention(room, &id, "old @bob", &[bob_id]).await;
            } else {
                ada_tab.say(room, &id, "old").await;
            }
            last_old = ack(&mut ada_tab).await.seq;
            if i % 11 == 0 {
                ada_tab.react(room, last_old, "👍", true).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let cut = now_ms();
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Young this round; the next round's cut is after them.
        let mut young = Vec::new();
        for i in 0..3 {
            ada_tab.say(room, &format!("y{round}-{i}"), "young").await;
            young.push(ack(&mut ada_tab).await.seq);
        }
        let mut bob_tab = server.reconnect(&bob, held).await;
        bob_tab.hello().await;
        bob_tab.until_seq(room, *young.last().expect("young")).await;
        clock.set(cut + 30 * DAY_MS);
        // The first step has landed: kill in the middle of the pass.
        bob_tab
            .until(|f| match f {
                ServerFrame::RoomUpdated(s) if s.room == room && s.trimmed_through > 0 => Some(()),
                _ => None,
            })
            .await;
        held = bob_tab.state.clone();
        server = server.restart(&env).await;
        let mut bob_tab = server.reconnect(&bob, held).await;
        bob_tab.hello().await;
        if bob_tab.summary(room).trimmed_through < last_old {
            midway += 1;
            bob_tab
                .until(|f| match f {
                    ServerFrame::RoomUpdated(s)
                        if s.room == room && s.trimmed_through >= last_old =>
                    {
                        Some(())
                    }
                    _ => None,
                })
                .await;
        }
        let summary = bob_tab.summary(room);
        assert_eq!(
            summary.trimmed_through, last_old,
            "round {round}: the whole run, no more"
        );
        assert_eq!(summary.unread, young.len() as i64, "round {round}");
        assert_eq!(summary.mentions, 0, "round {round}");
        let left: Vec<i64> = server
            .all_messages(&bob, room)
            .await
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(left, young, "round {round}: every young message, once");
        for table in ["reactions", "mentions"] {
            let sql = format!(
                "SELECT COUNT(*) FROM {table} WHERE room_id = {room} AND message_seq <= {last_old}"
            );
            assert_eq!(server.db.scalar(&sql).await, 0, "round {round}: {table}");
        }
        assert_matches_fresh(&server, &bob, &mut bob_tab).await;
        held = bob_tab.state.clone();
    }
    if backend == Backend::Sqlite {
        let check = server
            .db
            .scalar("SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'")
            .await;
        assert_eq!(check, 0, "integrity_check");
    }
    println!("retention crash loop: {rounds} rounds of {OLD_PER_ROUND} old messages, {midway} passes killed before they finished, nothing left and nothing lost");
    server.stop().await;
}

#[tokio::test]
async fn a_kill_during_a_pass_loses_nothing_and_leaves_nothing_sqlite() {
    a_kill_during_a_pass_loses_nothing_and_leaves_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_kill_during_a_pass_loses_nothing_and_leaves_nothing_postgres() {
    a_kill_during_a_pass_loses_nothing_and_leaves_nothing(Backend::Postgres).await;
}

#[tokio::test]
async fn old_messages_go_and_counts_stay_exact_sqlite() {
    old_messages_go_and_counts_stay_exact(Backend::Sqlite).await;
}

#[tokio::test]
async fn old_messages_go_and_counts_stay_exact_postgres() {
    old_messages_go_and_counts_stay_exact(Backend::Postgres).await;
}

#[tokio::test]
async fn departments_override_and_only_admins_set_it_sqlite() {
    departments_override_and_only_admins_set_it(Backend::Sqlite).await;
}

#[tokio::test]
async fn departments_override_and_only_admins_set_it_postgres() {
    departments_override_and_only_admins_set_it(Backend::Postgres).await;
}
