//! Row 5, brute force and enumeration: failed logins are limited per
//! (account, address), per address over many accounts, and slowed per
//! account over many addresses (behind a proxy, the address the proxy saw);
//! the right password during a lockout is still refused, yet a stranger's
//! failures never lock the owner (or a colleague behind the same NAT) out. The generic error
//! for unknown email and wrong password is checked in row 3's login test;
//! their equal cost in row 4.

use crate::common::{self, Backend, TestServer};

const PW: &str = "correct horse battery";

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

/// Credential stuffing: 20 failures over many accounts lock the address.
async fn failed_logins_are_limited_per_ip(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 0..20 {
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
    for i in 0..20 {
        assert_eq!(from("10.0.0.1", i).await, 401, "failure {i}");
    }
    assert_eq!(from("10.0.0.1", 99).await, 429, "that client is limited");
    assert_eq!(
        from("10.0.0.2", 9).await,
        401,
        "another client behind the same proxy is not"
    );
    server.stop().await;
}

/// A login as the proxy saw it come from `ip`.
async fn log_in_from(server: &TestServer, ip: &str, email: &str, password: &str) -> common::Reply {
    server
        .post_form_with(
            "/api/login",
            &[("email", email), ("password", password)],
            None,
            &[("x-forwarded-for", ip)],
        )
        .await
}

/// Lockout is no denial of service: five wrong passwords for Ada from a
/// stranger's address lock that address out of Ada's account (the right
/// password too), but Ada from her usual address gets in, and so does Bo,
/// who shares the stranger's address (one office NAT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_lock_the_owner_out() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_BEHIND_PROXY", "1")]).await;
    server.sign_up("ada@example.com", "Ada", PW).await;
    server.sign_up("bo@example.com", "Bo", PW).await;
    let home = log_in_from(&server, "10.0.0.1", "ada@example.com", PW).await;
    assert_eq!(home.status, 200, "Ada's usual address");

    for i in 0..5 {
        let r = log_in_from(&server, "10.0.0.9", "ada@example.com", "wrong password").await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let stranger = log_in_from(&server, "10.0.0.9", "ada@example.com", PW).await;
    assert_eq!(
        stranger.status, 429,
        "that address is locked out of Ada's account"
    );
    assert!(stranger.header("retry-after").is_some());

    let ada = log_in_from(&server, "10.0.0.1", "ada@example.com", PW).await;
    assert_eq!(ada.status, 200, "Ada at home: {}", ada.body);
    let bo = log_in_from(&server, "10.0.0.9", "bo@example.com", PW).await;
    assert_eq!(bo.status, 200, "Bo behind the same NAT: {}", bo.body);
    server.stop().await;
}

/// Guessing spread over many addresses: past five failures, an address the
/// account never logged in from waits (1 s, then 2, 4, … up to 60 s after
/// the latest failure), while the owner's usual address does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_from_many_addresses_is_slowed_not_the_owner() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_BEHIND_PROXY", "1")]).await;
    server.sign_up("ada@example.com", "Ada", PW).await;
    let home = log_in_from(&server, "10.0.0.1", "ada@example.com", PW).await;
    assert_eq!(home.status, 200);
    for i in 0..8 {
        let ip = format!("10.0.1.{i}");
        let r = log_in_from(&server, &ip, "ada@example.com", "wrong password").await;
        // Each new address may have to wait for the one before.
        assert!(matches!(r.status, 401 | 429), "{ip}: {}", r.status);
        if r.status == 429 {
            let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    let fresh = log_in_from(&server, "10.0.2.1", "ada@example.com", PW).await;
    assert_eq!(
        fresh.status, 429,
        "a new address waits, right password or not"
    );
    let wait: u64 = fresh.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let ada = log_in_from(&server, "10.0.0.1", "ada@example.com", PW).await;
    assert_eq!(ada.status, 200, "the owner's usual address: {}", ada.body);
    server.stop().await;
}

/// Sign-ups are budgeted per address and in total, refused (429 with
/// Retry-After) before any hashing, and a login still goes through while a
/// flood of sign-ups is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_limited_per_address_and_in_total() {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_on(
        db,
        &[
            ("GLASSCHAT_BEHIND_PROXY", "1"),
            ("GLASSCHAT_SIGNUP_RATE", "3/3600"),
            ("GLASSCHAT_SIGNUP_RATE_TOTAL", "5/3600"),
        ],
    )
    .await;
    let sign_up_from = |ip: &'static str, i: usize| {
        let server = &server;
        async move {
            let email = format!("new{i}@example.com");
            server
                .post_form_with(
                    "/api/signup",
                    &[("email", &email), ("display_name", "New"), ("password", PW)],
                    None,
                    &[("x-forwarded-for", ip)],
                )
                .await
        }
    };
    for i in 0..3 {
        assert_eq!(sign_up_from("10.0.0.1", i).await.status, 200, "sign-up {i}");
    }
    let flood = sign_up_from("10.0.0.1", 3).await;
    assert_eq!(flood.status, 429, "{}", flood.body);
    assert!(flood.header("retry-after").is_some());
    for i in 4..6 {
        assert_eq!(sign_up_from("10.0.0.2", i).await.status, 200, "sign-up {i}");
    }
    let total = sign_up_from("10.0.0.3", 6).await;
    assert_eq!(total.status, 429, "the total is spent: {}", total.body);

    // Logins are not sign-ups: they still go through.
    let login = log_in_from(&server, "10.0.0.1", "new0@example.com", PW).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let refused = log_in_from(&server, "10.0.0.3", "new6@example.com", PW).await;
    assert_eq!(refused.status, 401, "the refused sign-up created nothing");
    server.stop().await;
}

/// The invitation token in a sign-up link (an admin's or a member's).
fn invite_token(link: &str) -> String {
    link.split("invite=").nth(1).expect("a token").to_string()
}

async fn sign_up_with(server: &TestServer, email: &str, invite: Option<&str>) -> common::Reply {
    match invite {
        Some(token) => server.sign_up_invited(email, "New", token).await,
        None => server.sign_up(email, "New", PW).await,
    }
}

fn refusal(reply: &common::Reply) -> String {
    reply
        .json()
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| reply.body.clone())
}

/// Registration modes: an admin decides who may create an account (open,
/// by invitation only, email domains); invitation links are single-use,
/// even when two sign-ups race on one; a refused or failed sign-up gives
/// its invitation back; only admins change any of it.
async fn registration_modes_decide_who_may_sign_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server
        .sign_up("root@example.com", "Root", PW)
        .await
        .session();
    let policy = server.call_as(None, "signup/policy", &[]).await;
    assert_eq!(policy.json()["mode"], "open", "{}", policy.body);
    let bob = sign_up_with(&server, "bob@example.com", None).await;
    assert_eq!(bob.status, 200, "open: anyone");
    let bob = bob.session();

    // Only admins set the mode or make links.
    for (endpoint, form) in [
        (
            "admin/registration/set",
            vec![("mode", "open"), ("domains", "")],
        ),
        ("admin/invite_links/create", vec![("days", "7")]),
        ("admin/invite_links", vec![]),
        ("admin/registration", vec![]),
    ] {
        let r = server.call(&bob, endpoint, &form).await;
        assert_eq!(r.status, 403, "{endpoint}: {}", r.body);
    }
    let set = |mode: &'static str, domains: &'static str| {
        let (server, admin) = (&server, admin.clone());
        async move {
            server
                .call(
                    &admin,
                    "admin/registration/set",
                    &[("mode", mode), ("domains", domains)],
                )
                .await
        }
    };
    let make_link = || {
        let (server, admin) = (&server, admin.clone());
        async move {
            let r = server
                .call(&admin, "admin/invite_links/create", &[("days", "7")])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            invite_token(r.json()["signup_link"].as_str().unwrap())
        }
    };

    // Invite only.
    assert_eq!(set("invite", "").await.status, 200);
    let policy = server.call_as(None, "signup/policy", &[]).await;
    assert_eq!(policy.json()["mode"], "invite");
    let carol = sign_up_with(&server, "carol@example.com", None).await;
    assert_eq!(carol.status, 403, "{}", carol.body);
    assert_eq!(refusal(&carol), "InviteOnly");
    let taken = sign_up_with(&server, "bob@example.com", None).await;
    assert_eq!(taken.status, 403, "a taken email is not revealed either");
    let bogus = sign_up_with(&server, "carol@example.com", Some("not-a-token")).await;
    assert_eq!(bogus.status, 410, "{}", bogus.body);
    assert_eq!(refusal(&bogus), "InviteExpired");
    let token = make_link().await;
    let listed = server.call(&admin, "admin/invite_links", &[]).await;
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
    assert!(
        !listed.body.contains(&token),
        "the token is shown once only"
    );
    let carol = sign_up_with(&server, "carol@example.com", Some(&token)).await;
    assert_eq!(carol.status, 200, "{}", carol.body);
    let again = sign_up_with(&server, "dave@example.com", Some(&token)).await;
    assert_eq!(again.status, 410, "single use: {}", again.body);
    let listed = server.call(&admin, "admin/invite_links", &[]).await;
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        0,
        "{}",
        listed.body
    );

    // A failed sign-up (a taken email) gives the link back.
    let token = make_link().await;
    let failed = sign_up_with(&server, "bob@example.com", Some(&token)).await;
    assert_eq!(failed.status, 409, "{}", failed.body);
    let dave = sign_up_with(&server, "dave@example.com", Some(&token)).await;
    assert_eq!(dave.status, 200, "the link still works: {}", dave.body);

    // Two sign-ups racing on one link: one account.
    let token = make_link().await;
    let (a, b) = tokio::join!(
        sign_up_with(&server, "race1@example.com", Some(&token)),
        sign_up_with(&server, "race2@example.com", Some(&token)),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 410], "{} / {}", a.body, b.body);

    // A revoked link admits nobody.
    let token = make_link().await;
    let listed = server.call(&admin, "admin/invite_links", &[]).await;
    let id = listed.json()[0]["id"].as_i64().unwrap();
    let revoke = server
        .call(
            &admin,
            "admin/invite_links/revoke",
            &[("id", &id.to_string())],
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    let revoked = sign_up_with(&server, "late@example.com", Some(&token)).await;
    assert_eq!(revoked.status, 410, "{}", revoked.body);

    // A member's invitation to a direct chat admits its invitee, and the
    // chat is there.
    let invited = server
        .call(&bob, "rooms/direct", &[("email", "erin@example.com")])
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let link = invited.json()["Invited"]["signup_link"]
        .as_str()
        .unwrap()
        .to_string();
    let erin = sign_up_with(&server, "erin@example.com", Some(&invite_token(&link))).await;
    assert_eq!(erin.status, 200, "{}", erin.body);
    let erin = erin.session();
    let erin_tab = server.tab(&erin).await;
    assert_eq!(erin_tab.state.rooms.len(), 1, "the direct chat with Bob");

    // Email domains.
    let none = set("domains", " ").await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert_eq!(refusal(&none), "NoDomains");
    let bad = set("domains", "not a domain").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let ok = set("domains", "Example.org, @corp.example.com").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.json()["domains"],
        serde_json::json!(["corp.example.com", "example.org"])
    );
    let policy = server.call_as(None, "signup/policy", &[]).await;
    assert_eq!(
        policy.json()["domains"],
        serde_json::json!(["corp.example.com", "example.org"])
    );
    assert_eq!(
        sign_up_with(&server, "frank@Example.ORG", None)
            .await
            .status,
        200
    );
    assert_eq!(
        sign_up_with(&server, "fay@corp.example.com", None)
            .await
            .status,
        200
    );
    let outside = sign_up_with(&server, "gina@other.com", None).await;
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert_eq!(refusal(&outside), "DomainNotAllowed");
    let sub = sign_up_with(&server, "ivan@sub.example.org", None).await;
    assert_eq!(sub.status, 403, "domains match exactly");
    // A member's invitation does not widen the domains, and is kept.
    let invited = server
        .call(&bob, "rooms/direct", &[("email", "hank@other.com")])
        .await;
    let link = invited.json()["Invited"]["signup_link"]
        .as_str()
        .unwrap()
        .to_string();
    let hank = sign_up_with(&server, "hank@other.com", Some(&invite_token(&link))).await;
    assert_eq!(hank.status, 403, "{}", hank.body);
    let pending = server.call(&bob, "rooms/invitations", &[]).await;
    assert!(
        pending.body.contains("hank@other.com"),
        "given back: {}",
        pending.body
    );
    // An admin's link does.
    let token = make_link().await;
    assert_eq!(
        sign_up_with(&server, "gina@other.com", Some(&token))
            .await
            .status,
        200
    );

    // Open again: the domains are kept for next time.
    let open = set("open", "example.org").await;
    assert_eq!(open.status, 200);
    assert_eq!(
        sign_up_with(&server, "zed@anywhere.net", None).await.status,
        200
    );
    let settings = server.call(&admin, "admin/registration", &[]).await;
    assert_eq!(
        settings.json()["domains"],
        serde_json::json!(["example.org"])
    );
    let policy = server.call_as(None, "signup/policy", &[]).await;
    assert_eq!(
        policy.json()["domains"],
        serde_json::json!([]),
        "shown in the domains mode only"
    );
    server.stop().await;
}
both_backends!(registration_modes_decide_who_may_sign_up);
