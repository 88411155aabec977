//! `glasschat backup PATH` copies a live SQLite database while messages
//! flow; a fresh server on the copy (with the same master key) shows every
//! message acknowledged before the backup began.

mod common;

use common::{ack, run_glasschat, Backend, TestDb, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_backup_restores_every_acknowledged_message() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_SEND_RATE", "100000/1")]).await;
    let (ada, room, mut tab) = server.alone_in_room("Backups").await;
    for i in 1..=50 {
        tab.say(room, &format!("before-{i}"), &format!("before {i}"))
            .await;
        ack(&mut tab).await;
    }

    // Keep writing while the backup runs.
    let writer = tokio::spawn(async move {
        for i in 1..=200 {
            tab.say(room, &format!("during-{i}"), &format!("during {i}"))
                .await;
            ack(&mut tab).await;
        }
        tab
    });
    let target = TestDb::new(Backend::Sqlite).await;
    let copy = target.sqlite_path().unwrap();
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let copy_text = copy.display().to_string();
    let (ok, out, err) = run_glasschat(&server.db, &["backup", &copy_text], &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains("backed up to"), "{out}");
    assert!(out.contains("master key is not in the backup"), "{out}");
    writer.await.unwrap();

    // A second backup to the same file is refused, not overwritten.
    let (ok, _, err) = run_glasschat(&server.db, &["backup", &copy_text], &[]).await;
    assert!(!ok && err.contains("exists already"), "{err}");

    // The copy is a consistent instant: a contiguous prefix of the room.
    let stored = target
        .scalar(&format!(
            "SELECT COUNT(*) FROM messages WHERE room_id = {room}"
        ))
        .await;
    let top = target
        .scalar(&format!(
            "SELECT MAX(seq) FROM messages WHERE room_id = {room}"
        ))
        .await;
    assert!(
        stored >= 50,
        "everything acknowledged before the backup is in it"
    );
    assert_eq!(stored, top, "no gap");
    let integrity: String = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&target.url).await.unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(integrity, "ok");

    // Restore: a fresh server on the copy, with the original master key.
    // (Kept apart from the database, as the command says: copied out before
    // the old server's folder goes away.)
    let original = server
        .db
        .sqlite_path()
        .unwrap()
        .with_file_name("glasschat.key");
    let key = copy.with_file_name("kept-apart.key");
    std::fs::copy(&original, &key).unwrap();
    let key_text = key.display().to_string();
    server.stop().await;
    let restored = TestServer::start_on(target, &[("GLASSCHAT_KEY_FILE", &key_text)]).await;
    let ada = {
        let _ = ada;
        let reply = restored
            .log_in("ada@example.com", "correct horse battery")
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.session()
    };
    let messages = restored.all_messages(&ada, room).await;
    assert_eq!(messages.len() as i64, stored);
    for (i, m) in messages.iter().take(50).enumerate() {
        assert_eq!(m.body, format!("before {}", i + 1));
    }
    restored.stop().await;
}
