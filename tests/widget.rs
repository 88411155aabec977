//! The website widget end to end (the real binary, real sockets, both
//! databases): sites and their secrets, visitors signed in by a site's
//! token or anonymously, "verified only", what a visitor may reach (only
//! its own conversation), and the panel's framing and badge answers.

mod common;

use common::{Backend, Reply, VISITOR_COOKIE};
use glasschat::model::{PanelSite, SiteSecret, SiteView, WidgetVisitor};
use glasschat::realtime::protocol::{close, ClientFrame, ServerFrame};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;

use common::desk::*;

const HOST: &str = "http://shop.test:8080";

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    email: &'a str,
    name: &'a str,
    exp: i64,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token as a site's backend signs it, for `sub`, expiring in `ttl` s.
fn token(secret: &str, sub: &str, ttl: i64) -> String {
    token_with(secret, sub, ttl, Algorithm::HS256)
}

fn token_with(secret: &str, sub: &str, ttl: i64, algorithm: Algorithm) -> String {
    let claims = Claims {
        sub,
        email: "kim@shop.test",
        name: "Kim Customer",
        exp: now_secs() + ttl,
    };
    encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn add_site(desk: &Desk, departments: &[i64], anonymous: bool) -> SiteSecret {
    let list = departments
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    ok(desk
        .server
        .call(
            &desk.admin,
            "sites/create",
            &[
                ("name", "Shop"),
                ("origins", &format!("{HOST}, https://www.shop.test")),
                ("departments", &list),
                ("anonymous", &anonymous.to_string()),
            ],
        )
        .await)
    .json_as()
}

async fn identify(desk: &Desk, site: &str, token: &str) -> Reply {
    desk.server
        .visitor_call(
            None,
            "widget/identify",
            &[
                ("site", site),
                ("host", HOST),
                ("token", token),
                ("page", "http://shop.test:8080/cart"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await
}

async fn open(desk: &Desk, visitor: &str, site: &str, department: i64) -> Reply {
    desk.server
        .visitor_call(
            Some(visitor),
            "widget/open",
            &[
                ("site", site),
                ("host", HOST),
                ("department", &department.to_string()),
                ("page", ""),
                ("time_zone", ""),
            ],
        )
        .await
}

/// What `who` is told about the visitor of support conversation `room`.
async fn visitor_details(desk: &Desk, who: &str, room: i64) -> Reply {
    desk.server
        .call(who, "support/visitor", &[("room", &room.to_string())])
        .await
}

async fn sites_are_admins_and_the_secret_is_shown_once(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let made = add_site(&desk, &[desk.billing, desk.technical], true).await;
    assert_eq!(
        made.site.origins,
        ["http://shop.test:8080", "https://www.shop.test"]
    );
    assert_eq!(made.site.departments, [desk.billing, desk.technical]);
    assert!(made.secret.len() >= 43, "256 bits: {}", made.secret);
    // The list never carries it, and the database holds it sealed.
    let listed = ok(server.call(&desk.admin, "sites", &[]).await);
    assert!(!listed.body.contains(&made.secret));
    let sites: Vec<SiteView> = listed.json_as();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0], made.site);
    let plain = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM sites WHERE secret = '{}'",
            made.secret
        ))
        .await;
    assert_eq!(plain, 0);
    // Nobody else manages sites.
    for who in [&desk.agent, &desk.owner] {
        for (endpoint, form) in [
            ("sites", vec![]),
            ("sites/rotate", vec![("id", made.site.id.to_string())]),
        ] {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(server.call(who, endpoint, &form).await.status, 403);
        }
    }
    // Bad input is one clear answer and changes nothing.
    for (origins, departments, code) in [
        (
            "https://*.shop.test",
            desk.billing.to_string(),
            "SiteOrigins",
        ),
        (
            "https://shop.test/path",
            desk.billing.to_string(),
            "SiteOrigins",
        ),
        ("https://shop.test", "".to_string(), "SiteDepartments"),
        ("https://shop.test", "999999".to_string(), "SiteDepartments"),
    ] {
        let reply = server
            .call(
                &desk.admin,
                "sites/create",
                &[
                    ("name", "Bad"),
                    ("origins", origins),
                    ("departments", &departments),
                    ("anonymous", "true"),
                ],
            )
            .await;
        assert_eq!(reply.status, 422, "{origins}: {}", reply.body);
        assert!(reply.body.contains(code), "{}", reply.body);
    }
    assert_eq!(server.db.scalar("SELECT COUNT(*) FROM sites").await, 1);
    // A rotated secret: tokens signed with the old one stop working.
    let old = made.secret.clone();
    let rotated: SiteSecret = ok(server
        .call(
            &desk.admin,
            "sites/rotate",
            &[("id", &made.site.id.to_string())],
        )
        .await)
    .json_as();
    assert_ne!(rotated.secret, old);
    let stale = identify(&desk, &made.site.key, &token(&old, "u-1", 600)).await;
    assert_eq!(stale.status, 401, "{}", stale.body);
    ok(identify(&desk, &made.site.key, &token(&rotated.secret, "u-1", 600)).await);
}
both_backends!(sites_are_admins_and_the_secret_is_shown_once);

async fn a_verified_visitor_is_one_account_in_any_tab(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let made = add_site(&desk, &[desk.billing], false).await;
    let key = made.site.key.clone();
    // Two tabs identify at the same instant, each with a fresh token.
    let (first, second) = (
        token(&made.secret, "customer-42", 600),
        token(&made.secret, "customer-42", 900),
    );
    let (a, b) = tokio::join!(
        identify(&desk, &key, &first),
        identify(&desk, &key, &second),
    );
    let (a, b) = (ok(a), ok(b));
    let cookie = a.set_cookie_named(VISITOR_COOKIE);
    for part in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Partitioned",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let (va, vb): (WidgetVisitor, WidgetVisitor) = (a.json_as(), b.json_as());
    assert_eq!(va.user.id, vb.user.id);
    assert!(va.verified);
    assert_eq!(va.user.display_name, "Kim Customer");
    assert_eq!(server.db.scalar("SELECT COUNT(*) FROM visitors").await, 1);
    // Its account is nobody's email and signs in with no password.
    assert_ne!(va.user.email, "kim@shop.test");
    assert_eq!(
        server
            .log_in(&va.user.email, "correct horse battery")
            .await
            .status,
        401
    );
    // Both tabs open the one conversation.
    let (visitor_a, visitor_b) = (a.visitor(), b.visitor());
    let (ra, rb) = tokio::join!(
        open(&desk, &visitor_a, &key, desk.billing),
        open(&desk, &visitor_b, &key, desk.billing)
    );
    let room: i64 = ok(ra).json_as();
    assert_eq!(room, ok(rb).json_as::<i64>());
    // Live both ways, the visitor's socket carrying only that room.
    let mut panel = server.connect_visitor(&visitor_a).await;
    panel.hello().await;
    assert_eq!(
        panel.state.rooms.keys().copied().collect::<Vec<_>>(),
        [room]
    );
    let mut agent = server.tab(&desk.agent).await;
    let info = agent.state.rooms[&room].summary.support.clone().unwrap();
    let site = info.site.expect("marked as from a website");
    assert_eq!((site.name.as_str(), site.verified), ("Shop", true));
    panel.say(room, "v-1", "Where is my parcel?").await;
    let asked = common::ack(&mut panel).await.seq;
    agent.until_seq(room, asked).await;
    agent.say(room, "a-1", "On its way!").await;
    let answered = common::ack(&mut agent).await.seq;
    panel.until_seq(room, answered).await;
    // The badge's count (before the panel is open) sees the reply.
    let unread = server
        .client
        .get(server.url(&format!("/widget/{key}/unread?host={HOST}")))
        .header("origin", HOST)
        .header("cookie", format!("{VISITOR_COOKIE}={visitor_b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unread.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        HOST
    );
    assert_eq!(
        unread.headers()["access-control-allow-credentials"]
            .to_str()
            .unwrap(),
        "true"
    );
    let count: serde_json::Value = serde_json::from_str(&unread.text().await.unwrap()).unwrap();
    assert_eq!(count["unread"], 1);
    // Staff see who it is.
    let details = ok(visitor_details(&desk, &desk.agent, room).await).json();
    assert_eq!(details["email"], "kim@shop.test");
    assert_eq!(details["verified"], true);
    assert_eq!(details["external_id"], "customer-42");
    assert_eq!(details["page"], "http://shop.test:8080/cart");
    assert_eq!(details["time_zone"], "Europe/Paris");
    // ... and nobody else does: not the visitor, not another department.
    for who in [&desk.stranger, &desk.owner] {
        let reply = visitor_details(&desk, who, room).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    // The next day, on another device: the same account and history.
    let later = ok(identify(&desk, &key, &token(&made.secret, "customer-42", 60)).await);
    let mut phone = server.connect_visitor(&later.visitor()).await;
    phone.hello().await;
    let texts: Vec<String> = server
        .all_messages(&desk.agent, room)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(texts.contains(&"Where is my parcel?".to_string()));
    assert_eq!(phone.state.rooms[&room].summary.last_seq, answered);
}
both_backends!(a_verified_visitor_is_one_account_in_any_tab);

async fn verified_only_refuses_every_other_way_in(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let made = add_site(&desk, &[desk.billing], false).await;
    let key = made.site.key.clone();
    let refused = [
        (
            "forged",
            token("not-the-secret-at-all-not-the-secret", "u-1", 600),
        ),
        ("expired", token(&made.secret, "u-1", -60)),
        ("replayed after expiry", token(&made.secret, "u-1", -3600)),
        ("too long-lived", token(&made.secret, "u-1", 2 * 3600)),
        (
            "another algorithm",
            token_with(&made.secret, "u-1", 600, Algorithm::HS512),
        ),
        ("empty subject", token(&made.secret, " ", 600)),
        ("no signature", {
            let t = token(&made.secret, "u-1", 600);
            t[..t.rfind('.').unwrap() + 1].to_string()
        }),
        ("alg none", {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
            let claims = b64.encode(format!(
                r#"{{"sub":"u-1","email":"kim@shop.test","name":"Kim","exp":{}}}"#,
                now_secs() + 600
            ));
            format!("{header}.{claims}.")
        }),
        ("garbage", "a.b.c".to_string()),
        ("huge", "x".repeat(10_000)),
    ];
    for (what, bad) in refused {
        let reply = identify(&desk, &key, &bad).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        assert!(
            reply.body.contains("IdentityRefused"),
            "{what}: {}",
            reply.body
        );
        assert!(reply.header("set-cookie").is_none(), "{what}");
    }
    // No anonymous way in either.
    let anonymous = server
        .visitor_call(
            None,
            "widget/start",
            &[
                ("site", &key),
                ("host", HOST),
                ("name", "Sneaky"),
                ("email", "sneak@example.com"),
                ("page", ""),
                ("time_zone", ""),
            ],
        )
        .await;
    assert_eq!(anonymous.status, 403, "{}", anonymous.body);
    assert_eq!(server.db.scalar("SELECT COUNT(*) FROM visitors").await, 0);
    // A host the site does not list is no host of it.
    let elsewhere = server
        .visitor_call(
            None,
            "widget/identify",
            &[
                ("site", &key),
                ("host", "https://evil.test"),
                ("token", &token(&made.secret, "u-1", 600)),
                ("page", ""),
                ("time_zone", ""),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
}
both_backends!(verified_only_refuses_every_other_way_in);

async fn a_visitor_reaches_nothing_but_its_conversation(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let made = add_site(&desk, &[desk.billing], true).await;
    let key = made.site.key.clone();
    let info: PanelSite = ok(server
        .visitor_call(None, "widget/site", &[("site", &key), ("host", HOST)])
        .await)
    .json_as();
    assert!(info.anonymous);
    assert_eq!(info.departments.len(), 1);
    let started = ok(server
        .visitor_call(
            None,
            "widget/start",
            &[
                ("site", &key),
                ("host", HOST),
                ("name", "Ann Onymous"),
                ("email", "ann@example.com"),
                ("page", "https://www.shop.test/help"),
                ("time_zone", "America/New_York"),
            ],
        )
        .await);
    let visitor = started.visitor();
    let me: WidgetVisitor = started.json_as();
    assert!(!me.verified);
    let room: i64 = ok(open(&desk, &visitor, &key, desk.billing).await).json_as();
    // A department the site does not offer, a member's session: refused.
    assert_eq!(
        open(&desk, &visitor, &key, desk.technical).await.status,
        403
    );
    let member_tries = server
        .call(
            &desk.owner,
            "widget/open",
            &[
                ("site", &key),
                ("host", HOST),
                ("department", &desk.billing.to_string()),
                ("page", ""),
                ("time_zone", ""),
            ],
        )
        .await;
    assert_eq!(member_tries.status, 401, "{}", member_tries.body);
    // The visitors' column of the authorization matrix: every server
    // function, called with the visitor's session (under its own cookie
    // and under the members' one). Only the widget's own, and what a
    // conversation's members may do in it, in its own conversation.
    let members_room = desk.contact(&desk.owner, desk.billing).await;
    let own = room.to_string();
    let theirs = members_room.to_string();
    let billing = desk.billing.to_string();
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("admin/users", vec![]),
        ("admin/departments", vec![]),
        ("admin/role", vec![("user", "1"), ("role", "admin")]),
        (
            "admin/agent_departments",
            vec![("user", "1"), ("departments", &billing)],
        ),
        ("admin/department/create", vec![("name", "Mine")]),
        (
            "admin/department/update",
            vec![("id", &billing), ("name", "Mine"), ("archived", "true")],
        ),
        ("admin/registration", vec![]),
        (
            "admin/registration/set",
            vec![("mode", "open"), ("domains", "")],
        ),
        ("admin/invite_links", vec![]),
        ("admin/invite_links/create", vec![("days", "1")]),
        ("admin/invite_links/revoke", vec![("id", "1")]),
        ("admin/active", vec![("user", "1"), ("active", "false")]),
        ("admin/audit", vec![]),
        ("admin/retention", vec![]),
        (
            "admin/retention/set",
            vec![("scope", "instance"), ("days", "1")],
        ),
        ("admin/sso", vec![]),
        ("admin/node", vec![]),
        (
            "admin/sso/set",
            vec![("link_by_email", "true"), ("password_login", "true")],
        ),
        (
            "password",
            vec![("current", "x"), ("new", "a much longer passphrase")],
        ),
        ("privacy", vec![]),
        (
            "privacy/set",
            vec![("invisible", "true"), ("receipts", "false")],
        ),
        ("rooms/create", vec![("name", "x"), ("members", "")]),
        ("rooms/direct", vec![("email", "mia@example.com")]),
        ("rooms/invitations", vec![]),
        ("rooms/members", vec![("room", &own)]),
        ("rooms/rename", vec![("room", &own), ("name", "Mine")]),
        (
            "rooms/add",
            vec![("room", &own), ("members", "mia@example.com")],
        ),
        ("rooms/remove", vec![("room", &own), ("user_id", "1")]),
        ("rooms/leave", vec![("room", &own)]),
        ("rooms/hide", vec![("room", &own), ("hidden", "true")]),
        ("rooms/mute", vec![("room", &own), ("muted", "true")]),
        ("rooms/clear", vec![("room", &own)]),
        ("search", vec![("query", "parcel")]),
        ("sites", vec![]),
        (
            "sites/create",
            vec![
                ("name", "x"),
                ("origins", "https://x.test"),
                ("departments", &billing),
                ("anonymous", "true"),
            ],
        ),
        (
            "sites/update",
            vec![
                ("id", "1"),
                ("name", "x"),
                ("origins", "https://x.test"),
                ("departments", &billing),
                ("anonymous", "true"),
            ],
        ),
        ("sites/rotate", vec![("id", "1")]),
        ("support/departments", vec![]),
        ("support/contact", vec![("department", &billing)]),
        ("support/staff", vec![("room", &own)]),
        ("email/settings", vec![]),
        ("email/delay", vec![("minutes", "0")]),
        ("push/settings", vec![]),
        (
            "push/subscribe",
            vec![
                ("endpoint", "https://push.example.com/visitor"),
                ("p256dh", "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"),
                ("auth", "AAECAwQFBgcICQoLDA0ODw"),
                ("label", "x"),
            ],
        ),
        ("push/remove", vec![("id", "1")]),
        ("push/previews", vec![("on", "true")]),
        ("support/claim", vec![("room", &own)]),
        ("support/assign", vec![("room", &own), ("agent", "1")]),
        (
            "support/transfer",
            vec![("room", &own), ("department", &billing)],
        ),
        ("support/resolve", vec![("room", &own)]),
        ("support/reopen", vec![("room", &own)]),
        ("canned", vec![("room", &own)]),
        (
            "canned/create",
            vec![("department", &billing), ("title", "x"), ("body", "y")],
        ),
        (
            "canned/update",
            vec![("id", "1"), ("title", "x"), ("body", "y")],
        ),
        ("canned/delete", vec![("id", "1")]),
        ("support/visitor", vec![("room", &own)]),
        ("support/notes", vec![("room", &own)]),
        (
            "reports",
            vec![
                ("from", "2026-11-01"),
                ("to", "2026-11-30"),
                ("offset", "0"),
                ("department", "0"),
                ("agent", "0"),
            ],
        ),
        // In another's conversation, what members may do is refused too.
        (
            "history",
            vec![("room", &theirs), ("before_seq", "0"), ("limit", "50")],
        ),
        ("mentions", vec![("room", &theirs), ("typed", "a")]),
        ("receipts", vec![("room", &theirs)]),
        (
            "start_upload",
            vec![
                ("upload_id", "v-2"),
                ("room", &theirs),
                ("name", "a.txt"),
                ("size", "3"),
            ],
        ),
    ];
    for (endpoint, form) in &refused {
        let as_visitor = server.visitor_call(Some(&visitor), endpoint, form).await;
        let as_member_cookie = server.call(&visitor, endpoint, form).await;
        for reply in [as_visitor, as_member_cookie] {
            assert!(
                matches!(reply.status, 401 | 403),
                "{endpoint}: {} {}",
                reply.status,
                reply.body
            );
        }
    }
    let allowed: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "history",
            vec![("room", &own), ("before_seq", "0"), ("limit", "50")],
        ),
        ("mentions", vec![("room", &own), ("typed", "a")]),
        ("receipts", vec![("room", &own)]),
        ("emoji", vec![]),
        (
            "start_upload",
            vec![
                ("upload_id", "v-1"),
                ("room", &own),
                ("name", "a.txt"),
                ("size", "3"),
            ],
        ),
        ("signup/policy", vec![]),
        ("login/options", vec![]),
        ("widget/site", vec![("site", &key), ("host", HOST)]),
        ("widget/me", vec![("site", &key), ("host", HOST)]),
    ];
    for (endpoint, form) in &allowed {
        let reply = server.visitor_call(Some(&visitor), endpoint, form).await;
        assert_eq!(reply.status, 200, "{endpoint}: {}", reply.body);
    }
    // To the members' side it is nobody.
    let me = server.call(&visitor, "me", &[]).await;
    assert_eq!((me.status, me.body.as_str()), (200, "null"));
    // What members of a conversation may do, it may do in its own only.
    for (r, status) in [(room, 200), (members_room, 403)] {
        let reply = server
            .visitor_call(
                Some(&visitor),
                "history",
                &[
                    ("room", &r.to_string()),
                    ("before_seq", "0"),
                    ("limit", "50"),
                ],
            )
            .await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    // Its socket: one room, and frames about another are refused.
    let mut panel = server.connect_visitor(&visitor).await;
    panel.hello().await;
    assert_eq!(
        panel.state.rooms.keys().copied().collect::<Vec<_>>(),
        [room]
    );
    panel
        .send_frame(&ClientFrame::Send {
            room: members_room,
            client_id: "x-1".into(),
            body: "hello?".into(),
            reply_to: None,
            files: Vec::new(),
            mentions: Vec::new(),
        })
        .await;
    panel
        .until(|f| matches!(f, ServerFrame::Error { .. }).then_some(()))
        .await;
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM messages WHERE room_id = {members_room} AND kind = 'text'"
            ))
            .await,
        0
    );
    // Staff see it marked unverified, with what it typed.
    let details = ok(visitor_details(&desk, &desk.agent, room).await).json();
    assert_eq!(details["verified"], false);
    assert_eq!(details["email"], "ann@example.com");
    // The site turns to verified visitors only: the anonymous one is out,
    // its socket closed.
    ok(server
        .call(
            &desk.admin,
            "sites/update",
            &[
                ("id", &made.site.id.to_string()),
                ("name", "Shop"),
                ("origins", HOST),
                ("departments", &desk.billing.to_string()),
                ("anonymous", "false"),
            ],
        )
        .await);
    assert_eq!(panel.closed_with().await, Some(close::UNAUTHORIZED));
    let me = ok(server
        .visitor_call(
            Some(&visitor),
            "widget/me",
            &[("site", &key), ("host", HOST)],
        )
        .await);
    assert_eq!(me.body, "null");
}
both_backends!(a_visitor_reaches_nothing_but_its_conversation);

async fn the_panel_is_framed_by_its_sites_origins_only(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let made = add_site(&desk, &[desk.billing], true).await;
    let key = made.site.key.clone();
    let page = server
        .get(
            &format!("/widget/{key}?host={}", "https%3A%2F%2Fwww.shop.test"),
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors https://www.shop.test"),
        "{csp}"
    );
    assert!(
        !csp.contains("'none'; frame") && !csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(page.header("x-frame-options").is_none());
    for refused in [
        format!("/widget/{key}?host=https%3A%2F%2Fevil.test"),
        format!("/widget/{key}"),
        "/widget/no-such-site?host=https%3A%2F%2Fwww.shop.test".to_string(),
    ] {
        let reply = server.get(&refused, None).await;
        assert_eq!(reply.status, 403, "{refused}: {}", reply.body);
        assert!(!reply.body.contains("<html"), "{refused}");
    }
    // Every other page is framed by nobody.
    let login = server.get("/login", None).await;
    assert!(login
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    // The badge's count answers its site's pages only.
    for (origin, host, status) in [
        ("https://evil.test", "https://evil.test", 403),
        ("https://evil.test", HOST, 403),
        (HOST, HOST, 200),
    ] {
        let reply = server
            .client
            .get(server.url(&format!("/widget/{key}/unread?host={host}")))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), status, "{origin} as {host}");
        if status == 403 {
            assert!(reply.headers().get("access-control-allow-origin").is_none());
        }
    }
}
both_backends!(the_panel_is_framed_by_its_sites_origins_only);
