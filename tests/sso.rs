//! Single sign-on end to end against a real OpenID Provider: the certified
//! `oidc-provider` package from npm, started by the test
//! (`tests/oidc/provider.mjs`), and the real binary on both databases. A
//! browser's walk through the redirects is an HTTP client with a cookie
//! jar. Checked: a first sign-in makes an account, a second finds it; a
//! forged, expired, wrong-nonce or wrong-audience ID token, a replayed
//! code, a replayed callback and a callback in another browser are each
//! refused and sign nobody in; linking by verified email is the admins'
//! choice; a deactivated account is refused; password sign-in can be
//! turned off (and on again from the command line); a bad setting stops
//! the start with one line.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{run_glasschat, Backend, TestDb, TestServer};
use reqwest::cookie::Jar;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_ID: &str = "glasschat";
const CLIENT_SECRET: &str = "glasschat-test-client-secret";

/// The provider process; killed when dropped.
struct Provider {
    issuer: String,
    _child: Child,
    http: reqwest::Client,
}

impl Provider {
    async fn start(redirect_uri: &str) -> Provider {
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/oidc/provider.mjs"
            ))
            .arg(redirect_uri)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node (installed by scripts/setup.sh)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("oidc provider listening on ") {
                    return url.trim().to_string();
                }
            }
            panic!("the provider exited before listening (npm packages installed?)");
        })
        .await
        .expect("the provider did not start within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Provider {
            issuer,
            _child: child,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) {
        let reply = self
            .http
            .post(format!("{}{path}", self.issuer))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("provider control");
        assert_eq!(reply.status().as_u16(), 204);
    }

    /// Who signs in next.
    async fn account(&self, sub: &str, email: &str, verified: bool, name: &str) {
        let body = serde_json::json!({"sub": sub, "email": email, "email_verified": verified, "name": name});
        self.post("/test/account", body).await;
    }

    async fn mode(&self, mode: &str) {
        self.post("/test/mode", serde_json::json!({ "mode": mode }))
            .await;
    }
}

/// A free port for the server (the provider must know the redirect URI
/// before the server starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A browser: a cookie jar, following redirects by hand.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

/// Where a walk through the redirects ended.
struct Landing {
    /// The provider's redirect back to Glasschat (with code and state).
    callback: String,
    /// Where Glasschat sent the browser after it.
    location: String,
}

impl Browser {
    fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        Browser { http, jar }
    }

    async fn get(&self, url: &str) -> (u16, Option<String>) {
        let reply = self.http.get(url).send().await.expect("request");
        let status = reply.status().as_u16();
        let location = reply
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                url::Url::parse(url)
                    .and_then(|base| base.join(l))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| l.to_string())
            });
        (status, location)
    }

    /// From "Sign in with …" to the provider and back, up to (not
    /// including) the callback: its URL.
    async fn to_callback(&self, server: &TestServer) -> String {
        let mut url = server.url("/auth/sso");
        for _ in 0..12 {
            let (status, location) = self.get(&url).await;
            let Some(next) = location else {
                panic!("{url} answered {status} with no redirect");
            };
            if next.starts_with(&server.url("/auth/sso/callback")) {
                return next;
            }
            url = next;
        }
        panic!("no callback after 12 redirects");
    }

    /// The whole sign-in.
    async fn sign_in(&self, server: &TestServer) -> Landing {
        let callback = self.to_callback(server).await;
        let (status, location) = self.get(&callback).await;
        assert_eq!(status, 303);
        Landing {
            callback,
            location: location.expect("a redirect"),
        }
    }

    /// The session cookie Glasschat set, if any.
    fn session(&self, server: &TestServer) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&server.url("/")).ok()?;
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|c| {
            c.strip_prefix("glasschat_session=")
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        })
    }
}

async fn start(backend: Backend) -> (Provider, TestServer) {
    let port = free_port();
    let provider = Provider::start(&format!("http://127.0.0.1:{port}/auth/sso/callback")).await;
    let addr = format!("127.0.0.1:{port}");
    let env = [
        ("GLASSCHAT_ADDR", addr.as_str()),
        ("GLASSCHAT_OIDC_ISSUER", provider.issuer.as_str()),
        ("GLASSCHAT_OIDC_CLIENT_ID", CLIENT_ID),
        ("GLASSCHAT_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("GLASSCHAT_OIDC_NAME", "Test IdP"),
    ];
    let server = TestServer::start_on(TestDb::new(backend).await, &env).await;
    (provider, server)
}

fn refused(landing: &Landing, code: &str) {
    assert!(
        landing.location.ends_with(&format!("/login?error={code}")),
        "{} (expected error {code})",
        landing.location
    );
}

async fn sign_in_through_the_provider(backend: Backend) {
    let (provider, server) = start(backend).await;
    let admin = server.user("root@example.com").await;
    let options = server
        .post_form("/api/login/options", &[], None)
        .await
        .json();
    assert_eq!(options["sso"], "Test IdP");
    assert_eq!(options["password"], true);

    // A first sign-in makes the account; a second finds the same one.
    provider
        .account("staff-1", "grace@example.com", true, "Grace Hopper")
        .await;
    let browser = Browser::new();
    let landing = browser.sign_in(&server).await;
    assert!(landing.location.ends_with('/'), "{}", landing.location);
    let session = browser.session(&server).expect("a session");
    let me = server.me(&session).await;
    assert_eq!(me["email"], "grace@example.com");
    assert_eq!(me["display_name"], "Grace Hopper");
    let grace = me["id"].as_i64().expect("id");
    let again = Browser::new();
    again.sign_in(&server).await;
    let session = again.session(&server).expect("a session");
    assert_eq!(server.me(&session).await["id"].as_i64(), Some(grace));

    // The same callback again: its state was used (and its cookie is gone).
    let (status, location) = browser.get(&landing.callback).await;
    assert_eq!(status, 303);
    assert!(location.is_some_and(|l| l.ends_with("error=sso_failed")));

    // A replayed code: a new sign-in's state with the old code. The
    // provider refuses a code twice.
    let fresh = Browser::new();
    let callback = fresh.to_callback(&server).await;
    let mut url = url::Url::parse(&callback).expect("url");
    let old_code = url::Url::parse(&landing.callback)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    url.query_pairs_mut()
        .clear()
        .append_pair("code", &old_code)
        .append_pair("state", &state);
    let (_, location) = fresh.get(url.as_str()).await;
    assert!(location.is_some_and(|l| l.ends_with("error=sso_failed")));
    assert!(fresh.session(&server).is_none());

    // A callback opened in another browser (sent to someone): refused, and
    // spent for the first browser too.
    let mine = Browser::new();
    let callback = mine.to_callback(&server).await;
    let theirs = Browser::new();
    let (_, location) = theirs.get(&callback).await;
    assert!(location.is_some_and(|l| l.ends_with("error=sso_failed")));
    assert!(theirs.session(&server).is_none());
    let (_, location) = mine.get(&callback).await;
    assert!(location.is_some_and(|l| l.ends_with("error=sso_failed")));

    // Bad ID tokens, each signed in a way the provider's client library
    // would refuse: nobody is signed in.
    for mode in ["forged", "expired", "wrong_nonce", "wrong_audience"] {
        provider.mode(mode).await;
        let browser = Browser::new();
        let landing = browser.sign_in(&server).await;
        refused(&landing, "sso_failed");
        assert!(browser.session(&server).is_none(), "{mode}");
    }
    provider.mode("normal").await;

    // An account with that email made with a password: refused until
    // admins allow linking, and then only for a verified email.
    server.user("ada@example.com").await;
    let ada = server
        .log_in("ada@example.com", "correct horse battery")
        .await
        .session();
    let ada_id = server.me(&ada).await["id"].as_i64();
    provider
        .account("staff-2", "ada@example.com", true, "Ada")
        .await;
    refused(&Browser::new().sign_in(&server).await, "sso_email_taken");
    let set = |link: &'static str, password: &'static str| {
        let admin = admin.clone();
        let server = &server;
        async move {
            let reply = server
                .call(
                    &admin,
                    "admin/sso/set",
                    &[("link_by_email", link), ("password_login", password)],
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    };
    set("true", "true").await;
    provider
        .account("staff-3", "ada@example.com", false, "Ada")
        .await;
    refused(&Browser::new().sign_in(&server).await, "sso_email_taken");
    provider
        .account("staff-2", "ada@example.com", true, "Ada")
        .await;
    let browser = Browser::new();
    browser.sign_in(&server).await;
    let session = browser.session(&server).expect("linked");
    assert_eq!(server.me(&session).await["id"].as_i64(), ada_id);

    // Deactivated: refused.
    let reply = server
        .call(
            &admin,
            "admin/active",
            &[("user", &grace.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    provider
        .account("staff-1", "grace@example.com", true, "Grace Hopper")
        .await;
    refused(
        &Browser::new().sign_in(&server).await,
        "account_deactivated",
    );

    // Password sign-in off: refused with a clear message, the login page
    // offers the provider only; single sign-on still works. The command
    // line turns it on again.
    set("true", "false").await;
    let reply = server
        .log_in("ada@example.com", "correct horse battery")
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.contains("PasswordLoginOff"), "{}", reply.body);
    let reply = server
        .sign_up("new@example.com", "New", "correct horse battery")
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let options = server
        .post_form("/api/login/options", &[], None)
        .await
        .json();
    assert_eq!(options["password"], false);
    provider
        .account("staff-2", "ada@example.com", true, "Ada")
        .await;
    assert!(Browser::new()
        .sign_in(&server)
        .await
        .location
        .ends_with('/'));
    let (ok, out, err) = run_glasschat(&server.db, &["admin", "password-login", "on"], &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains("is on"), "{out}");
    let reply = server
        .log_in("ada@example.com", "correct horse battery")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Audit: accounts made and linked, the settings changed.
    let entries = server.call(&admin, "admin/audit", &[]).await.json();
    let actions: Vec<&str> = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["user.created", "user.sso_linked", "sso.changed"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn sign_in_through_the_provider_sqlite() {
    sign_in_through_the_provider(Backend::Sqlite).await;
}

#[tokio::test]
async fn sign_in_through_the_provider_postgres() {
    sign_in_through_the_provider(Backend::Postgres).await;
}

/// A half-made or malformed setting stops the start with one line; an
/// admin cannot turn passwords off without a provider; the settings are
/// admins' only.
#[tokio::test]
async fn bad_settings_are_one_line_and_passwords_stay_without_a_provider() {
    let db = TestDb::new(Backend::Sqlite).await;
    for env in [
        vec![("GLASSCHAT_OIDC_ISSUER", "https://login.example.com")],
        vec![
            ("GLASSCHAT_OIDC_ISSUER", "login.example.com"),
            ("GLASSCHAT_OIDC_CLIENT_ID", "chat"),
            ("GLASSCHAT_OIDC_CLIENT_SECRET", "a-secret-never-printed"),
        ],
    ] {
        let (ok, _, err) = run_glasschat(&db, &[], &env).await;
        assert!(!ok);
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("glasschat:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains("GLASSCHAT_OIDC_ISSUER"), "{err}");
        assert!(!err.contains("a-secret-never-printed"), "{err}");
    }
    let server = TestServer::start_on(db, &[]).await;
    let admin = server.user("root@example.com").await;
    let member = server.user("bo@example.com").await;
    let reply = server
        .call(
            &admin,
            "admin/sso/set",
            &[("link_by_email", "false"), ("password_login", "false")],
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    for endpoint in ["admin/sso", "admin/sso/set"] {
        let reply = server
            .call(
                &member,
                endpoint,
                &[("link_by_email", "false"), ("password_login", "true")],
            )
            .await;
        assert_eq!(reply.status, 403, "{endpoint}: {}", reply.body);
    }
    let reply = server.get("/auth/sso", None).await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/login?error=sso_off"));
    let options = server
        .post_form("/api/login/options", &[], None)
        .await
        .json();
    assert!(options["sso"].is_null());
    assert_eq!(options["password"], true);
    server.stop().await;
}
