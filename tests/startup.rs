//! Start-up behaviour of the real binary: the SQLite file appears on first
//! start, a bad setting or an unreachable database is one clear line and a
//! non-zero exit, and a dead Postgres makes /health answer 503.

mod common;

use std::time::Duration;

use common::{Backend, TestDb, TestServer, BIN};
use sqlx::Connection;

async fn run_expecting_failure(env: &[(&str, &str)]) -> String {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("glasschat should give up within 30 s")
        .expect("run glasschat");
    assert!(!out.status.success(), "expected a failure exit");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stderr.contains("panicked"),
        "a panic instead of a clear line: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one clear line, got: {stderr}");
    lines[0].to_string()
}

#[tokio::test]
async fn bad_settings_are_one_clear_line() {
    let line = run_expecting_failure(&[("GLASSCHAT_ADDR", "not-an-address")]).await;
    assert!(
        line.starts_with("glasschat: bad configuration: GLASSCHAT_ADDR"),
        "{line}"
    );

    let line = run_expecting_failure(&[("GLASSCHAT_PUBLIC_URL", "chat.example.com")]).await;
    assert!(line.contains("GLASSCHAT_PUBLIC_URL"), "{line}");

    let line = run_expecting_failure(&[("DATABASE_URL", "mysql://root:hunter2@localhost/x")]).await;
    assert!(line.contains("DATABASE_URL"), "{line}");
    assert!(
        !line.contains("hunter2"),
        "the password must not be printed: {line}"
    );

    let line = run_expecting_failure(&[("RUST_LOG", "glasschat=loud!!")]).await;
    assert!(line.contains("RUST_LOG"), "{line}");
}

#[tokio::test]
async fn an_unreachable_database_is_one_clear_line() {
    let line = run_expecting_failure(&[(
        "DATABASE_URL",
        "postgres://glasschat:s3cret@127.0.0.1:1/none",
    )])
    .await;
    assert!(
        line.starts_with(
            "glasschat: cannot open the database at postgres://glasschat:***@127.0.0.1:1/none"
        ),
        "{line}"
    );
    assert!(!line.contains("s3cret"));
}

#[tokio::test]
async fn sqlite_file_and_folder_are_created_on_first_start() {
    let db = TestDb::new(Backend::Sqlite).await;
    let path = db.sqlite_path().unwrap();
    assert!(!path.exists());
    let server = TestServer::start_on(db, &[]).await;
    assert!(server.db.sqlite_path().unwrap().exists());
    assert_eq!(server.get("/health", None).await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_postgres_goes_away() {
    let server = TestServer::start(Backend::Postgres).await;
    assert_eq!(server.get("/health", None).await.status, 200);

    let name = server.db.url.rsplit('/').next().unwrap().to_string();
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", common::pg_base_url()))
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();

    let health = server.get("/health", None).await;
    assert_eq!(health.status, 503, "{}", health.body);

    sqlx::query(&format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let mut healthy = false;
    for _ in 0..20 {
        if server.get("/health", None).await.status == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(healthy, "/health recovers when the database is back");
    server.stop().await;
}
