//! Accounts and sessions through real HTTP against the real binary, each
//! scenario once on SQLite and once on Postgres.

mod common;

use common::{Backend, TestServer};

const PW: &str = "correct horse battery";

async fn sign_up_first_admin_then_members(backend: Backend) {
    let server = TestServer::start(backend).await;
    let reply = server
        .sign_up("  Ada@Example.COM ", "  Ada Lovelace ", PW)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = reply.json();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["display_name"], "Ada Lovelace");
    assert_eq!(user["role"], "admin", "the first account becomes admin");

    let cookie = reply.set_cookie().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    assert_eq!(
        server.me(&reply.session()).await["email"],
        "ada@example.com"
    );

    let second = server.sign_up("bob@example.com", "Bob", PW).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["role"], "member");
    server.stop().await;
}
both_backends!(sign_up_first_admin_then_members);

async fn duplicate_email_is_refused_clearly(backend: Backend) {
    let server = TestServer::start(backend).await;
    assert_eq!(
        server.sign_up("ada@example.com", "Ada", PW).await.status,
        200
    );
    let dup = server
        .sign_up(" ADA@example.com", "Other Ada", "another password")
        .await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(dup.json(), serde_json::json!("EmailTaken"));
    assert!(dup.set_cookie().is_none());
    // The original account still logs in with its own password.
    assert_eq!(server.log_in("ada@example.com", PW).await.status, 200);
    assert_eq!(
        server
            .log_in("ada@example.com", "another password")
            .await
            .status,
        401
    );
    server.stop().await;
}
both_backends!(duplicate_email_is_refused_clearly);

async fn invalid_sign_up_input_is_refused_and_nothing_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cases = [
        ("not-an-email", "Ada", PW, "Email"),
        ("ada@example.com", "   ", PW, "DisplayName"),
        ("ada@example.com", &"n".repeat(65), PW, "DisplayName"),
        ("ada@example.com", "Ada", "short", "Password"),
        ("ada@example.com", "Ada", &"p".repeat(129), "Password"),
    ];
    for (email, name, pw, field) in cases {
        let reply = server.sign_up(email, name, pw).await;
        assert_eq!(reply.status, 422, "{email} {name} {pw}: {}", reply.body);
        assert_eq!(reply.json(), serde_json::json!({ "Invalid": field }));
    }
    // None of those created the account, so the first real sign-up is the admin.
    let ok = server.sign_up("ada@example.com", "Ada", PW).await;
    assert_eq!(ok.json()["role"], "admin");
    server.stop().await;
}
both_backends!(invalid_sign_up_input_is_refused_and_nothing_stored);

async fn concurrent_first_sign_ups_make_one_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let emails: Vec<String> = (0..4).map(|i| format!("user{i}@example.com")).collect();
    let replies =
        futures::future::join_all(emails.iter().map(|e| server.sign_up(e, "Racer", PW))).await;
    let roles: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["role"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        roles.iter().filter(|r| *r == "admin").count(),
        1,
        "{roles:?}"
    );
    server.stop().await;
}
both_backends!(concurrent_first_sign_ups_make_one_admin);

async fn logout_ends_the_session_on_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cookie = server.sign_up("ada@example.com", "Ada", PW).await.session();
    let other_tab = server.log_in("ada@example.com", PW).await.session();

    let out = server.post_form("/api/logout", &[], Some(&cookie)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let cleared = out.set_cookie().expect("logout clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    assert_eq!(
        server.me(&cookie).await,
        serde_json::Value::Null,
        "the old cookie is refused"
    );
    let page = server.get("/", Some(&cookie)).await;
    assert_eq!(page.status, 302);
    // Logging out one session leaves the user's other sessions alone.
    assert_eq!(server.me(&other_tab).await["email"], "ada@example.com");
    server.stop().await;
}
both_backends!(logout_ends_the_session_on_the_server);

async fn pages_redirect_by_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.get("/", None).await;
    assert_eq!(anon.status, 302);
    assert_eq!(anon.header("location"), Some("/login"));

    let login_page = server.get("/login", None).await;
    assert_eq!(login_page.status, 200);
    assert!(
        login_page.body.contains("id=\"login-form\""),
        "the login form is server-rendered"
    );
    assert!(
        login_page.body.contains("action=\"/api/login\""),
        "it posts without JavaScript"
    );

    let cookie = server
        .sign_up("ada@example.com", "Ada <b>Lovelace</b>", PW)
        .await
        .session();
    let shell = server.get("/", Some(&cookie)).await;
    assert_eq!(shell.status, 200);
    assert!(
        shell.body.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"),
        "names are rendered as text"
    );
    assert!(!shell.body.contains("<b>Lovelace</b>"));
    assert_eq!(
        server.get("/login", Some(&cookie)).await.status,
        302,
        "signed in: /login goes to /"
    );
    server.stop().await;
}
both_backends!(pages_redirect_by_session);

async fn forms_work_without_javascript(backend: Backend) {
    let server = TestServer::start(backend).await;
    let html = [
        ("accept", "text/html,application/xhtml+xml"),
        ("referer", "/signup"),
    ];
    let signup = server
        .post_form_with(
            "/api/signup",
            &[
                ("email", "ada@example.com"),
                ("display_name", "Ada"),
                ("password", PW),
            ],
            None,
            &html,
        )
        .await;
    assert_eq!(signup.status, 302);
    assert_eq!(signup.header("location"), Some("/"));
    assert!(signup.set_cookie().is_some());

    let html = [("accept", "text/html"), ("referer", "/login")];
    let bad = server
        .post_form_with(
            "/api/login",
            &[("email", "ada@example.com"), ("password", "nope nope")],
            None,
            &html,
        )
        .await;
    assert_eq!(bad.status, 302);
    assert_eq!(
        bad.header("location"),
        Some("/login?error=invalid_credentials")
    );
    let page = server.get("/login?error=invalid_credentials", None).await;
    assert!(
        page.body.contains("Invalid email or password."),
        "the redirected page shows the error"
    );
    server.stop().await;
}
both_backends!(forms_work_without_javascript);

async fn health_answers_ok(backend: Backend) {
    let server = TestServer::start(backend).await;
    let health = server.get("/health", None).await;
    assert_eq!(health.status, 200, "{}", health.body);
    let body = health.json();
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("ok"), Some("ok"))
    );
    let fanout = match backend {
        Backend::Sqlite => "single-node",
        Backend::Postgres => "listening",
    };
    assert_eq!(body["fanout"].as_str(), Some(fanout));
    server.stop().await;
}
both_backends!(health_answers_ok);

/// Common or guessable passwords are refused with zxcvbn's reason, at
/// sign-up and at a password change, and nothing is stored.
async fn guessable_passwords_are_refused_with_a_reason(backend: Backend) {
    let server = TestServer::start(backend).await;
    for weak in ["password", "12345678", "qwertyuiop", "ada.lovelace1"] {
        let reply = server
            .sign_up("ada.lovelace@example.com", "Ada Lovelace", weak)
            .await;
        assert_eq!(reply.status, 422, "{weak}: {}", reply.body);
        let reason = reply.json()["WeakPassword"]["reason"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!reason.is_empty(), "{weak}");
    }
    let common = server
        .sign_up("ada.lovelace@example.com", "Ada", "password")
        .await;
    let message: glasschat::api::ApiError = serde_json::from_str(&common.body).unwrap();
    assert!(
        message
            .to_string()
            .starts_with("This password is too easy to guess."),
        "{message}"
    );
    assert!(
        message.to_string().to_lowercase().contains("common"),
        "{message}"
    );
    assert_eq!(
        server
            .log_in("ada.lovelace@example.com", "password")
            .await
            .status,
        401
    );

    let ada = server.sign_up("ada.lovelace@example.com", "Ada", PW).await;
    assert_eq!(ada.json()["role"], "admin", "the first real account");
    let cookie = ada.session();
    let change = server
        .call(&cookie, "password", &[("current", PW), ("new", "iloveyou")])
        .await;
    assert_eq!(change.status, 422, "{}", change.body);
    assert_eq!(
        server.log_in("ada.lovelace@example.com", PW).await.status,
        200,
        "unchanged"
    );
    server.stop().await;
}
both_backends!(guessable_passwords_are_refused_with_a_reason);

/// The app is installable (icons and a manifest at the site root) and
/// answers compressed to a browser that asks.
async fn the_app_is_installable_and_answers_compressed(backend: Backend) {
    let site = site_root("install");
    let (server, http) = serve_site(backend, &site).await;
    let get = |path: &str, encoding: Option<&str>| {
        let mut request = http.get(server.url(path));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let favicon = get("/favicon.ico", None).await.unwrap();
    assert_eq!(favicon.status(), 200);
    assert_eq!(
        &favicon.bytes().await.unwrap()[..4],
        &[0, 0, 1, 0],
        "an ICO"
    );
    for icon in [
        "/icon-192.png",
        "/icon-512.png",
        "/icon-maskable-512.png",
        "/apple-touch-icon.png",
    ] {
        let reply = get(icon, None).await.unwrap();
        assert_eq!(reply.status(), 200, "{icon}");
        assert_eq!(reply.headers()["content-type"], "image/png", "{icon}");
    }
    let manifest = get("/manifest.webmanifest", None).await.unwrap();
    assert_eq!(manifest.status(), 200);
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.bytes().await.unwrap()).unwrap();
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["name"], "Glasschat");
    let sizes: Vec<&str> = manifest["icons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["sizes"].as_str())
        .collect();
    assert!(
        sizes.contains(&"192x192") && sizes.contains(&"512x512"),
        "{sizes:?}"
    );
    let page = get("/login", None).await.unwrap().text().await.unwrap();
    assert!(
        page.contains(r#"rel="manifest" href="/manifest.webmanifest""#),
        "{page}"
    );

    // Compressed for a browser that asks, plain for one that does not.
    let br = get("/login", Some("br, gzip")).await.unwrap();
    assert_eq!(br.status(), 200);
    assert_eq!(br.headers()["content-encoding"], "br");
    let gzip = get("/login", Some("gzip")).await.unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let plain = get("/login", None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    server.stop().await;
    let _ = std::fs::remove_dir_all(&site);
}
both_backends!(the_app_is_installable_and_answers_compressed);

/// The server on `site`, and a client that shows redirects as they come.
async fn serve_site(backend: Backend, site: &std::path::Path) -> (TestServer, reqwest::Client) {
    let site_root = site.to_string_lossy().to_string();
    let server = TestServer::start_on(
        common::TestDb::new(backend).await,
        &[("LEPTOS_SITE_ROOT", site_root.as_str())],
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (server, http)
}

/// A site root as `scripts/build.sh` makes it: public/ copied in, and under
/// pkg/ what the test puts there.
fn site_root(name: &str) -> std::path::PathBuf {
    let site = std::env::temp_dir().join(format!(
        "glasschat-site-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let public = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
    for entry in std::fs::read_dir(public).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, site.join(path.file_name().unwrap())).unwrap();
    }
    site
}

/// The build's files go out as the build compressed them (brotli or gzip,
/// whichever the browser takes; the server does not compress them again)
/// and are kept for good under their content-hashed names; files that keep
/// their name are revalidated; pages and answers are never stored.
async fn build_files_are_served_precompressed_and_cached_for_good(backend: Backend) {
    let site = site_root("build");
    let hashed = "glasschat.mWkY3sVZ0XQh2cl6yQn_-A.wasm";
    let wasm: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    // Marked copies, so the test sees which one was sent.
    std::fs::write(site.join("pkg").join(hashed), &wasm).unwrap();
    std::fs::write(
        site.join("pkg").join(format!("{hashed}.br")),
        b"brotli copy",
    )
    .unwrap();
    std::fs::write(site.join("pkg").join(format!("{hashed}.gz")), b"gzip copy").unwrap();
    std::fs::write(site.join("pkg/glasschat.wasm"), &wasm).unwrap();
    let (server, http) = serve_site(backend, &site).await;
    let get = |path: String, encoding: Option<&str>| {
        let mut request = http.get(server.url(&path));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let path = format!("/pkg/{hashed}");
    for (accept, encoding, body) in [
        (
            Some("gzip, deflate, br, zstd"),
            Some("br"),
            &b"brotli copy"[..],
        ),
        (Some("gzip"), Some("gzip"), &b"gzip copy"[..]),
        (None, None, &wasm[..]),
    ] {
        let reply = get(path.clone(), accept).await.unwrap();
        assert_eq!(reply.status(), 200, "{accept:?}");
        let headers = reply.headers().clone();
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{accept:?}"
        );
        assert_eq!(headers["vary"], "accept-encoding", "{accept:?}");
        assert_eq!(headers["content-type"], "application/wasm", "{accept:?}");
        assert_eq!(&reply.bytes().await.unwrap()[..], body, "{accept:?}");
    }
    // Names that outlive a release are asked about again each time; the
    // debug build's unhashed WASM has no copies and is compressed per request.
    for path in [
        "/pkg/glasschat.wasm",
        "/favicon.ico",
        "/manifest.webmanifest",
    ] {
        let reply = get(path.into(), Some("br")).await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
        assert_eq!(reply.headers()["cache-control"], "no-cache", "{path}");
    }
    let plain = get("/pkg/glasschat.wasm".into(), Some("br")).await.unwrap();
    assert_eq!(plain.headers()["content-encoding"], "br");
    // A missing build file is a 404 that nobody keeps.
    let missing = get("/pkg/glasschat.AAAAAAAAAAAAAAAAAAAAAA.wasm".into(), None)
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_ne!(
        missing
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );
    // Pages and server-function answers: never stored, compressed on the fly.
    let page = get("/login".into(), Some("br")).await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["content-encoding"], "br");
    let signed_out = get("/".into(), None).await.unwrap();
    assert_eq!(
        signed_out.status(),
        302,
        "a signed-out page is a real redirect"
    );
    assert_eq!(signed_out.headers()["location"], "/login");
    // Also for a browser that takes compressed answers: no page, no
    // encoding of one.
    let signed_out = get("/".into(), Some("br")).await.unwrap();
    assert_eq!(signed_out.status(), 302);
    assert!(signed_out.headers().get("content-encoding").is_none());
    assert!(signed_out.bytes().await.unwrap().is_empty());
    let ada = server
        .sign_up("ada@example.com", "Ada", "correct horse battery staple")
        .await;
    let cookie = ada.session();
    let chat = server.get("/", Some(&cookie)).await;
    assert_eq!(chat.status, 200);
    assert_eq!(chat.header("cache-control"), Some("no-store"));
    let me = server.call(&cookie, "me", &[]).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    server.stop().await;
    let _ = std::fs::remove_dir_all(&site);
}
both_backends!(build_files_are_served_precompressed_and_cached_for_good);
