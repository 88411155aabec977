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

async fn login_gives_a_new_session_and_one_generic_error(backend: Backend) {
    let server = TestServer::start(backend).await;
    let signup_cookie = server.sign_up("ada@example.com", "Ada", PW).await.session();

    let login = server.log_in(" ADA@example.com ", PW).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let login_cookie = login.session();
    assert_ne!(
        login_cookie, signup_cookie,
        "every login gets a fresh token"
    );
    assert_eq!(server.me(&login_cookie).await["display_name"], "Ada");

    let wrong_password = server.log_in("ada@example.com", "wrong password").await;
    let unknown_user = server.log_in("nobody@example.com", "wrong password").await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_user.status, 401);
    assert_eq!(
        wrong_password.body, unknown_user.body,
        "no hint which of email or password was wrong"
    );
    assert_eq!(
        wrong_password.json(),
        serde_json::json!("InvalidCredentials")
    );
    assert!(wrong_password.set_cookie().is_none());
    server.stop().await;
}
both_backends!(login_gives_a_new_session_and_one_generic_error);

async fn planted_session_id_is_never_promoted(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.sign_up("ada@example.com", "Ada", PW).await;
    let planted = "attacker-chosen-session-id";
    let login = server
        .post_form(
            "/api/login",
            &[("email", "ada@example.com"), ("password", PW)],
            Some(planted),
        )
        .await;
    assert_eq!(login.status, 200);
    assert_ne!(login.session(), planted);
    assert_eq!(server.me(planted).await, serde_json::Value::Null);
    server.stop().await;
}
both_backends!(planted_session_id_is_never_promoted);

async fn failed_logins_are_limited_per_email(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.sign_up("ada@example.com", "Ada", PW).await;
    for i in 0..5 {
        let r = server.log_in("ada@example.com", "wrong password").await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let limited = server.log_in("ada@example.com", "wrong password").await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.json()["RateLimited"]["retry_after_secs"], retry);

    let right_password = server.log_in("ada@example.com", PW).await;
    assert_eq!(
        right_password.status, 429,
        "the right password does not lift a lockout"
    );
    assert!(right_password.set_cookie().is_none());
    server.stop().await;
}
both_backends!(failed_logins_are_limited_per_email);

async fn failed_logins_are_limited_per_ip(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 0..5 {
        let r = server
            .log_in(&format!("guess{i}@example.com"), "wrong password")
            .await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let limited = server
        .log_in("yet-another@example.com", "wrong password")
        .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    server.stop().await;
}
both_backends!(failed_logins_are_limited_per_ip);

/// Behind a reverse proxy every request comes from the proxy's address: the
/// limiter must count the client's (the last X-Forwarded-For entry, which
/// the proxy added), and an address the client wrote itself counts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_logins_are_limited_per_client_address() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_BEHIND_PROXY", "1")]).await;
    let from = |ip: &'static str, i: usize| {
        let email = format!("guess{i}@{ip}.example.com");
        let server = &server;
        async move {
            server
                .post_form_with(
                    "/api/login",
                    &[("email", &email), ("password", "wrong password")],
                    None,
                    // A forged first entry, then the proxy's own.
                    &[("x-forwarded-for", &format!("1.1.1.1, {ip}"))],
                )
                .await
                .status
        }
    };
    for i in 0..5 {
        assert_eq!(from("10.0.0.1", i).await, 401, "failure {i}");
    }
    assert_eq!(from("10.0.0.1", 9).await, 429, "that client is limited");
    assert_eq!(
        from("10.0.0.2", 9).await,
        401,
        "another client behind the same proxy is not"
    );
    server.stop().await;
}

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

async fn cross_site_mutations_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = [
        ("email", "ada@example.com"),
        ("display_name", "Ada"),
        ("password", PW),
    ];
    let evil_origin = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(evil_origin.status, 403);
    let cross_site = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    let null_origin = server
        .post_form_with("/api/signup", &form, None, &[("origin", "null")])
        .await;
    assert_eq!(null_origin.status, 403);

    // Nothing was created: the same-origin sign-up is the first, so admin.
    let origin = server.base.clone();
    let same = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.json()["role"], "admin");

    // A GET never reaches a mutation.
    let get = server.get("/api/logout", Some(&same.session())).await;
    assert_ne!(get.status, 200);
    assert_eq!(server.me(&same.session()).await["email"], "ada@example.com");
    server.stop().await;
}
both_backends!(cross_site_mutations_are_refused);

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

/// Pages carry a Content-Security-Policy with a fresh nonce per response
/// that Leptos's own inline scripts bear; nothing else inline may run,
/// nothing may frame the app. Other responses allow nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_csp_with_a_fresh_nonce() {
    let server = TestServer::start(Backend::Sqlite).await;
    let nonce_of = |reply: &common::Reply| -> String {
        let csp = reply
            .header("content-security-policy")
            .expect("a CSP header")
            .to_string();
        for needed in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(needed), "{needed} in {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains(" 'unsafe-eval'"),
            "{csp}"
        );
        let start = csp.find("'nonce-").expect("a nonce") + "'nonce-".len();
        let nonce = csp[start..].split('\'').next().unwrap().to_string();
        assert!(nonce.len() >= 16, "{nonce}");
        // Every inline script of the page bears it.
        let scripts = reply.body.matches("<script").count();
        let with_nonce = reply.body.matches(&format!("nonce=\"{nonce}\"")).count();
        assert!(
            scripts > 0 && with_nonce >= scripts,
            "{scripts} scripts, {with_nonce} with the nonce"
        );
        nonce
    };
    let first = server.get("/login", None).await;
    let second = server.get("/login", None).await;
    assert_ne!(
        nonce_of(&first),
        nonce_of(&second),
        "a new nonce per response"
    );
    for reply in [&first, &second] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    }
    let health = server.get("/health", None).await;
    assert_eq!(
        health.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    server.stop().await;
}
