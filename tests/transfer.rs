//! `glasschat export --out DIR` and `glasschat import DIR` (the real
//! binary): an instance with something of everything (accounts, a group
//! with edits, deletes, reactions, mentions and a reply, files with their
//! thumbnails, a support conversation with a rating, a canned reply, a
//! website with its secret, invitation links, settings, the audit log) is
//! exported, imported into a fresh database of the other kind (SQLite to
//! Postgres and back: a migration), and exported again: both exports hold
//! the same rows. Then a server on the copy serves it: the same password
//! signs in, the same messages, counts and files, under the new
//! instance's key, and search finds them. Refusals leave nothing behind.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{ack, run_glasschat, Backend, TestDb, TestServer};
use glasschat::realtime::protocol::RoomSummary;

fn png(w: u32, h: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn folder(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "glasschat-export-{}-{tag}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ))
}

/// Every table's rows, as sorted lines (the order rows come in may differ
/// between the databases; the rows may not).
fn rows_of(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("export folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if let Some(table) = name.strip_suffix(".jsonl") {
            let mut lines: Vec<String> = std::fs::read_to_string(&path)
                .expect("read")
                .lines()
                .map(str::to_string)
                .collect();
            lines.sort();
            out.insert(table.to_string(), lines);
        }
    }
    out
}

async fn export(db: &TestDb, dir: &Path) -> String {
    let dir = dir.to_str().expect("utf-8");
    let (ok, out, err) = run_glasschat(db, &["export", "--out", dir], &[]).await;
    assert!(ok, "export failed: {err}");
    assert!(err.contains("clear text"), "the warning: {err}");
    out
}

fn summaries(tab: &common::Tab) -> BTreeMap<i64, (i64, i64, i64, i64)> {
    tab.state
        .rooms
        .values()
        .map(|r| {
            let RoomSummary {
                room,
                last_seq,
                read_seq,
                unread,
                mentions,
                ..
            } = r.summary;
            (room, (last_seq, read_seq, unread, mentions))
        })
        .collect()
}

async fn an_instance_moves_to_the_other_database_whole(from: Backend, to: Backend) {
    let source = TestServer::start_on(TestDb::new(from).await, &[]).await;
    let admin = source.user("root@example.com").await;
    let ada = source.user("ada@example.com").await;
    let bob = source.user("bob@example.com").await;
    let bob_id = source.me(&bob).await["id"].as_i64().expect("id");
    let group = source.group(&ada, "Launch", &["bob@example.com"]).await;
    let chat = source.direct_chat(&bob, "ada@example.com").await;
    let photo = png(300, 200);
    let file = source.upload(&ada, group, "photo.png", &photo).await;
    let mut tab = source.tab(&ada).await;
    tab.say(group, "g1", "the kiwifruit plan").await;
    let first = ack(&mut tab).await.seq;
    tab.mention(group, "g2", "@bob read this", &[bob_id]).await;
    ack(&mut tab).await;
    tab.send_files(group, "g3", "the picture", &[file]).await;
    ack(&mut tab).await;
    tab.reply(group, "g4", "answering myself", first).await;
    let doomed = ack(&mut tab).await.seq;
    tab.edit(group, first, "the kiwifruit plan, edited").await;
    tab.react(group, first, "🎉", true).await;
    tab.delete(group, doomed).await;
    tab.say(chat, "d1", "a direct word").await;
    ack(&mut tab).await;
    tab.settle().await;
    // Support: Billing, a message, a canned reply, a site with a secret,
    // an invitation link, a retention setting.
    let billing = "1".to_string();
    let support: i64 = source
        .call(&bob, "support/contact", &[("department", &billing)])
        .await
        .json()
        .as_i64()
        .expect("room");
    let mut bob_tab = source.tab(&bob).await;
    bob_tab.say(support, "s1", "my invoice is wrong").await;
    ack(&mut bob_tab).await;
    for (endpoint, form) in [
        (
            "canned/create",
            vec![
                ("department", "1"),
                ("title", "Hello"),
                ("body", "How can we help?"),
            ],
        ),
        (
            "sites/create",
            vec![
                ("name", "Shop"),
                ("origins", "https://shop.test"),
                ("departments", "1"),
                ("anonymous", "true"),
            ],
        ),
        ("admin/invite_links/create", vec![("days", "7")]),
        (
            "admin/retention/set",
            vec![("scope", "instance"), ("days", "3650")],
        ),
    ] {
        let reply = source.call(&admin, endpoint, &form).await;
        assert_eq!(reply.status, 200, "{endpoint}: {}", reply.body);
    }
    let before = summaries(&source.tab(&ada).await);
    let history = source.all_messages(&ada, group).await;

    // Export while the server runs; into a fresh database of the other kind.
    let first_dir = folder("first");
    let printed = export(&source.db, &first_dir).await;
    assert!(printed.contains("exported"), "{printed}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(first_dir.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["format"], "glasschat-export");
    assert_eq!(manifest["tables"]["users"], 3);
    let mode = std::fs::metadata(first_dir.join("messages.jsonl"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .expect("mode");
    assert_eq!(mode, 0o600, "readable by this account only");
    let messages = std::fs::read_to_string(first_dir.join("messages.jsonl")).expect("messages");
    assert!(messages.contains("the kiwifruit plan, edited"), "decrypted");
    let target = TestDb::new(to).await;
    let first_dir_text = first_dir.to_str().expect("utf-8");
    let (ok, out, err) = run_glasschat(&target, &["import", first_dir_text], &[]).await;
    assert!(ok, "import failed: {err}");
    assert!(out.contains("imported"), "{out}");

    // The copy exports the same rows.
    let second_dir = folder("second");
    export(&target, &second_dir).await;
    let (a, b) = (rows_of(&first_dir), rows_of(&second_dir));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (table, rows) in &a {
        assert_eq!(rows, &b[table], "table {table}");
    }

    // A second import into the same database is refused, and changes nothing.
    let (ok, _, err) = run_glasschat(&target, &["import", first_dir_text], &[]).await;
    assert!(!ok);
    assert!(err.contains("not empty"), "{err}");
    source.stop().await;

    // A server on the copy: the same password, messages, counts, files.
    let copy = TestServer::start_on(target, &[]).await;
    let reply = copy
        .log_in("ada@example.com", "correct horse battery")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ada = reply.session();
    assert_eq!(copy.all_messages(&ada, group).await, history);
    assert_eq!(summaries(&copy.tab(&ada).await), before);
    let (status, _, bytes) = copy.download(Some(&ada), &format!("/files/{file}")).await;
    assert_eq!((status, bytes), (200, photo));
    let (status, _, _) = copy
        .download(Some(&ada), &format!("/files/{file}/thumb"))
        .await;
    assert_eq!(status, 200);
    // Search is built again from the copy.
    let mut hits = 0;
    for _ in 0..100 {
        let reply = copy.call(&ada, "search", &[("query", "kiwifruit")]).await;
        hits = reply.json()["hits"].as_array().map_or(0, Vec::len);
        if hits == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(hits, 1);
    copy.stop().await;
    let _ = std::fs::remove_dir_all(&first_dir);
    let _ = std::fs::remove_dir_all(&second_dir);
}

async fn bad_exports_are_refused_and_leave_nothing(backend: Backend) {
    let source = TestServer::start_on(TestDb::new(backend).await, &[]).await;
    let ada = source.user("ada@example.com").await;
    let room = source.group(&ada, "Notes", &[]).await;
    let mut tab = source.tab(&ada).await;
    tab.say(room, "n1", "one").await;
    ack(&mut tab).await;
    let dir = folder("bad");
    export(&source.db, &dir).await;
    // Not into a folder that holds something.
    let (ok, _, err) = run_glasschat(
        &source.db,
        &["export", "--out", dir.to_str().expect("utf-8")],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("not empty"), "{err}");
    let (ok, _, err) = run_glasschat(&source.db, &["export"], &[]).await;
    assert!(!ok);
    assert!(err.contains("usage: glasschat export --out DIR"), "{err}");
    source.stop().await;

    // A file cut short: refused, and the database stays empty.
    let messages = dir.join("messages.jsonl");
    std::fs::write(&messages, "").expect("cut");
    let target = TestDb::new(backend).await;
    let dir_text = dir.to_str().expect("utf-8");
    let (ok, _, err) = run_glasschat(&target, &["import", dir_text], &[]).await;
    assert!(!ok);
    assert!(err.contains("cut short"), "{err}");
    assert_eq!(target.scalar("SELECT COUNT(*) FROM users").await, 0);
    // Not an export at all.
    std::fs::write(dir.join("manifest.json"), "{\"format\": \"other\"}").expect("write");
    let (ok, _, err) = run_glasschat(&target, &["import", dir_text], &[]).await;
    assert!(!ok);
    assert!(err.contains("not a Glasschat export"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_instance_moves_from_sqlite_to_postgres_whole() {
    an_instance_moves_to_the_other_database_whole(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test]
async fn an_instance_moves_from_postgres_to_sqlite_whole() {
    an_instance_moves_to_the_other_database_whole(Backend::Postgres, Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_exports_are_refused_and_leave_nothing_sqlite() {
    bad_exports_are_refused_and_leave_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_exports_are_refused_and_leave_nothing_postgres() {
    bad_exports_are_refused_and_leave_nothing(Backend::Postgres).await;
}
