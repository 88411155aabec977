//! Starts the real `glasschat` binary on a free port against a fresh SQLite
//! file or a fresh Postgres database, and talks to it over real HTTP.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub mod desk;
pub mod push_receiver;
pub mod smtp;

use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_glasschat");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body once per backend: `both_backends!(scenario);`
/// turns `async fn scenario(backend)` into `scenario::sqlite` and
/// `scenario::postgres` tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    };
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A database no other test uses. SQLite: a file in a new temp folder.
/// Postgres: `CREATE DATABASE` on the throwaway cluster `make test` started
/// (its URL in GLASSCHAT_TEST_PG).
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    dir: Option<PathBuf>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}_{}_{}", std::process::id(), n, nanos());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("glasschat-test-{tag}"));
                std::fs::create_dir_all(&dir).unwrap();
                TestDb {
                    url: format!("sqlite://{}/nested/glasschat.db", dir.display()),
                    backend,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let base = pg_base_url();
                let name = format!("glasschat_test_{tag}");
                let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap_or_else(|e| {
                    panic!("cannot reach the test Postgres at {base} ({e}); run the tests with `make test`")
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    dir: None,
                }
            }
        }
    }

    /// One number from SQL run straight against the database, bypassing
    /// the server (to check what is really stored).
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => sqlx::query_scalar(sql)
                .fetch_one(&mut self.sqlite_conn().await)
                .await
                .expect(sql),
            Backend::Postgres => sqlx::query_scalar(sql)
                .fetch_one(&mut self.pg_conn().await)
                .await
                .expect(sql),
        }
    }

    /// Runs one statement straight against the database.
    pub async fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                sqlx::query(sql)
                    .execute(&mut self.sqlite_conn().await)
                    .await
                    .expect(sql);
            }
            Backend::Postgres => {
                sqlx::query(sql)
                    .execute(&mut self.pg_conn().await)
                    .await
                    .expect(sql);
            }
        }
    }

    /// Runs one statement straight against the database; its error, if any.
    pub async fn try_execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => sqlx::query(sql)
                .execute(&mut self.sqlite_conn().await)
                .await
                .map(|_| ()),
            Backend::Postgres => sqlx::query(sql)
                .execute(&mut self.pg_conn().await)
                .await
                .map(|_| ()),
        }
    }

    async fn sqlite_conn(&self) -> sqlx::SqliteConnection {
        let path = self.sqlite_path().expect("sqlite path");
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open sqlite")
    }

    async fn pg_conn(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("open pg")
    }

    /// SQLite: the bytes of the database file and its WAL, as they are on
    /// disk now (for checks that nothing readable is stored). Postgres: none.
    pub fn sqlite_dumps(&self) -> Vec<(String, Vec<u8>)> {
        let Some(path) = self.sqlite_path() else {
            return Vec::new();
        };
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| {
                let file = format!("{}{suffix}", path.display());
                std::fs::read(&file).ok().map(|bytes| (file, bytes))
            })
            .collect()
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("nested/glasschat.db"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The master key Postgres test servers run with (base64 of 32 bytes).
pub const TEST_MASTER_KEY: &str = "Z2xhc3NjaGF0LXRlc3QtbWFzdGVyLWtleS0zMmJ5dGU=";

/// Runs the binary once with `args` against `db` (and its test key) plus
/// `extra_env`; returns (success, stdout, stderr).
pub async fn run_glasschat(
    db: &TestDb,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .args(args);
    if db.backend == Backend::Postgres {
        cmd.env("GLASSCHAT_MASTER_KEY", TEST_MASTER_KEY);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("glasschat should finish within 60 s")
        .expect("run glasschat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn pg_base_url() -> String {
    std::env::var("GLASSCHAT_TEST_PG")
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|_| panic!("GLASSCHAT_TEST_PG is not set: Postgres tests need the throwaway cluster that `make test` starts"))
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub struct TestServer {
    pub base: String,
    /// Shared by every node started on it (see `another_node`).
    pub db: std::sync::Arc<TestDb>,
    child: Child,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        let db = TestDb::new(backend).await;
        TestServer::start_on(db, &[]).await
    }

    pub async fn start_on(
        db: impl Into<std::sync::Arc<TestDb>>,
        extra_env: &[(&str, &str)],
    ) -> TestServer {
        let db = db.into();
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("GLASSCHAT_ADDR", "127.0.0.1:0")
            // Every test signs its accounts up from this one address; the
            // sign-up budget has its own test (row 5), which sets it back.
            .env("GLASSCHAT_SIGNUP_RATE", "1000000/1")
            .env("GLASSCHAT_SIGNUP_RATE_TOTAL", "1000000/1")
            .env("GLASSCHAT_INVITE_RATE", "1000000/1")
            // Edits and reactions likewise (row 8 checks their budget).
            .env("GLASSCHAT_CHANGE_RATE", "1000000/1")
            // And searches (tests/search.rs checks their budget).
            .env("GLASSCHAT_SEARCH_RATE", "1000000/1")
            // And uploads (tests/files.rs checks their budget).
            .env("GLASSCHAT_UPLOAD_RATE", "1000000/1")
            .env(
                "RUST_LOG",
                std::env::var("GLASSCHAT_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if db.backend == Backend::Postgres {
            // Postgres needs a master key in the environment (SQLite gets a
            // key file next to its database on first start).
            cmd.env("GLASSCHAT_MASTER_KEY", TEST_MASTER_KEY);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn glasschat");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(url) = line.strip_prefix("glasschat listening on ") {
                    return url.trim().to_string();
                }
            }
            panic!("glasschat exited before listening");
        })
        .await
        .expect("glasschat did not start within 60 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestServer {
            base,
            db,
            child,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs a form the way the WASM client does (no Accept: text/html).
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> Reply {
        self.post_form_with(path, form, cookie, &[]).await
    }

    pub async fn post_form_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(form));
        if let Some(c) = cookie {
            req = req.header("cookie", format!("glasschat_session={c}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().await.expect("request")).await
    }

    /// GETs like a browser navigation (Accept: text/html).
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = self
            .client
            .get(self.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        if let Some(c) = cookie {
            req = req.header("cookie", format!("glasschat_session={c}"));
        }
        Reply::from(req.send().await.expect("request")).await
    }

    pub async fn sign_up(&self, email: &str, name: &str, password: &str) -> Reply {
        self.post_form(
            "/api/signup",
            &[
                ("email", email),
                ("display_name", name),
                ("password", password),
            ],
            None,
        )
        .await
    }

    /// Signs up through an invitation link: the form carries its token.
    pub async fn sign_up_invited(&self, email: &str, name: &str, invite: &str) -> Reply {
        self.post_form(
            "/api/signup",
            &[
                ("email", email),
                ("display_name", name),
                ("password", "correct horse battery"),
                ("invite", invite),
            ],
            None,
        )
        .await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Reply {
        self.post_form(
            "/api/login",
            &[("email", email), ("password", password)],
            None,
        )
        .await
    }

    /// The user the cookie is signed in as, per `/api/me`.
    pub async fn me(&self, cookie: &str) -> serde_json::Value {
        let reply = self.post_form("/api/me", &[], Some(cookie)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Stops the server as systemd or a rolling restart does (SIGTERM) and
    /// waits for it to exit: whether it exited cleanly, how long it took,
    /// and its database for the next start.
    pub async fn terminate(self) -> (bool, Duration, std::sync::Arc<TestDb>) {
        let TestServer { db, mut child, .. } = self;
        let pid = child.id().expect("a running server") as libc::pid_t;
        let started = std::time::Instant::now();
        // SAFETY: kill(2) on the child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the server exits within 30 s of SIGTERM")
            .expect("wait for the server");
        (status.success(), started.elapsed(), db)
    }

    /// A second node of the same binary on the same database.
    pub async fn another_node(&self, extra_env: &[(&str, &str)]) -> TestServer {
        TestServer::start_on(self.db.clone(), extra_env).await
    }

    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Files: an upload as the browser makes it (announce, then PUT the
/// bytes), and a download's raw answer.
impl TestServer {
    /// Announces an upload; the answer (`UploadState` as JSON on 200).
    pub async fn start_upload(
        &self,
        cookie: &str,
        upload_id: &str,
        room: i64,
        name: &str,
        size: usize,
    ) -> Reply {
        let (room, size) = (room.to_string(), size.to_string());
        let form = [
            ("upload_id", upload_id),
            ("room", room.as_str()),
            ("name", name),
            ("size", size.as_str()),
        ];
        self.call(cookie, "start_upload", &form).await
    }

    /// PUTs `bytes` as upload `id`'s bytes from `offset`.
    pub async fn put_bytes(&self, cookie: &str, id: i64, offset: usize, bytes: Vec<u8>) -> Reply {
        let resp = self
            .client
            .put(self.url(&format!("/api/files/{id}?offset={offset}")))
            .header("content-type", "application/octet-stream")
            .header("cookie", format!("glasschat_session={cookie}"))
            .body(bytes)
            .send()
            .await
            .expect("request");
        Reply::from(resp).await
    }

    /// Uploads `bytes` as `name` into `room`: the file's id.
    pub async fn upload(&self, cookie: &str, room: i64, name: &str, bytes: &[u8]) -> i64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let upload_id = format!("u{n}");
        let started = self
            .start_upload(cookie, &upload_id, room, name, bytes.len())
            .await;
        assert_eq!(started.status, 200, "start {name}: {}", started.body);
        let id = started.json()["id"].as_i64().expect("file id");
        let put = self.put_bytes(cookie, id, 0, bytes.to_vec()).await;
        assert_eq!(put.status, 200, "upload {name}: {}", put.body);
        assert_eq!(put.json()["complete"], true, "{}", put.body);
        id
    }

    /// GETs `path` with the session (if any): status, headers and raw bytes.
    pub async fn download(
        &self,
        cookie: Option<&str>,
        path: &str,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header("cookie", format!("glasschat_session={c}"));
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.expect("body").to_vec())
    }
}

/// Server functions by endpoint, and a tab past its catch-up.
impl TestServer {
    pub async fn call(&self, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        self.post_form(&format!("/api/{endpoint}"), form, Some(cookie))
            .await
    }

    pub async fn call_as(
        &self,
        cookie: Option<&str>,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        self.post_form(&format!("/api/{endpoint}"), form, cookie)
            .await
    }

    /// A server function called by a website visitor's panel (its own
    /// cookie, or none).
    pub async fn visitor_call(
        &self,
        visitor: Option<&str>,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        let cookie = visitor.map(|v| format!("{VISITOR_COOKIE}={v}"));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        self.post_form_with(&format!("/api/{endpoint}"), form, None, &headers)
            .await
    }

    /// `cookie`'s user removes `user_id` from group `room`.
    pub async fn remove_member(&self, cookie: &str, room: i64, user_id: i64) -> Reply {
        let (room, user_id) = (room.to_string(), user_id.to_string());
        self.call(
            cookie,
            "rooms/remove",
            &[("room", &room), ("user_id", &user_id)],
        )
        .await
    }

    /// A fresh tab, past its catch-up.
    pub async fn tab(&self, cookie: &str) -> Tab {
        let mut tab = self.connect(cookie).await;
        tab.hello().await;
        tab
    }
}

/// A website visitor's session cookie (`server::http::cookie::VISITOR`).
pub const VISITOR_COOKIE: &str = "__Host-glasschat_visitor";

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn from(resp: reqwest::Response) -> Reply {
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.expect("body"),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The full `Set-Cookie` for the session cookie, if the reply sets it.
    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("glasschat_session="))
            .map(str::to_string)
    }

    /// The whole `Set-Cookie` of cookie `name`, panicking if not set.
    pub fn set_cookie_named(&self, name: &str) -> String {
        let prefix = format!("{name}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} cookie in reply {}: {}", self.status, self.body))
            .to_string()
    }

    /// The website visitor cookie's value, panicking if the reply did not
    /// set one.
    pub fn visitor(&self) -> String {
        let prefix = format!("{VISITOR_COOKIE}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(prefix.as_str()))
            .and_then(|rest| rest.split(';').next())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| panic!("no visitor cookie in reply {}: {}", self.status, self.body))
            .to_string()
    }

    /// The session cookie's value, panicking if the reply did not set one.
    pub fn session(&self) -> String {
        let header = self
            .set_cookie()
            .unwrap_or_else(|| panic!("no session cookie in reply {}: {}", self.status, self.body));
        header["glasschat_session=".len()..]
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// A form body as `application/x-www-form-urlencoded`.
pub fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------- sockets

use futures::{SinkExt, StreamExt};
use glasschat::realtime::protocol::{
    ClientFrame, MessageView, RoomCursor, RoomSummary, ServerFrame,
};
use glasschat::realtime::state::ClientState;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A test tab: a real WebSocket plus the client-side state the browser keeps.
pub struct Tab {
    pub ws: WsStream,
    pub state: ClientState,
    /// Every frame received, in order.
    pub log: Vec<ServerFrame>,
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replace("http://", "ws://"))
    }

    /// Opens a socket with this session and the server's own Origin, and
    /// reads the Welcome.
    pub async fn connect(&self, cookie: &str) -> Tab {
        let ws = self
            .ws_raw(Some(cookie), Some(&self.base.clone()))
            .await
            .expect("websocket handshake");
        Tab::welcomed(ws).await
    }

    /// Reconnects a tab that held `old`: the new Welcome is applied on top,
    /// as the browser client does, so `hello()` sends the old cursors.
    pub async fn reconnect(&self, cookie: &str, old: ClientState) -> Tab {
        let mut tab = self.connect(cookie).await;
        let welcome = tab.log[0].clone();
        tab.state = old;
        tab.state.apply(&welcome);
        tab.log.clear();
        tab
    }

    /// A raw handshake; the error carries the HTTP status when refused.
    pub async fn ws_raw(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
        let header = cookie.map(|c| format!("glasschat_session={c}"));
        self.ws_with_cookies(header.as_deref(), origin).await
    }

    /// A website visitor's panel socket (its own cookie), past the Welcome.
    pub async fn connect_visitor(&self, visitor: &str) -> Tab {
        let header = format!("{VISITOR_COOKIE}={visitor}");
        let ws = self
            .ws_with_cookies(Some(&header), Some(&self.base.clone()))
            .await
            .expect("websocket handshake");
        Tab::welcomed(ws).await
    }

    /// A raw handshake with this `Cookie` header.
    pub async fn ws_with_cookies(
        &self,
        cookies: Option<&str>,
        origin: Option<&str>,
    ) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
        let mut request = self.ws_url().into_client_request().unwrap();
        if let Some(c) = cookies {
            request.headers_mut().insert("cookie", c.parse().unwrap());
        }
        if let Some(o) = origin {
            request.headers_mut().insert("origin", o.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(ws, _)| ws)
    }

    /// Ada alone in a new room, with one tab that has said hello:
    /// (her cookie, the room, the tab).
    pub async fn alone_in_room(&self, name: &str) -> (String, i64, Tab) {
        let ada = self.user("ada@example.com").await;
        let room = self.group(&ada, name, &[]).await;
        let mut tab = self.connect(&ada).await;
        tab.hello().await;
        (ada, room, tab)
    }

    /// Signs up `email` and returns its session cookie.
    pub async fn user(&self, email: &str) -> String {
        let name = email.split('@').next().unwrap_or("user").to_string();
        let reply = self.sign_up(email, &name, "correct horse battery").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.session()
    }

    /// The direct chat of `cookie`'s account with `email` (made or found),
    /// which must have an account.
    pub async fn direct_chat(&self, cookie: &str, email: &str) -> i64 {
        let reply = self.call(cookie, "rooms/direct", &[("email", email)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["Room"].as_i64().expect("a room")
    }

    /// Creates a group room as `owner` with the given member emails.
    pub async fn group(&self, owner: &str, name: &str, members: &[&str]) -> i64 {
        let members = members.join(",");
        let reply = self
            .post_form(
                "/api/rooms/create",
                &[("name", name), ("members", &members)],
                Some(owner),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json().as_i64().expect("room id")
    }

    pub async fn history(&self, cookie: &str, room: i64, before: i64, limit: i64) -> Reply {
        self.post_form(
            "/api/history",
            &[
                ("room", &room.to_string()),
                ("before_seq", &before.to_string()),
                ("limit", &limit.to_string()),
            ],
            Some(cookie),
        )
        .await
    }

    /// Every stored message of a room as a member sees it, oldest first.
    pub async fn all_messages(&self, cookie: &str, room: i64) -> Vec<MessageView> {
        let mut out: Vec<MessageView> = Vec::new();
        let mut before = i64::MAX;
        loop {
            let reply = self.history(cookie, room, before, 200).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let page: Vec<MessageView> = serde_json::from_str(&reply.body).unwrap();
            if page.is_empty() {
                break;
            }
            before = page[0].seq;
            let mut page = page;
            page.extend(out);
            out = page;
        }
        out
    }

    /// Kills the server (SIGKILL) and starts a new one on the same database.
    pub async fn restart(self, extra_env: &[(&str, &str)]) -> TestServer {
        let TestServer { db, mut child, .. } = self;
        let _ = child.kill().await;
        TestServer::start_on(db, extra_env).await
    }
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Tab {
    /// A tab on a socket just opened, past its Welcome.
    async fn welcomed(ws: WsStream) -> Tab {
        let mut tab = Tab {
            ws,
            state: ClientState::default(),
            log: Vec::new(),
        };
        match tab.next().await {
            ServerFrame::Welcome { .. } => tab,
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        self.ws
            .send(WsMessage::Text(frame.to_json().into()))
            .await
            .expect("send frame");
    }

    /// Sends a frame; an error when the socket is gone (the server died).
    pub async fn try_send_frame(
        &mut self,
        frame: &ClientFrame,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(WsMessage::Text(frame.to_json().into())).await
    }

    /// The next frame, or `None` once the socket is closed.
    pub async fn next_or_close(&mut self) -> Option<ServerFrame> {
        self.next_raw().await
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(text.to_string().into()))
            .await
            .expect("send text");
    }

    /// Sends `Hello` with the cursors this tab's state holds, and reads
    /// until every room reports `CaughtUp`.
    pub async fn hello(&mut self) {
        let rooms: Vec<RoomCursor> = self.state.cursors();
        self.hello_with(rooms).await;
    }

    pub async fn hello_with(&mut self, rooms: Vec<RoomCursor>) {
        let expected = self.state.rooms.len();
        self.send_frame(&ClientFrame::Hello { rooms }).await;
        let mut caught_up = 0;
        while caught_up < expected {
            if let ServerFrame::CaughtUp { .. } = self.next().await {
                caught_up += 1;
            }
        }
    }

    pub async fn say(&mut self, room: i64, client_id: &str, body: &str) {
        self.send_message(room, client_id, body, None, Vec::new(), Vec::new())
            .await;
    }

    /// Sends a message frame with everything a send may carry.
    async fn send_message(
        &mut self,
        room: i64,
        client_id: &str,
        body: &str,
        reply_to: Option<i64>,
        mentions: Vec<i64>,
        files: Vec<i64>,
    ) {
        self.send_frame(&ClientFrame::Send {
            room,
            client_id: client_id.to_string(),
            body: body.to_string(),
            reply_to,
            mentions,
            files,
        })
        .await;
    }

    /// Sends `body` with the uploaded `files`.
    pub async fn send_files(&mut self, room: i64, client_id: &str, body: &str, files: &[i64]) {
        self.send_message(room, client_id, body, None, Vec::new(), files.to_vec())
            .await;
    }

    /// Sends `body`, naming `people` as picked from the `@` list.
    pub async fn mention(&mut self, room: i64, client_id: &str, body: &str, people: &[i64]) {
        self.send_message(room, client_id, body, None, people.to_vec(), Vec::new())
            .await;
    }

    /// Sends `body` as a reply to the message at `seq`.
    pub async fn reply(&mut self, room: i64, client_id: &str, body: &str, seq: i64) {
        self.send_message(room, client_id, body, Some(seq), Vec::new(), Vec::new())
            .await;
    }

    pub async fn edit(&mut self, room: i64, seq: i64, body: &str) {
        self.send_frame(&ClientFrame::Edit {
            room,
            seq,
            body: body.to_string(),
        })
        .await;
    }

    pub async fn delete(&mut self, room: i64, seq: i64) {
        self.send_frame(&ClientFrame::Delete { room, seq }).await;
    }

    pub async fn react(&mut self, room: i64, seq: i64, emoji: &str, on: bool) {
        self.send_frame(&ClientFrame::React {
            room,
            seq,
            emoji: emoji.to_string(),
            on,
        })
        .await;
    }

    /// The next frame (applied to the state and logged), or a panic after `WAIT`.
    pub async fn next(&mut self) -> ServerFrame {
        match self.next_raw().await {
            Some(frame) => frame,
            None => panic!("socket closed while waiting for a frame"),
        }
    }

    /// The next frame, or `None` when the socket closed.
    pub async fn next_raw(&mut self) -> Option<ServerFrame> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame within the wait")?;
            match msg {
                Ok(WsMessage::Text(text)) => {
                    let frame: ServerFrame =
                        serde_json::from_str(text.as_str()).expect("server frame");
                    self.state.apply(&frame);
                    self.log.push(frame.clone());
                    return Some(frame);
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Reads whatever is still in flight: frames until 300 ms pass quietly.
    pub async fn settle(&mut self) {
        loop {
            match tokio::time::timeout(Duration::from_millis(300), self.ws.next()).await {
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    let frame: ServerFrame =
                        serde_json::from_str(text.as_str()).expect("server frame");
                    self.state.apply(&frame);
                    self.log.push(frame);
                }
                Ok(Some(Ok(_))) => continue,
                _ => return,
            }
        }
    }

    /// Reads frames until the next `role_changed`, and returns its role.
    pub async fn role_changed(&mut self) -> glasschat::model::Role {
        self.until(|f| match f {
            ServerFrame::RoleChanged { role } => Some(*role),
            _ => None,
        })
        .await
    }

    /// Reads frames until `pick` returns something.
    pub async fn until<T>(&mut self, mut pick: impl FnMut(&ServerFrame) -> Option<T>) -> T {
        loop {
            let frame = self.next().await;
            if let Some(found) = pick(&frame) {
                return found;
            }
        }
    }

    /// Reads until this tab holds a message of `room` with `seq`.
    pub async fn until_seq(&mut self, room: i64, seq: i64) {
        while !self
            .state
            .rooms
            .get(&room)
            .is_some_and(|r| r.messages.contains_key(&seq))
        {
            self.next().await;
        }
    }

    /// Seqs of the message frames received for `room`, in arrival order.
    pub fn seqs(&self, room: i64) -> Vec<i64> {
        self.log
            .iter()
            .filter_map(|f| match f {
                ServerFrame::Message(m) if m.room == room => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    pub fn summary(&self, room: i64) -> RoomSummary {
        self.state.rooms[&room].summary.clone()
    }

    /// Reads (and applies) frames until the server closes the socket;
    /// returns the close code, `None` when the connection just ended.
    pub async fn closed_with(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("no close within 30 s")
            {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(WsMessage::Text(text))) => {
                    let frame: ServerFrame =
                        serde_json::from_str(text.as_str()).expect("server frame");
                    self.state.apply(&frame);
                    self.log.push(frame);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

// ------------------------------------------------------------ assertions

pub async fn ack(tab: &mut Tab) -> glasschat::realtime::protocol::Ack {
    tab.until(|f| match f {
        ServerFrame::Ack(a) => Some(a.clone()),
        ServerFrame::Error(e) => panic!("expected an ack, got {e:?}"),
        _ => None,
    })
    .await
}

/// The next `changed` frame (a panic on an error frame first).
pub async fn changed(tab: &mut Tab) -> glasschat::realtime::protocol::Change {
    tab.until(|f| match f {
        ServerFrame::Changed(c) => Some(c.clone()),
        ServerFrame::Error(e) => panic!("expected a change, got {e:?}"),
        _ => None,
    })
    .await
}

pub async fn error(tab: &mut Tab) -> glasschat::realtime::protocol::FrameError {
    tab.until(|f| match f {
        ServerFrame::Error(e) => Some(e.clone()),
        _ => None,
    })
    .await
}

/// The race check (Zulip runs one for every event type; later event kinds
/// reuse this): the state a tab built from its snapshot plus the live
/// events it received equals a freshly fetched snapshot.
pub async fn assert_matches_fresh(server: &TestServer, cookie: &str, tab: &mut Tab) {
    tab.settle().await;
    let mut fresh = server.connect(cookie).await;
    fresh.hello().await;
    for (room, state) in fresh.state.rooms.iter_mut() {
        let all = server.all_messages(cookie, *room).await;
        state.messages = all.into_iter().map(|m| (m.seq, m)).collect();
    }
    assert_eq!(
        tab.state.rooms.keys().collect::<Vec<_>>(),
        fresh.state.rooms.keys().collect::<Vec<_>>()
    );
    for (room, fresh_room) in &fresh.state.rooms {
        let mine = &tab.state.rooms[room];
        assert_eq!(mine.summary, fresh_room.summary, "room {room} summary");
        // A tab holds what arrived since it connected; all of it must match
        // the stored rows exactly, and nothing may be missing after its first.
        let first = mine.messages.keys().next().copied().unwrap_or(i64::MAX);
        let expected: Vec<_> = fresh_room
            .messages
            .values()
            .filter(|m| m.seq >= first)
            .collect();
        let held: Vec<_> = mine.messages.values().collect();
        assert_eq!(held, expected, "room {room} messages");
    }
}

/// SQLite: how far the search index is behind the writer (queued changes,
/// and text messages above the index's mark); 0 when it has caught up.
pub const INDEX_BEHIND: &str = "SELECT (SELECT COUNT(*) FROM search_queue)
     + (SELECT COUNT(*) FROM messages WHERE kind = 'text' AND id > (SELECT indexed_to FROM search_state))";
