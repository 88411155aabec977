//! Row 10, encryption at rest and key rotation: nothing readable in the
//! database, tampered and moved ciphertexts refused row by row, online key
//! rotation, and a wrong or missing key refused at start. Nonce uniqueness
//! and the row format are unit tests in `src/server/crypto.rs`.

use crate::common::{self, ack, run_glasschat, Backend, Tab, TestServer};

async fn say_all(tab: &mut Tab, room: i64, tag: &str, bodies: &[String]) {
    for (i, body) in bodies.iter().enumerate() {
        tab.say(room, &format!("{tag}-{i}"), body).await;
        ack(tab).await;
    }
}

/// The bytes of the SQLite database and its WAL, as someone copying the
/// files would get them.
fn sqlite_files(server: &TestServer) -> Vec<u8> {
    let path = server.db.sqlite_path().expect("sqlite");
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    let wal = path.with_file_name("glasschat.db-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn plaintext_never_reaches_the_database(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("ada@example.com").await;
    let secrets: Vec<String> = (0..3)
        .map(|i| format!("canary-{i}-the launch code is 0000"))
        .collect();
    say_all(&mut tab, room, "before", &secrets).await;
    let cleared = server
        .post_form(
            "/api/rooms/clear",
            &[("room", &room.to_string())],
            Some(&ada),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    say_all(&mut tab, room, "after", &secrets).await;

    match backend {
        Backend::Sqlite => {
            let files = sqlite_files(&server);
            assert!(files.len() > 10_000, "read the database files");
            for secret in &secrets {
                assert!(!contains(&files, secret), "{secret} is in the SQLite file");
            }
            assert!(
                !contains(&files, "canary"),
                "no part of a body is in the file"
            );
            assert!(
                !contains(&files, "\"event\""),
                "system lines are sealed too"
            );
        }
        Backend::Postgres => {
            let found = server
                .db
                .scalar("SELECT COUNT(*) FROM messages WHERE position(convert_to('canary', 'UTF8') in body) > 0 OR position(convert_to('\"event\"', 'UTF8') in body) > 0")
                .await;
            assert_eq!(found, 0, "no plaintext in the messages table");
        }
    }
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM messages WHERE key_id IS NULL OR nonce IS NULL")
            .await,
        0
    );
    let shown: Vec<String> = server
        .all_messages(&ada, room)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    let mut expected = vec!["ada cleared the history".to_string()];
    expected.extend(secrets);
    assert_eq!(shown, expected, "members still read everything");

    if backend == Backend::Sqlite {
        let key = server
            .db
            .sqlite_path()
            .unwrap()
            .with_file_name("glasschat.key");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key file next to the database")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner reads the key file");
        // The database and its companions hold password and session hashes
        // and sealed messages: the owner's only too.
        let db = server.db.sqlite_path().unwrap();
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let path = format!("{}{suffix}", db.display());
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{path}");
        }
    }
}

async fn tampered_or_moved_rows_are_unavailable_and_the_rest_reads(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("ada@example.com").await;
    let bodies: Vec<String> = (1..=6).map(|i| format!("message {i}")).collect();
    say_all(&mut tab, room, "t", &bodies).await;

    let row = |seq: i64| format!("room_id = {room} AND seq = {seq}");
    let (zero_body, zero_nonce) = match backend {
        Backend::Sqlite => ("zeroblob(length(body))", "zeroblob(24)"),
        Backend::Postgres => (
            "decode(repeat('00', length(body)), 'hex')",
            "decode(repeat('00', 24), 'hex')",
        ),
    };
    let db = &server.db;
    db.execute(&format!(
        "UPDATE messages SET body = {zero_body} WHERE {}",
        row(2)
    ))
    .await;
    db.execute(&format!(
        "UPDATE messages SET nonce = {zero_nonce} WHERE {}",
        row(3)
    ))
    .await;
    db.execute(&format!(
        "UPDATE messages SET key_id = 999 WHERE {}",
        row(4)
    ))
    .await;
    // Seq 1's ciphertext, nonce and key copied into seq 5's row.
    db.execute(&format!(
        "UPDATE messages SET body = (SELECT body FROM messages WHERE {one}),
            nonce = (SELECT nonce FROM messages WHERE {one}),
            key_id = (SELECT key_id FROM messages WHERE {one})
         WHERE {five}",
        one = row(1),
        five = row(5)
    ))
    .await;

    let shown: Vec<(i64, String)> = server
        .all_messages(&ada, room)
        .await
        .into_iter()
        .map(|m| (m.seq, m.body))
        .collect();
    let unavailable = "message unavailable".to_string();
    assert_eq!(
        shown,
        vec![
            (1, "message 1".to_string()),
            (2, unavailable.clone()),
            (3, unavailable.clone()),
            (4, unavailable.clone()),
            (5, unavailable),
            (6, "message 6".to_string()),
        ]
    );
    // The room keeps working.
    tab.say(room, "after", "still here").await;
    assert_eq!(ack(&mut tab).await.seq, 7);
    let mut fresh = server.connect(&ada).await;
    fresh.hello().await;
    assert_eq!(
        fresh.summary(room).last.map(|m| m.body).as_deref(),
        Some("still here")
    );
}

async fn rotation_while_sending_moves_every_row(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_SEND_RATE", "100000/1")]).await;
    let (ada, room, mut tab) = server.alone_in_room("ada@example.com").await;
    let total = 150;
    let sender = tokio::spawn(async move {
        for i in 1..=total {
            tab.say(room, &format!("r-{i}"), &format!("rotating {i}"))
                .await;
            ack(&mut tab).await;
            if i % 25 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        tab
    });
    // Rotate while the sender is mid-way.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (ok, out, err) = run_glasschat(&server.db, &["keys", "rotate"], &[]).await;
    assert!(ok, "rotate failed: {err}");
    assert!(out.contains("key 2 is now current"), "{out}");
    let _tab = sender.await.expect("sender");

    // The server moves whatever was written under key 1 meanwhile.
    let mut left = i64::MAX;
    for _ in 0..100 {
        left = server
            .db
            .scalar("SELECT COUNT(*) FROM messages WHERE key_id <> 2 OR key_id IS NULL")
            .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "every row is under the new key");
    let stored = server.all_messages(&ada, room).await;
    assert_eq!(stored.len(), total, "nothing lost or duplicated");
    for (i, m) in stored.iter().enumerate() {
        assert_eq!(m.seq, i as i64 + 1);
        assert_eq!(m.body, format!("rotating {}", i + 1));
    }

    let (ok, out, _) = run_glasschat(&server.db, &["keys", "status"], &[]).await;
    assert!(ok);
    assert!(out.contains(&format!("2     {total:<9} current")), "{out}");
    assert!(out.contains("1     0         old"), "{out}");
    let (ok, _, err) = run_glasschat(&server.db, &["keys", "drop", "2"], &[]).await;
    assert!(!ok && err.contains("current"), "{err}");
    let (ok, out, err) = run_glasschat(&server.db, &["keys", "drop", "1"], &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains("key 1 dropped"), "{out}");
    assert!(!out.contains(common::TEST_MASTER_KEY) && !err.contains(common::TEST_MASTER_KEY));
}

async fn a_wrong_or_missing_key_refuses_to_start(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ada, room, mut tab) = server.alone_in_room("ada@example.com").await;
    say_all(&mut tab, room, "s", &["sealed".to_string()]).await;
    drop(tab);
    // Stopped and waited for, so its lock on the database is released.
    let db = server.db.clone();
    server.stop().await;
    let other = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI=";
    let (ok, _, err) = run_glasschat(
        &db,
        &[],
        &[
            ("GLASSCHAT_MASTER_KEY", other),
            ("GLASSCHAT_ADDR", "127.0.0.1:0"),
        ],
    )
    .await;
    assert!(!ok);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one clear line: {err}");
    assert!(lines[0].contains("master key does not open"), "{err}");
    assert!(!err.contains(other));

    let (ok, _, err) = run_glasschat(
        &db,
        &[],
        &[
            ("GLASSCHAT_MASTER_KEY", "not base64!"),
            ("GLASSCHAT_ADDR", "127.0.0.1:0"),
        ],
    )
    .await;
    assert!(!ok && err.contains("GLASSCHAT_MASTER_KEY must be"), "{err}");
    assert!(
        !err.contains("not base64"),
        "the value is never echoed: {err}"
    );

    if backend == Backend::Sqlite {
        let key = db.sqlite_path().unwrap().with_file_name("glasschat.key");
        std::fs::remove_file(&key).unwrap();
        let (ok, _, err) = run_glasschat(&db, &[], &[("GLASSCHAT_ADDR", "127.0.0.1:0")]).await;
        assert!(!ok);
        assert!(err.contains("no master key at"), "{err}");
        assert!(
            !key.exists(),
            "no new key is made for an encrypted database"
        );
    } else {
        let (ok, _, err) = run_glasschat(
            &db,
            &[],
            &[
                ("GLASSCHAT_MASTER_KEY", ""),
                ("GLASSCHAT_ADDR", "127.0.0.1:0"),
            ],
        )
        .await;
        assert!(!ok && err.contains("set GLASSCHAT_MASTER_KEY"), "{err}");
    }
}

both_backends!(plaintext_never_reaches_the_database);
both_backends!(tampered_or_moved_rows_are_unavailable_and_the_rest_reads);
both_backends!(rotation_while_sending_moves_every_row);
both_backends!(a_wrong_or_missing_key_refuses_to_start);
