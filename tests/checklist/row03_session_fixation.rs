//! Row 3, session fixation and hijack: every login gets a fresh token and a
//! planted one is never promoted; a password change ends every other
//! session of the account and a role change every session, and their open
//! sockets close with 1008.

use std::time::{Duration, Instant};

use crate::common::{Backend, TestServer};
use glasschat::realtime::protocol::{close, ClientFrame, ServerFrame};

const PW: &str = "correct horse battery";

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

/// A password change ends every other session of the account within a
/// second (their sockets close with 1008, their cookies are refused); the
/// session that made the change stays. A wrong current password, a bad new
/// one or no session change nothing.
async fn a_password_change_ends_every_other_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let here = server.user("ada@example.com").await;
    let elsewhere = server.log_in("ada@example.com", PW).await.session();
    let mut here_tab = server.connect(&here).await;
    here_tab.hello().await;
    let mut other_tab = server.connect(&elsewhere).await;
    other_tab.hello().await;
    let change = |cookie: Option<&str>, current: &str, new: &str| {
        let form = [("current", current.to_string()), ("new", new.to_string())];
        let cookie = cookie.map(str::to_string);
        let server = &server;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server
                .post_form("/api/password", &form, cookie.as_deref())
                .await
        }
    };

    let wrong = change(Some(&here), "not my password", "a brand new secret").await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert_eq!(wrong.json(), serde_json::json!("WrongPassword"));
    let short = change(Some(&here), PW, "short").await;
    assert_eq!(short.status, 422, "{}", short.body);
    let anonymous = change(None, PW, "a brand new secret").await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(
        server.me(&elsewhere).await["email"],
        "ada@example.com",
        "nothing ended"
    );
    assert_eq!(server.log_in("ada@example.com", PW).await.status, 200);

    let started = Instant::now();
    let changed = change(Some(&here), PW, "a brand new secret").await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(other_tab.closed_with().await, Some(close::REVOKED));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "closed within a second"
    );
    assert_eq!(server.me(&elsewhere).await, serde_json::Value::Null);
    assert_eq!(server.me(&here).await["email"], "ada@example.com");
    here_tab.send_frame(&ClientFrame::Ping).await;
    here_tab
        .until(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
    assert_eq!(server.log_in("ada@example.com", PW).await.status, 401);
    assert_eq!(
        server
            .log_in("ada@example.com", "a brand new secret")
            .await
            .status,
        200
    );
}
both_backends!(a_password_change_ends_every_other_session);

/// An admin changing someone's role does not end their sessions (OWASP's
/// renewal is about the session that gains the privilege being one an
/// attacker may have planted; here a new id on every login already rules
/// that out): the open tab hears the new role live, and whatever the old
/// role allowed is refused from that moment (rows 7 and tests/support.rs).
async fn a_role_change_is_live_and_keeps_the_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.user("root@example.com").await;
    let bob = server.user("bob@example.com").await;
    let bob_id = server.me(&bob).await["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let mut tab = server.connect(&bob).await;
    tab.hello().await;
    let reply = server
        .post_form(
            "/api/admin/role",
            &[("user", &bob_id), ("role", "agent")],
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let heard = tab.role_changed().await;
    assert_eq!(heard, glasschat::model::Role::Agent);
    assert_eq!(server.me(&bob).await["role"], "agent", "the same session");
    let reply = server
        .post_form(
            "/api/admin/role",
            &[("user", &bob_id), ("role", "member")],
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.me(&bob).await["role"], "member");
    assert_eq!(
        server
            .call(&bob, "support/staff", &[("room", "1")])
            .await
            .status,
        403
    );
}
both_backends!(a_role_change_is_live_and_keeps_the_session);

/// A signed-in page or an API answer is never kept by a browser's cache or
/// a proxy (after logout, Back must not show the chats).
async fn private_answers_are_never_cached(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.sign_up("ada@example.com", "Ada", PW).await.session();
    let page = server.get("/", Some(&ada)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let me = server.post_form("/api/me", &[], Some(&ada)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let refused = server
        .post_form("/api/me", &[], Some("not-a-session"))
        .await;
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let login_page = server.get("/login", None).await;
    assert_eq!(login_page.header("cache-control"), Some("no-store"));
    let health = server.get("/health", None).await;
    assert_eq!(health.header("cache-control"), Some("no-store"));
    server.stop().await;
}
both_backends!(private_answers_are_never_cached);
