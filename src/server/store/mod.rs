//! All SQL lives under this folder. One query text serves both databases:
//! statements use `$1`-style parameters (which sqlx's SQLite driver maps by
//! number too) and only portable SQL, and `on_pool!` expands each call once per
//! backend against its native sqlx driver. So nothing is written twice, and
//! each backend keeps its own types and prepared-statement cache.

mod keys;
mod messages;
mod rooms;
mod sessions;
mod support;
mod users;
mod writer;

pub use keys::KeyCount;
pub use messages::{NewMessage, Stored, SystemLine, Write, UNAVAILABLE};
pub use sessions::SessionRow;
pub use support::SupportRow;
pub use users::{NewUser, UserRow};
pub use writer::MessageWriter;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::server::config::{redact_password, Config, DatabaseKind};
use crate::server::crypto::Keyring;

/// Runs `$body` with `$pool` bound to whichever native pool `$db` holds.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::store::Db::Sqlite($pool) => $body,
            $crate::server::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The batch this write was part of failed (the cause is logged once).
    #[error("the write batch failed: {0}")]
    Batch(String),
    #[error("the message writer has stopped")]
    WriterGone,
    #[error("cannot encrypt: {0}")]
    Sealing(#[from] crate::server::crypto::OpenError),
    #[error("another Glasschat is already serving {path} (it holds {lock}); SQLite allows one node: stop that one, or use Postgres to run several")]
    Locked { path: String, lock: String },
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("cannot open the lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sql(err) => err
                .as_database_error()
                .is_some_and(|db| db.is_unique_violation()),
            _ => false,
        }
    }
}

/// What a backup holds.
#[derive(Debug, Clone, Copy)]
pub struct BackupCount {
    pub messages: i64,
    pub rooms: i64,
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The handle every service gets. Cheap to clone (pools and the keyring
/// are reference counted).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// Message bodies are sealed and opened with these (see `crypto`).
    pub keys: Keyring,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects, creating the SQLite file and its folder when needed, and
    /// applies every pending migration.
    pub async fn open(config: &Config) -> Result<Store, StoreError> {
        let url = &config.database_url;
        let connect_err = |source| StoreError::Connect {
            url: redact_password(url),
            source,
        };
        let db = match config.database_kind {
            DatabaseKind::Sqlite => {
                create_sqlite_dir(url)?;
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    // Checkpoints (which fsync) run on a background task, not
                    // inside whichever commit happens to fill the WAL.
                    .pragma("wal_autocheckpoint", "0");
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    // A local file cannot go stale; the ping would cost a
                    // round trip to the connection's thread on every acquire.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                spawn_checkpointer(pool.clone());
                Db::Sqlite(pool)
            }
            DatabaseKind::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Db::Postgres(pool)
            }
        };
        Ok(Store {
            db,
            keys: Keyring::default(),
        })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The Postgres pool, when that is the database (the fan-out listens on it).
    pub fn postgres_pool(&self) -> Option<PgPool> {
        match &self.db {
            Db::Postgres(pool) => Some(pool.clone()),
            Db::Sqlite(_) => None,
        }
    }

    /// Copies a SQLite database to a new file at `path` with `VACUUM INTO`:
    /// one read transaction, so the copy is one consistent instant even
    /// while the server writes. Refuses an existing file.
    pub async fn backup_to(&self, path: &str) -> Result<BackupCount, StoreError> {
        let Db::Sqlite(pool) = &self.db else {
            return Err(StoreError::Backup(
                "only SQLite databases are copied this way".into(),
            ));
        };
        if std::path::Path::new(path).exists() {
            return Err(StoreError::Backup(format!(
                "{path} exists already; name a new file"
            )));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(pool)
            .await
            .map_err(|e| StoreError::Backup(format!("cannot write {path}: {e}")))?;
        let copy = format!("sqlite://{path}?mode=ro");
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&copy).await?;
        let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&mut conn)
            .await?;
        let rooms: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms")
            .fetch_one(&mut conn)
            .await?;
        Ok(BackupCount { messages, rooms })
    }

    /// Answers when the database does; used by `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}

/// Copies the WAL back into the database file once a second (PASSIVE: it
/// never blocks the writer or readers), so the WAL stays small and no
/// message commit pays for an fsync-heavy checkpoint.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %err, "WAL checkpoint failed");
            }
        }
    });
}

/// With SQLite, takes an exclusive lock on `<database>.lock` for as long as
/// the returned file lives: a second node on the same file refuses to start
/// instead of sharing it (its writes would race this node's seqs and its
/// sockets would never hear this node's messages). The OS releases the lock
/// when the process ends, however it ends.
pub fn lock_single_node(config: &Config) -> Result<Option<std::fs::File>, StoreError> {
    if config.database_kind != DatabaseKind::Sqlite {
        return Ok(None);
    }
    let Some(db) = crate::server::config::sqlite_path(&config.database_url) else {
        return Ok(None); // in memory: nothing to share
    };
    create_sqlite_dir(&config.database_url)?;
    let lock = std::path::PathBuf::from(format!("{}.lock", db.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| StoreError::LockFile {
            path: lock.display().to_string(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: db.display().to_string(),
            lock: lock.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::LockFile {
            path: lock.display().to_string(),
            source,
        }),
    }
}

/// `sqlite://data/glasschat.db` → make sure `data/` exists.
fn create_sqlite_dir(url: &str) -> Result<(), StoreError> {
    match crate::server::config::sqlite_path(url)
        .as_deref()
        .and_then(std::path::Path::parent)
    {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Milliseconds since the Unix epoch: the one time format stored anywhere.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
