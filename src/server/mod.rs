//! Server-only code (compiled with the `ssr` feature). Each folder is one
//! role, and dependencies point down this list, never up:
//!
//! - `http`: the router, request guards, page CSP, `/health`, the `/ws` handler
//! - `services`: the rules of each domain (accounts, messages, conversations,
//!   support, admin, keys), and `publish`, which tells open sockets
//! - `cluster`: the cross-node fan-out (Postgres LISTEN/NOTIFY)
//! - `store`: all SQL, and the message writer
//! - `crypto`, `search_terms`, `auth`, `limits`, `config`: building blocks
//!   (cipher and keyring, what search indexes of a text, password hashing and
//!   session tokens, rate limits, settings)
//!
//! This file starts the server: it reads the settings, opens the store and
//! wires the layers together (`AppState`), passing the messages service's
//! publish hook down to the writer.

pub mod auth;
pub mod capacity;
pub mod cluster;
pub mod config;
pub mod crypto;
pub mod http;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod search_terms;
pub mod services;
mod shutdown;
pub mod state;
pub mod store;
pub mod webpush;

use std::time::Duration;

use leptos::config::LeptosOptions;
use tracing_subscriber::EnvFilter;

use config::{Config, ConfigError};
use services::{
    accounts, digests, files, keys, lifecycle, messages, presence, push, retention, search,
};
use state::AppState;
use store::{Store, StoreError};

/// Why the server could not start; printed as one line by `main`.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("bad configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("bad RUST_LOG: {0}")]
    LogFilter(String),
    #[error("bad Leptos.toml: {0}")]
    LeptosConfig(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Keys(#[from] keys::KeyError),
    #[error("bad configuration: {0}")]
    Mail(#[from] mail::MailError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("bad configuration: single sign-on: {0}")]
    Sso(String),
}

/// Reads the environment, opens and migrates the database, and serves until
/// SIGINT or SIGTERM.
pub async fn run() -> Result<(), StartupError> {
    let mut config = Config::from_env()?;
    init_logging()?;
    let descriptors = capacity::raise_descriptor_limit();
    // Scripts and operators read this line: every socket is a descriptor.
    println!(
        "glasschat can hold {} sockets (descriptor limit {descriptors}; raise it to hold more)",
        capacity::max_sockets()
    );

    // Held until the process ends.
    let _single_node = store::lock_single_node(&config)?;
    let store = Store::open(&config).await?;
    let master = keys::unlock(&store, &config.key_source).await?;
    search::prepare_index(&store).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: config.addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(StartupError::Serve)?;
    config.set_bound_addr(local);

    let leptos_options = leptos_options(&config, local)?;
    let database = config.database_kind.clone();
    let mailer = config.email.as_ref().map(mail::Mailer::new).transpose()?;
    let pusher = push::pusher(&config, &store);
    let sso = config
        .sso
        .clone()
        .map(|settings| oidc::OidcProvider::new(settings, &config.public_origin))
        .transpose()
        .map_err(StartupError::Sso)?;
    let state = AppState::new(
        config,
        store.clone(),
        leptos_options,
        messages::publisher,
        mailer,
        pusher,
        sso,
    )?;
    if let Some(pool) = store.postgres_pool() {
        let hub = state.hub.clone();
        state
            .fanout
            .listen(pool, store.clone(), hub)
            .await
            .map_err(|e| StartupError::Store(e.into()))?;
    }
    accounts::spawn_session_sweeper(
        state.clone(),
        Duration::from_secs(state.config.limits.session_check_secs),
    );
    lifecycle::spawn_watch(state.clone());
    search::spawn_indexer(state.clone());
    files::spawn_unsent_sweep(state.clone());
    presence::spawn_rounds(state.clone());
    digests::spawn_digests(state.clone());
    push::spawn_push(state.clone());
    retention::spawn_retention(state.clone());
    keys::spawn_key_follower(store, master);

    let app = http::router(state.clone());
    if let Some(addr) = state.config.metrics.addr {
        serve_metrics(&state, addr).await?;
    }
    tracing::info!(?database, "serving");
    // Tests and scripts wait for this exact line to learn the port.
    println!("glasschat listening on http://{local}");
    let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = http::serve::serve(listener, app, stopped);
    let mut serving = tokio::spawn(server);
    tokio::select! {
        served = &mut serving => {
            return match served {
                Ok(result) => result.map_err(StartupError::Serve),
                Err(join) => Err(StartupError::Serve(std::io::Error::other(join))),
            };
        }
        () = shutdown::signal() => {}
    }
    shutdown::stop(&state, stop_accepting, serving)
        .await
        .map_err(StartupError::Serve)
}

/// `/metrics` on an address of its own (GLASSCHAT_METRICS_ADDR), for as
/// long as the process runs; a bad or taken address stops the start.
async fn serve_metrics(state: &AppState, addr: std::net::SocketAddr) -> Result<(), StartupError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(StartupError::Serve)?;
    let app = http::metrics::own_router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    println!("glasschat metrics on http://{bound}/metrics");
    Ok(())
}

/// `glasschat keys status | rotate | drop ID`, against the configured
/// database and master key; returns the text to print.
pub async fn keys_command(args: &[String]) -> Result<String, String> {
    let config = Config::from_env().map_err(|e| StartupError::from(e).to_string())?;
    let store = Store::open(&config)
        .await
        .map_err(|e| StartupError::from(e).to_string())?;
    let master = keys::unlock(&store, &config.key_source)
        .await
        .map_err(|e| e.to_string())?;
    keys::command(&store, &master, args).await
}

/// `glasschat admin COMMAND`: accounts from the server's command line
/// (`services::operator`); returns the text to print.
pub async fn admin_command(args: &[String]) -> Result<String, String> {
    if args.is_empty() || args[0] == "help" || args[0] == "--help" {
        return Err(services::operator::USAGE.into());
    }
    let config = Config::from_env().map_err(|e| StartupError::from(e).to_string())?;
    let store = Store::open(&config)
        .await
        .map_err(|e| StartupError::from(e).to_string())?;
    services::operator::run(&store, &config.public_origin, args).await
}

/// `glasschat search reindex`: rebuilds the search index in the
/// background of the running servers; returns the text to print.
pub async fn search_command(args: &[String]) -> Result<String, String> {
    if args != ["reindex"] {
        return Err("usage: glasschat search reindex".into());
    }
    let store = open_unlocked().await?;
    search::reindex(&store).await.map_err(|e| e.to_string())
}

/// `glasschat backup PATH`: a consistent copy of the live SQLite database
/// (the server may keep running and writing); returns the text to print.
pub async fn backup_command(args: &[String]) -> Result<String, String> {
    let [path] = args else {
        return Err("usage: glasschat backup PATH (a new file for the copy)".into());
    };
    let config = Config::from_env().map_err(|e| StartupError::from(e).to_string())?;
    if config.database_kind != config::DatabaseKind::Sqlite {
        return Err(
            "backup copies a SQLite database; with Postgres use pg_dump (see the README)".into(),
        );
    }
    let store = Store::open(&config)
        .await
        .map_err(|e| StartupError::from(e).to_string())?;
    let copied = store.backup_to(path).await.map_err(|e| e.to_string())?;
    let key = match &config.key_source {
        crypto::KeySource::File { path, .. } => format!("the key file {}", path.display()),
        _ => "GLASSCHAT_MASTER_KEY".to_string(),
    };
    Ok(format!(
        "backed up to {path}: {} messages in {} rooms, as of one instant
         the master key is not in the backup: keep {key} too, stored apart from it
",
        copied.messages, copied.rooms
    ))
}

/// `glasschat export --out DIR`: the whole instance, decrypted, as JSON
/// lines; returns the text to print.
pub async fn export_command(args: &[String]) -> Result<String, String> {
    let ["--out", dir] = args.iter().map(String::as_str).collect::<Vec<_>>()[..] else {
        return Err("usage: glasschat export --out DIR (a new or empty folder)".into());
    };
    let store = open_unlocked().await?;
    eprintln!("glasschat: warning: {}", services::transfer::WARNING);
    services::transfer::export(&store, std::path::Path::new(dir))
        .await
        .map_err(|e| e.to_string())
}

/// `glasschat import DIR`: an export read into a fresh database; returns
/// the text to print.
pub async fn import_command(args: &[String]) -> Result<String, String> {
    let [dir] = args else {
        return Err("usage: glasschat import DIR (a folder glasschat export wrote)".into());
    };
    let store = open_unlocked().await?;
    services::transfer::import(&store, std::path::Path::new(dir))
        .await
        .map_err(|e| e.to_string())
}

/// `glasschat loadtest-seed --users N --out FILE`: for load tests only
/// (`services::bench_seed`); returns the text to print.
pub async fn loadtest_seed_command(args: &[String]) -> Result<String, String> {
    let (users, out) = services::bench_seed::parse(args).map_err(|e| e.to_string())?;
    let store = open_unlocked().await?;
    services::bench_seed::seed(&store, users, std::path::Path::new(&out))
        .await
        .map_err(|e| e.to_string())
}

/// The store of `DATABASE_URL` with its keys loaded, for a command.
async fn open_unlocked() -> Result<Store, String> {
    let config = Config::from_env().map_err(|e| StartupError::from(e).to_string())?;
    let store = Store::open(&config)
        .await
        .map_err(|e| StartupError::from(e).to_string())?;
    keys::unlock(&store, &config.key_source)
        .await
        .map_err(|e| e.to_string())?;
    Ok(store)
}

/// Where the built client is served from: `Leptos.toml` when it is there
/// (as in the project folder), else the defaults cargo-leptos builds with.
fn leptos_options(
    config: &Config,
    addr: std::net::SocketAddr,
) -> Result<LeptosOptions, StartupError> {
    let mut options = if std::path::Path::new(LEPTOS_TOML).exists() {
        leptos::config::get_config_from_file(LEPTOS_TOML)
            .map_err(|e| StartupError::LeptosConfig(e.to_string()))?
            .leptos_options
    } else {
        LeptosOptions::builder()
            .output_name("glasschat")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .build()
    };
    options.site_addr = addr;
    // A release build names its client files after their content and
    // leaves the names in a hash file beside the binary; a binary built
    // without cargo-leptos (the tests') has none and serves plain names.
    options.hash_files = beside_the_binary(&options.hash_file).is_some_and(|p| p.exists());
    if !options.hash_files {
        tracing::info!(
            "no {} beside the binary: build files served under plain names",
            options.hash_file
        );
    }
    Ok(options)
}

fn beside_the_binary(name: &str) -> Option<std::path::PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.join(name))
}

const LEPTOS_TOML: &str = "Leptos.toml";

fn init_logging() -> Result<(), StartupError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => EnvFilter::try_new(&value)
            .map_err(|e| StartupError::LogFilter(format!("{value:?}: {e}")))?,
        _ => EnvFilter::new("info,sqlx=warn"),
    };
    // A second init (only possible in tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}
