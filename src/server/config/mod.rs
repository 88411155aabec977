//! Settings read from the environment once at start. Every bad value becomes
//! one `ConfigError` line; nothing here panics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::server::crypto::{KeySource, MasterKey};

mod email;
mod metrics;
mod push;
mod retention;
mod sso;
pub use email::{EmailSettings, SmtpSecurity};
pub use metrics::MetricsSettings;
pub use push::PushSettings;
pub use retention::RetentionSettings;
pub use sso::SsoSettings;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is not a socket address like 127.0.0.1:3000: {value:?}")]
    BadAddr { name: &'static str, value: String },
    #[error("GLASSCHAT_PUBLIC_URL must be an http:// or https:// origin such as https://chat.example.com, got {0:?}")]
    BadPublicUrl(String),
    #[error("DATABASE_URL must start with sqlite: or postgres://, got {0:?}")]
    BadDatabaseUrl(String),
    /// The value is never printed: it is key material.
    #[error("GLASSCHAT_MASTER_KEY must be the base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")]
    BadMasterKey,
    #[error("{name} must be {expected}, got {value:?}")]
    BadNumber {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// Real-time limits; each is a setting with the default shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// GLASSCHAT_MAX_MESSAGE_CHARS (10000): longest message body, in characters.
    pub max_message_chars: usize,
    /// GLASSCHAT_MAX_FRAME_BYTES (65536): a larger WebSocket frame closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// GLASSCHAT_SEND_RATE ("30/10"): sends allowed per user per that many seconds.
    pub send_count: u32,
    pub send_period_secs: u32,
    /// GLASSCHAT_FRAME_RATE ("60/60"): a socket's frames other than sends
    /// and read marks (ping, hello, frames that do not decode) per that many
    /// seconds; a user's sockets together get ten times as many. A browser
    /// sends one hello per socket and nothing else of the kind, so this
    /// only stops floods.
    pub frame_count: u32,
    pub frame_period_secs: u32,
    /// GLASSCHAT_SIGNUP_RATE ("10/3600"): new accounts per client address
    /// per that many seconds.
    pub signup_count: u32,
    pub signup_period_secs: u32,
    /// GLASSCHAT_SIGNUP_RATE_TOTAL ("60/60"): new accounts from everyone
    /// together (a flood from many addresses leaves the cores to logins).
    pub signup_total_count: u32,
    pub signup_total_period_secs: u32,
    /// GLASSCHAT_RESET_RATE ("3/3600"): password reset emails one address
    /// may be sent per that many seconds.
    pub reset_count: u32,
    pub reset_period_secs: u32,
    /// GLASSCHAT_RESET_RATE_PER_ADDRESS ("20/3600"): reset requests and
    /// reset attempts from one client address per that many seconds.
    pub reset_address_count: u32,
    pub reset_address_period_secs: u32,
    /// GLASSCHAT_INVITE_RATE ("30/3600"): invitations one user may make
    /// (a member's to a direct chat, an admin's links) and registration
    /// settings they may change, per that many seconds.
    pub invite_count: u32,
    pub invite_period_secs: u32,
    /// GLASSCHAT_CHANGE_RATE ("60/30"): edits, deletes and reactions one
    /// user may make per that many seconds.
    pub change_count: u32,
    pub change_period_secs: u32,
    /// GLASSCHAT_LOOKUP_RATE ("120/60"): lookups one user may make per
    /// that many seconds (the `@` list's members as they type, a
    /// conversation's read receipts as they open it, privacy changes).
    pub lookup_count: u32,
    pub lookup_period_secs: u32,
    /// GLASSCHAT_SEARCH_RATE ("60/30"): searches one user may run per that
    /// many seconds (results come as they type, a few a second at most).
    pub search_count: u32,
    pub search_period_secs: u32,
    /// GLASSCHAT_UPLOAD_RATE ("60/60"): files one user may start to upload
    /// per that many seconds.
    pub upload_count: u32,
    pub upload_period_secs: u32,
    /// GLASSCHAT_MAX_FILE_MB (25): the largest file, in megabytes (10^6 bytes).
    pub max_file_bytes: i64,
    /// GLASSCHAT_MAX_FILES_PER_MESSAGE (10).
    pub max_files_per_message: usize,
    /// GLASSCHAT_FILE_QUOTA_MB (unset: none): the most one user may have
    /// stored in files, in megabytes.
    pub file_quota_bytes: Option<i64>,
    /// GLASSCHAT_SOCKET_QUEUE (1024): frames a socket may fall behind before it is closed.
    pub socket_queue: usize,
    /// GLASSCHAT_SOCKET_BUFFER_BYTES (4096): per-socket write buffer (the
    /// read buffer is a quarter of it).
    pub socket_buffer_bytes: usize,
    /// GLASSCHAT_MAX_SOCKETS_PER_USER (50): open sockets one account may
    /// hold on a node; one more is refused with 429.
    pub max_sockets_per_user: usize,
    /// GLASSCHAT_SESSION_CHECK_SECS (30): how often expired sessions are
    /// removed and the sockets opened under them closed.
    pub session_check_secs: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_chars: crate::realtime::protocol::MAX_MESSAGE_CHARS,
            max_frame_bytes: 64 * 1024,
            send_count: 30,
            send_period_secs: 10,
            frame_count: 60,
            frame_period_secs: 60,
            signup_count: 10,
            signup_period_secs: 3600,
            signup_total_count: 60,
            signup_total_period_secs: 60,
            reset_count: 3,
            reset_period_secs: 3600,
            reset_address_count: 20,
            reset_address_period_secs: 3600,
            invite_count: 30,
            invite_period_secs: 3600,
            change_count: 60,
            change_period_secs: 30,
            lookup_count: 120,
            lookup_period_secs: 60,
            search_count: 60,
            search_period_secs: 30,
            upload_count: 60,
            upload_period_secs: 60,
            max_file_bytes: crate::realtime::protocol::MAX_FILE_BYTES,
            max_files_per_message: crate::realtime::protocol::MAX_FILES_PER_MESSAGE,
            file_quota_bytes: None,
            socket_queue: 1024,
            socket_buffer_bytes: 4096,
            max_sockets_per_user: 50,
            session_check_secs: 30,
        }
    }
}

/// `1`/`true`/`yes` or `0`/`false`/`no` (unset: false).
fn flag(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match lookup(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => Ok(false),
        Some(v) => Err(ConfigError::BadNumber {
            name,
            expected: "1 or 0",
            value: v,
        }),
    }
}

fn number<T: std::str::FromStr + PartialOrd + From<u8>>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<T>() {
            Ok(n) if n >= T::from(1u8) => Ok(n),
            _ => Err(ConfigError::BadNumber {
                name,
                expected: "a whole number of at least 1",
                value: text,
            }),
        },
    }
}

/// `COUNT/SECONDS`, both at least 1.
fn rate(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: (u32, u32),
) -> Result<(u32, u32), ConfigError> {
    let Some(text) = lookup(name) else {
        return Ok(default);
    };
    text.split_once('/')
        .and_then(|(n, s)| Some((n.trim().parse::<u32>().ok()?, s.trim().parse::<u32>().ok()?)))
        .filter(|(n, s)| *n >= 1 && *s >= 1)
        .ok_or(ConfigError::BadNumber {
            name,
            expected: "COUNT/SECONDS such as 30/10",
            value: text,
        })
}

fn limits(lookup: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let (send_count, send_period_secs) = rate(
        lookup,
        "GLASSCHAT_SEND_RATE",
        (d.send_count, d.send_period_secs),
    )?;
    let (frame_count, frame_period_secs) = rate(
        lookup,
        "GLASSCHAT_FRAME_RATE",
        (d.frame_count, d.frame_period_secs),
    )?;
    let (signup_count, signup_period_secs) = rate(
        lookup,
        "GLASSCHAT_SIGNUP_RATE",
        (d.signup_count, d.signup_period_secs),
    )?;
    let (signup_total_count, signup_total_period_secs) = rate(
        lookup,
        "GLASSCHAT_SIGNUP_RATE_TOTAL",
        (d.signup_total_count, d.signup_total_period_secs),
    )?;
    let (reset_count, reset_period_secs) = rate(
        lookup,
        "GLASSCHAT_RESET_RATE",
        (d.reset_count, d.reset_period_secs),
    )?;
    let (reset_address_count, reset_address_period_secs) = rate(
        lookup,
        "GLASSCHAT_RESET_RATE_PER_ADDRESS",
        (d.reset_address_count, d.reset_address_period_secs),
    )?;
    let (invite_count, invite_period_secs) = rate(
        lookup,
        "GLASSCHAT_INVITE_RATE",
        (d.invite_count, d.invite_period_secs),
    )?;
    let (change_count, change_period_secs) = rate(
        lookup,
        "GLASSCHAT_CHANGE_RATE",
        (d.change_count, d.change_period_secs),
    )?;
    let (lookup_count, lookup_period_secs) = rate(
        lookup,
        "GLASSCHAT_LOOKUP_RATE",
        (d.lookup_count, d.lookup_period_secs),
    )?;
    let (search_count, search_period_secs) = rate(
        lookup,
        "GLASSCHAT_SEARCH_RATE",
        (d.search_count, d.search_period_secs),
    )?;
    let (upload_count, upload_period_secs) = rate(
        lookup,
        "GLASSCHAT_UPLOAD_RATE",
        (d.upload_count, d.upload_period_secs),
    )?;
    const MB: i64 = 1000 * 1000;
    let quota_mb: Option<i64> = match lookup("GLASSCHAT_FILE_QUOTA_MB") {
        None => None,
        Some(_) => Some(number(lookup, "GLASSCHAT_FILE_QUOTA_MB", 1)?),
    };
    Ok(Limits {
        upload_count,
        upload_period_secs,
        max_file_bytes: number(lookup, "GLASSCHAT_MAX_FILE_MB", d.max_file_bytes / MB)?
            .saturating_mul(MB),
        max_files_per_message: number(
            lookup,
            "GLASSCHAT_MAX_FILES_PER_MESSAGE",
            d.max_files_per_message,
        )?,
        file_quota_bytes: quota_mb.map(|mb| mb.saturating_mul(MB)),
        max_message_chars: number(lookup, "GLASSCHAT_MAX_MESSAGE_CHARS", d.max_message_chars)?,
        max_frame_bytes: number(lookup, "GLASSCHAT_MAX_FRAME_BYTES", d.max_frame_bytes)?,
        send_count,
        send_period_secs,
        frame_count,
        frame_period_secs,
        signup_count,
        signup_period_secs,
        signup_total_count,
        signup_total_period_secs,
        reset_count,
        reset_period_secs,
        reset_address_count,
        reset_address_period_secs,
        invite_count,
        invite_period_secs,
        change_count,
        change_period_secs,
        lookup_count,
        lookup_period_secs,
        search_count,
        search_period_secs,
        socket_queue: number(lookup, "GLASSCHAT_SOCKET_QUEUE", d.socket_queue)?,
        socket_buffer_bytes: number(
            lookup,
            "GLASSCHAT_SOCKET_BUFFER_BYTES",
            d.socket_buffer_bytes,
        )?,
        max_sockets_per_user: number(
            lookup,
            "GLASSCHAT_MAX_SOCKETS_PER_USER",
            d.max_sockets_per_user,
        )?,
        session_check_secs: number(lookup, "GLASSCHAT_SESSION_CHECK_SECS", d.session_check_secs)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub database_kind: DatabaseKind,
    pub addr: SocketAddr,
    /// The origin browsers show in `Origin` headers, e.g. `https://chat.example.com`.
    pub public_origin: String,
    /// Every origin a state-changing request or a socket may come from.
    pub allowed_origins: Vec<String>,
    /// `Secure` cookies (and the `__Host-` prefix) when served over https.
    pub secure_cookies: bool,
    /// Where cargo-leptos put the compiled client (`/pkg`) and assets.
    pub site_root: String,
    pub limits: Limits,
    /// Where the master key for messages at rest comes from.
    pub key_source: KeySource,
    /// GLASSCHAT_BEHIND_PROXY: the client's address is the last one in
    /// `X-Forwarded-For` (the one our reverse proxy added), not the proxy's.
    pub behind_proxy: bool,
    /// SMTP, when set (password reset links and missed-message digests).
    pub email: Option<EmailSettings>,
    /// Web Push timing (always on).
    pub push: PushSettings,
    /// Where `/metrics` is served (off unless set).
    pub metrics: MetricsSettings,
    /// How often the retention job runs.
    pub retention: RetentionSettings,
    /// Single sign-on with an OpenID Provider, when set.
    pub sso: Option<SsoSettings>,
    /// False when the public origin was derived from the listen address.
    explicit_public_url: bool,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/glasschat.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let database_kind = if database_url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            DatabaseKind::Postgres
        } else {
            return Err(ConfigError::BadDatabaseUrl(redact_password(&database_url)));
        };

        // cargo-leptos passes LEPTOS_SITE_ADDR to the server it runs.
        let (addr_name, addr_text) = match (lookup("GLASSCHAT_ADDR"), lookup("LEPTOS_SITE_ADDR")) {
            (Some(v), _) => ("GLASSCHAT_ADDR", v),
            (None, Some(v)) => ("LEPTOS_SITE_ADDR", v),
            (None, None) => ("GLASSCHAT_ADDR", DEFAULT_ADDR.to_string()),
        };
        let addr: SocketAddr = addr_text.trim().parse().map_err(|_| ConfigError::BadAddr {
            name: addr_name,
            value: addr_text.clone(),
        })?;

        let explicit_public = lookup("GLASSCHAT_PUBLIC_URL");
        let public_origin = match &explicit_public {
            Some(url) => parse_origin(url).ok_or_else(|| ConfigError::BadPublicUrl(url.clone()))?,
            None => String::new(),
        };
        let mut config = Config {
            database_url: database_url.clone(),
            database_kind: database_kind.clone(),
            addr,
            secure_cookies: public_origin.starts_with("https://"),
            allowed_origins: vec![public_origin.clone()],
            public_origin,
            site_root: lookup("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            limits: limits(&lookup)?,
            key_source: key_source(&lookup, &database_url, &database_kind)?,
            behind_proxy: flag(&lookup, "GLASSCHAT_BEHIND_PROXY")?,
            email: email::email(&lookup)?,
            push: push::push(&lookup)?,
            metrics: metrics::metrics(&lookup)?,
            retention: retention::retention(&lookup)?,
            sso: sso::sso(&lookup)?,
            explicit_public_url: explicit_public.is_some(),
        };
        config.set_bound_addr(addr);
        Ok(config)
    }

    /// Records the address actually listened on (port 0 becomes the real
    /// port). Without an explicit public URL, the origin follows it.
    pub fn set_bound_addr(&mut self, addr: SocketAddr) {
        self.addr = addr;
        if self.explicit_public_url {
            return;
        }
        self.public_origin = format!("http://{addr}");
        self.allowed_origins = vec![self.public_origin.clone()];
        // `localhost` is the same loopback server under another name: allow
        // it so `make run` works from either address-bar spelling.
        if addr.ip().is_loopback() {
            self.allowed_origins
                .push(format!("http://localhost:{}", addr.port()));
        }
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}

/// `GLASSCHAT_MASTER_KEY`, else `GLASSCHAT_KEY_FILE`, else (SQLite only)
/// `glasschat.key` next to the database file.
fn key_source(
    lookup: &impl Fn(&str) -> Option<String>,
    database_url: &str,
    kind: &DatabaseKind,
) -> Result<KeySource, ConfigError> {
    if let Some(text) = lookup("GLASSCHAT_MASTER_KEY") {
        return MasterKey::from_base64(&text)
            .map(KeySource::Env)
            .ok_or(ConfigError::BadMasterKey);
    }
    if let Some(path) = lookup("GLASSCHAT_KEY_FILE") {
        return Ok(KeySource::File {
            path: PathBuf::from(path.trim()),
            explicit: true,
        });
    }
    Ok(match kind {
        DatabaseKind::Sqlite => {
            let dir = sqlite_path(database_url)
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."));
            KeySource::File {
                path: dir.join("glasschat.key"),
                explicit: false,
            }
        }
        DatabaseKind::Postgres => KeySource::Missing,
    })
}

/// The file behind a `sqlite:` URL (`None` for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// Normalises `scheme://host[:port][/]` to the form browsers send in `Origin`:
/// lower case, no trailing slash, no default port. Anything with a path,
/// query or user info is refused.
fn parse_origin(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let host = rest.strip_suffix(default_port).unwrap_or(rest);
    if let Some((name, port)) = host.rsplit_once(':') {
        if !name.ends_with(']') && (name.is_empty() || port.parse::<u16>().is_err()) {
            return None;
        }
    }
    Some(format!("{scheme}://{host}"))
}

/// A database URL fit for a log line: the password, if any, replaced by `***`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn behind_proxy_is_a_flag() {
        let with = |v: &'static str| {
            Config::from_lookup(move |name| {
                (name == "GLASSCHAT_BEHIND_PROXY").then(|| v.to_string())
            })
        };
        assert!(with("1").unwrap().behind_proxy);
        assert!(!with("no").unwrap().behind_proxy);
        assert!(!Config::from_lookup(|_| None).unwrap().behind_proxy);
        assert!(matches!(with("maybe"), Err(ConfigError::BadNumber { .. })));
    }

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.database_kind, DatabaseKind::Sqlite);
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_origin, "http://127.0.0.1:3000");
        assert!(c.origin_allowed("http://localhost:3000"));
        assert!(!c.origin_allowed("http://evil.example"));
        assert!(!c.secure_cookies);
    }

    #[test]
    fn https_public_url_means_secure_cookies_and_one_origin() {
        let c = config(&[("GLASSCHAT_PUBLIC_URL", "HTTPS://Chat.Example.com:443/")]).unwrap();
        assert_eq!(c.public_origin, "https://chat.example.com");
        assert!(c.secure_cookies);
        assert_eq!(
            c.allowed_origins,
            vec!["https://chat.example.com".to_string()]
        );
    }

    #[test]
    fn bad_values_are_one_clear_error() {
        assert!(matches!(
            config(&[("GLASSCHAT_ADDR", "nowhere")]),
            Err(ConfigError::BadAddr { .. })
        ));
        assert!(matches!(
            config(&[("GLASSCHAT_PUBLIC_URL", "chat.example.com")]),
            Err(ConfigError::BadPublicUrl(_))
        ));
        assert!(matches!(
            config(&[("GLASSCHAT_PUBLIC_URL", "https://chat.example.com/app")]),
            Err(ConfigError::BadPublicUrl(_))
        ));
        let err = config(&[("DATABASE_URL", "mysql://root:hunter2@db/x")]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn leptos_site_addr_is_honoured_when_ours_is_absent() {
        let c = config(&[("LEPTOS_SITE_ADDR", "127.0.0.1:4000")]).unwrap();
        assert_eq!(c.addr.port(), 4000);
        let c = config(&[
            ("LEPTOS_SITE_ADDR", "127.0.0.1:4000"),
            ("GLASSCHAT_ADDR", "127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(c.addr.port(), 5000);
    }

    #[test]
    fn limits_have_defaults_and_refuse_nonsense() {
        assert_eq!(config(&[]).unwrap().limits, Limits::default());
        let c = config(&[
            ("GLASSCHAT_SEND_RATE", "1000/1"),
            ("GLASSCHAT_SOCKET_QUEUE", "64"),
        ])
        .unwrap();
        assert_eq!(
            (
                c.limits.send_count,
                c.limits.send_period_secs,
                c.limits.socket_queue
            ),
            (1000, 1, 64)
        );
        for (name, value) in [
            ("GLASSCHAT_SEND_RATE", "fast"),
            ("GLASSCHAT_SEND_RATE", "0/10"),
            ("GLASSCHAT_MAX_FRAME_BYTES", "-1"),
            ("GLASSCHAT_SOCKET_QUEUE", "0"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
    }
}
