//! All SQL lives under this folder. One query text serves both databases:
//! statements use `$1`-style parameters (which sqlx's SQLite driver maps by
//! number too) and only portable SQL, and `on_pool!` expands each call once per
//! backend against its native sqlx driver. So nothing is written twice, and
//! each backend keeps its own types and prepared-statement cache.

mod audit;
mod canned;
mod changes;
mod details;
mod dump;
mod files;
mod keys;
mod lifecycle;
mod mentions;
mod messages;
mod notifications;
pub mod notify;
mod password_resets;
mod presence;
mod push;
mod ratings;
mod registration;
mod reports;
mod retention;
mod rooms;
mod search;
mod sessions;
mod sites;
mod spans;
mod sso;
mod support;
mod users;
mod writer;
mod writes;

pub use audit::NewAuditEntry;
pub use changes::{Action, ChangeRequest, EventPage, Refusal, SeqRange, Sequenced};
pub use dump::{DumpRow, RowSource, TABLES};
pub use files::{last_index, FileRow, NewUpload, CHUNK, ORIGINAL, PREVIEW, THUMBNAIL};
pub use keys::KeyCount;
pub use lifecycle::{Deactivated, NotDeactivated};
pub use messages::{NewMessage, SystemLine, UNAVAILABLE};
pub use notifications::DigestRoom;
pub use presence::ReceiptScope;
pub use push::{DuePush, NewDevice, PushDeviceRow, PushTargetRow};
pub use ratings::NewRating;
pub use registration::{ClaimedLink, REGISTRATION_DOMAINS, REGISTRATION_MODE};
pub use reports::{EventRow, RatingRow, TurnRow};
pub use retention::{RetentionTarget, RETENTION_DAYS};
pub use search::{IndexProgress, IndexQuery};
pub use sessions::SessionRow;
pub use sites::{NewVisitor, SiteRow, SiteSettings};
pub use sso::{PendingSso, SSO_LINK_BY_EMAIL, SSO_PASSWORD_LOGIN};
pub use support::SupportRow;
pub use users::{NewUser, UserRow};
pub use writer::{Committed, MessageWriter, Pending};
pub use writes::{IndexStep, Stored, TrimStep, Write};

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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

/// Ids as an SQL list (`4,8,15`). Integers only, so listing them in the
/// SQL text is safe; one text serves both databases.
pub(super) fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

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
    #[error("database migration failed: {0}")]
    MigrationCheck(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// From the SQLite message writer's own connection.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("an in-memory SQLite database cannot be served (each connection would see its own); name a file, e.g. sqlite://data/glasschat.db")]
    InMemory,
    /// The batch this write was part of failed (the cause is logged once).
    #[error("the write batch failed: {0}")]
    Batch(String),
    #[error("the message writer has stopped")]
    WriterGone,
    /// Inside the writer only: a run of texts stored by one statement
    /// would have refused one of them; the batch is stored again one
    /// message at a time (`writer::batch::store_batch`).
    #[error("a run of messages had one the database refused")]
    RunRefused,
    #[error("cannot encrypt: {0}")]
    Sealing(#[from] crate::server::crypto::OpenError),
    #[error("another Glasschat is already serving {path} (it holds {lock}); SQLite allows one node: stop that one, or use Postgres to run several")]
    Locked { path: String, lock: String },
    #[error("backup failed: {0}")]
    Backup(String),
    /// An export or import (`glasschat export` / `import`) that cannot go on.
    #[error("{0}")]
    Dump(String),
    #[error("cannot open the lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot make {path} readable by this account only: {source}")]
    FileMode {
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
    /// The SQLite file, for the message writer's own connection.
    sqlite_file: Option<std::path::PathBuf>,
    /// Message bodies are sealed and opened with these (see `crypto`).
    pub keys: Keyring,
    /// File chunks written at once (`files.rs`): one on SQLite, which
    /// takes one writer at a time anyway (parallel uploads would only
    /// wait on its lock, each on a connection of its own).
    chunk_writers: std::sync::Arc<tokio::sync::Semaphore>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies SQLite's pending migrations on a connection of their own, with
/// foreign keys off and the legacy rename: changing a constraint means
/// rebuilding a table (create, copy, drop, rename), and with foreign keys
/// on, dropping the old table would cascade into every row that points at
/// it. The keys are checked once the migrations are in.
async fn migrate_sqlite(options: &SqliteConnectOptions, url: &str) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    if crate::server::config::sqlite_path(url).is_none() {
        return Ok(());
    }
    let mut conn = options
        .clone()
        .foreign_keys(false)
        .pragma("legacy_alter_table", "ON")
        .connect()
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_password(url),
            source,
        })?;
    let before = migrations_applied(&mut conn).await?;
    SQLITE_MIGRATIONS.run(&mut conn).await?;
    // Checked after a migration only: the check reads every table.
    let broken: Vec<(String,)> = if migrations_applied(&mut conn).await? > before {
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(&mut conn)
            .await?
    } else {
        Vec::new()
    };
    conn.close().await?;
    match broken.first() {
        None => Ok(()),
        Some((table,)) => Err(StoreError::MigrationCheck(format!(
            "after the migrations, rows of table {table} point at rows that are not there"
        ))),
    }
}

/// How many migrations the database has had (none before the first).
async fn migrations_applied(conn: &mut sqlx::SqliteConnection) -> Result<i64, StoreError> {
    let table: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    if table == 0 {
        return Ok(0);
    }
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?)
}

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
                restrict_sqlite_files(url)?;
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    // Checkpoints (which fsync) run on a background task, not
                    // inside whichever commit happens to fill the WAL.
                    .pragma("wal_autocheckpoint", "0")
                    // A WAL that was started over is cut back to this size.
                    .pragma("journal_size_limit", "33554432")
                    // New files only (an existing one keeps its size). A
                    // message is a small row that dirties about two index
                    // leaves of its own (its room's, its sender's), and every
                    // dirty page is copied whole into the WAL and
                    // checksummed: 1 KiB pages instead of 4 KiB took the
                    // persist benchmark from about 27,800 to 31,200 msgs/s
                    // (2 KiB: 30,100); reads of history barely notice.
                    .page_size(1024);
                migrate_sqlite(&options, url).await?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    // A local file cannot go stale; the ping would cost a
                    // round trip to the connection's thread on every acquire.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                if crate::server::config::sqlite_path(url).is_none() {
                    // In memory: a second connection would be another
                    // database. It starts empty, so a table rebuilt with
                    // foreign keys on cascades nothing.
                    SQLITE_MIGRATIONS.run(&pool).await?;
                }
                spawn_checkpointer(pool.clone());
                Db::Sqlite(pool)
            }
            DatabaseKind::Postgres => {
                // JIT off: its compile time is for long analytic queries.
                // Ours are short, but the room summaries' many subqueries
                // cost enough on paper to trigger it: a user in 500 rooms
                // waited 730 ms of compiling for a 40 ms query.
                // `glasschat.writes_advance`: this build's INSERTs move their
                // rooms themselves, so the trigger kept for older nodes skips
                // them (migration 0027).
                let options = url
                    .parse::<sqlx::postgres::PgConnectOptions>()
                    .map_err(connect_err)?
                    .options([("jit", "off"), ("glasschat.writes_advance", "on")]);
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Db::Postgres(pool)
            }
        };
        let sqlite_file = match config.database_kind {
            DatabaseKind::Sqlite => crate::server::config::sqlite_path(url),
            DatabaseKind::Postgres => None,
        };
        let chunk_writers = match config.database_kind {
            DatabaseKind::Sqlite => 1,
            DatabaseKind::Postgres => 8,
        };
        Ok(Store {
            db,
            sqlite_file,
            keys: Keyring::default(),
            chunk_writers: std::sync::Arc::new(tokio::sync::Semaphore::new(chunk_writers)),
        })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The SQLite database file (none for Postgres or in memory).
    pub(crate) fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.sqlite_file.clone()
    }

    /// The pool's connections: (open, idle), for the metrics.
    pub fn pool_use(&self) -> (u32, usize) {
        on_pool!(&self.db, pool => (pool.size(), pool.num_idle()))
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
        // Created here, empty and readable by this account only (VACUUM
        // INTO fills an empty file); `create_new` refuses an existing one.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(OWNER_ONLY)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    StoreError::Backup(format!("{path} exists already; name a new file"))
                }
                _ => StoreError::Backup(format!("cannot write {path}: {e}")),
            })?;
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

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// WAL frames (pages) left after a passive checkpoint that make the next
/// one a RESTART: about 8 MiB at 4 KiB pages.
const WAL_RESTART_FRAMES: i64 = 2048;

/// Copies the WAL back into the database file on a background task, so no
/// message commit pays for an fsync-heavy checkpoint. Usually PASSIVE (it
/// never blocks the writer or readers). But under a steady stream of
/// commits a passive checkpoint never catches up with the end of the WAL,
/// so SQLite can never start it over and it grows without bound (600 MB in
/// ten seconds of the persist benchmark, with every commit then extending
/// the file). When a passive checkpoint leaves more than
/// `WAL_RESTART_FRAMES`, a RESTART checkpoint waits for the current write
/// to end, copies the rest and lets the next writer start the WAL from its
/// beginning (`journal_size_limit` then trims the file).
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(err) = checkpoint(&pool).await {
                tracing::warn!(error = %err, "WAL checkpoint failed");
            }
        }
    });
}

async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    // (busy, frames in the WAL, frames copied back)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    if frames > WAL_RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(pool)
            .await?;
    }
    Ok(())
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
        .mode(OWNER_ONLY)
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
/// Database files are readable by the server's account only, like the key
/// file: the database holds password hashes, session hashes and sealed
/// messages. SQLite gives its `-wal` and `-shm` files the database file's
/// mode, so a new database is created empty with that mode here; an
/// existing one (and its companions) is narrowed to it.
const OWNER_ONLY: u32 = 0o600;

fn restrict_sqlite_files(url: &str) -> Result<(), StoreError> {
    let Some(db) = crate::server::config::sqlite_path(url) else {
        return Ok(()); // in memory
    };
    let error = |path: &std::path::Path, source| StoreError::FileMode {
        path: path.display().to_string(),
        source,
    };
    if let Err(e) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(&db)
    {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(error(&db, e));
        }
    }
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(OWNER_ONLY)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error(&path, e)),
        }
    }
    Ok(())
}

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
