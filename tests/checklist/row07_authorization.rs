//! Row 7, authorization on every room operation: a non-member's frames and
//! history are refused and see nothing; the authorization matrix (stored
//! as data: 54 server functions and the socket frames x 6 callers), each
//! refused call checked to change and leak nothing.

use crate::common::desk::*;
use crate::common::{ack, error, Backend, TestServer};
use glasschat::realtime::protocol::{ClientFrame, ErrorCode, RoomCursor, ServerFrame};

async fn non_members_are_refused_and_see_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let eve = server.user("eve@example.com").await;
    let room = server.group(&ada, "Private", &[]).await;
    let mut ada_tab = server.connect(&ada).await;
    ada_tab.hello().await;
    ada_tab.say(room, "secret", "the secret plan").await;
    ack(&mut ada_tab).await;

    let mut eve_tab = server.connect(&eve).await;
    assert!(
        eve_tab.state.rooms.is_empty(),
        "the room is not even listed"
    );
    eve_tab
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    let sync = error(&mut eve_tab).await;
    assert_eq!((sync.code, sync.room), (ErrorCode::Forbidden, Some(room)));
    eve_tab.say(room, "intrude", "let me in").await;
    let send = error(&mut eve_tab).await;
    assert_eq!(
        (send.code, send.client_id.as_deref()),
        (ErrorCode::Forbidden, Some("intrude"))
    );
    eve_tab
        .send_frame(&ClientFrame::Read { room, seq: 1 })
        .await;
    assert_eq!(error(&mut eve_tab).await.code, ErrorCode::Forbidden);

    let history = server.history(&eve, room, i64::MAX, 50).await;
    assert_eq!(history.status, 403, "{}", history.body);
    assert!(!history.body.contains("secret plan"));
    assert_eq!(
        server
            .history("not-a-session", room, i64::MAX, 50)
            .await
            .status,
        401
    );

    // Ada posts again: Eve's socket must not see it.
    ada_tab.say(room, "secret-2", "still secret").await;
    ack(&mut ada_tab).await;
    eve_tab.send_frame(&ClientFrame::Ping).await;
    eve_tab
        .until(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
    assert!(
        eve_tab
            .log
            .iter()
            .all(|f| !matches!(f, ServerFrame::Message(_))),
        "nothing leaked: {:?}",
        eve_tab.log
    );
    assert_eq!(
        server.all_messages(&ada, room).await.len(),
        2,
        "nothing stored"
    );
}
both_backends!(non_members_are_refused_and_see_nothing);

/// SECURITY.md: admins do not read private chats. An admin outside a group
/// may moderate it (rename, remove a member) but adds nobody, themselves
/// included (a new member reads the whole history), reads no history, and
/// never learns who is in a direct chat.
async fn an_admin_outside_a_group_cannot_join_or_read_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.user("root@example.com").await; // the first account
    assert_eq!(server.me(&admin).await["role"], "admin");
    let ada = server.user("ada@example.com").await;
    let _bo = server.user("bo@example.com").await;
    let _cy = server.user("cy@example.com").await; // the admin's accomplice
    let room = server.group(&ada, "Private", &["bo@example.com"]).await;
    let mut ada_tab = server.connect(&ada).await;
    ada_tab.hello().await;
    ada_tab.say(room, "secret", "the secret plan").await;
    ack(&mut ada_tab).await;

    let room_id = room.to_string();
    for members in [
        "root@example.com",
        "cy@example.com",
        "root@example.com,cy@example.com",
    ] {
        let add = server
            .call(
                &admin,
                "rooms/add",
                &[("room", &room_id), ("members", members)],
            )
            .await;
        assert_eq!(add.status, 403, "adding {members}: {}", add.body);
    }
    let history = server.history(&admin, room, i64::MAX, 50).await;
    assert_eq!(history.status, 403, "{}", history.body);
    assert!(!history.body.contains("secret plan"));
    let mut admin_tab = server.connect(&admin).await;
    assert!(!admin_tab.state.rooms.contains_key(&room), "not a member");
    admin_tab
        .hello_with(vec![RoomCursor { room, last_seq: 0 }])
        .await;
    assert_eq!(error(&mut admin_tab).await.code, ErrorCode::Forbidden);

    // Moderation stays: the admin sees a group's members and may rename it.
    let members = server
        .call(&admin, "rooms/members", &[("room", &room_id)])
        .await;
    assert_eq!(members.status, 200, "{}", members.body);
    let rename = server
        .call(
            &admin,
            "rooms/rename",
            &[("room", &room_id), ("name", "Renamed")],
        )
        .await;
    assert_eq!(rename.status, 200, "{}", rename.body);

    // A direct chat's members are nobody else's business.
    let direct = server
        .call(&ada, "rooms/direct", &[("email", "bo@example.com")])
        .await;
    assert_eq!(direct.status, 200, "{}", direct.body);
    let direct_room = direct.json()["Room"].as_i64().expect("a direct room");
    let who = server
        .call(
            &admin,
            "rooms/members",
            &[("room", &direct_room.to_string())],
        )
        .await;
    assert_eq!(who.status, 403, "{}", who.body);
    assert!(!who.body.contains("bo@example.com"));

    // Still only Ada and Bo, and only Ada's messages plus the rename line.
    let stored = server.all_messages(&ada, room).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    let members: Vec<serde_json::Value> = serde_json::from_str(&members.body).unwrap();
    assert_eq!(members.len(), 2, "{members:?}");
    server.stop().await;
}
both_backends!(an_admin_outside_a_group_cannot_join_or_read_it);

/// Invitation takeover: whoever signs up first with an invited address gets
/// nothing from the invitation (nobody proved they own the address); only
/// the invitation's own link, a single-use token, completes it.
async fn an_invitation_is_completed_only_through_its_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let invited = server
        .call(&ada, "rooms/direct", &[("email", "carol@example.com")])
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let link = invited.json()["Invited"]["signup_link"]
        .as_str()
        .expect("an invitation")
        .to_string();
    let token = link.split_once("&invite=").expect("a token in the link").1;

    // Mallory types Carol's address: an account, but no chat with Ada.
    let mallory = server.user("carol@example.com").await;
    let mallory_tab = server.tab(&mallory).await;
    assert!(
        mallory_tab.state.rooms.is_empty(),
        "no chat for a typed address"
    );
    let pending = server.call(&ada, "rooms/invitations", &[]).await;
    assert!(
        pending.body.contains("carol@example.com"),
        "still pending: {}",
        pending.body
    );

    // A wrong token completes nothing either.
    let guesser = server
        .sign_up_invited("guess@example.com", "Guess", "not-the-token")
        .await;
    assert_eq!(guesser.status, 200, "{}", guesser.body);
    assert!(server.tab(&guesser.session()).await.state.rooms.is_empty());

    // Whoever holds the link (Carol signs up with another address): the chat.
    let carol = server
        .sign_up_invited("carol.real@example.com", "Carol", token)
        .await;
    assert_eq!(carol.status, 200, "{}", carol.body);
    let carol_tab = server.tab(&carol.session()).await;
    assert_eq!(carol_tab.state.rooms.len(), 1, "the chat with Ada");
    let done = server.call(&ada, "rooms/invitations", &[]).await;
    assert_eq!(done.body, "[]", "the invitation is used");

    // Single use: the same link again gives nothing.
    let again = server
        .sign_up_invited("late@example.com", "Late", token)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(server.tab(&again.session()).await.state.rooms.is_empty());
    server.stop().await;
}
both_backends!(an_invitation_is_completed_only_through_its_link);

// ------------------------------------------------- the authorization matrix

/// One server function, with its form for the conversation under test.
struct Call {
    endpoint: &'static str,
    form: Form,
    /// Allowed for (in `EVERYONE` order): owner, other member, agent of
    /// another department, signed out, agent of the department, admin.
    allowed: [bool; 6],
}

struct Ctx {
    room: i64,
    billing: i64,
    technical: i64,
    sales: i64,
    agent_id: i64,
    owner_id: i64,
    /// An admin's invitation link, for revoking.
    link: i64,
    /// A website with the widget (anonymous visitors allowed).
    site_id: i64,
    site_key: String,
    /// Canned replies of Billing, for changing and deleting.
    canned: i64,
    canned_spare: i64,
}

const Y: bool = true;
const N: bool = false;

fn room(c: &Ctx) -> Vec<(&'static str, String)> {
    vec![("room", c.room.to_string())]
}

/// The matrix, read across: who may call what on a member's Billing
/// conversation. Columns: owner, other member, agent of Technical Support,
/// signed out, agent of Billing, admin. Allowed calls that change state
/// run last in each row (staff columns), so refused callers always meet
/// the same conversation.
#[rustfmt::skip]
fn server_function_matrix() -> Vec<Call> {
    //                                       owner other stranger out agent admin
    vec![
        c("history",                 [Y, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("before_seq", "1000".into()), ("limit", "50".into())]),
        c("rooms/members",           [Y, N, N, N, Y, Y], room),
        c("rooms/mute",              [Y, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("muted", "false".into())]),
        c("rooms/hide",              [Y, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("hidden", "false".into())]),
        // Membership and history of a support conversation follow the
        // desk's rules, never a member's hand: nobody clears, renames,
        // adds, removes or leaves.
        c("rooms/clear",             [N, N, N, N, N, N], room),
        c("rooms/rename",            [N, N, N, N, N, N], |c| vec![("room", c.room.to_string()), ("name", "Mine now".into())]),
        c("rooms/add",               [N, N, N, N, N, N], |c| vec![("room", c.room.to_string()), ("members", "olaf@example.com".into())]),
        c("rooms/remove",            [N, N, N, N, N, N], |c| vec![("room", c.room.to_string()), ("user_id", c.owner_id.to_string())]),
        c("rooms/leave",             [N, N, N, N, N, N], room),
        c("support/staff",           [N, N, N, N, Y, Y], room),
        c("support/claim",           [N, N, N, N, Y, Y], room),
        c("support/assign",          [N, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("agent", c.agent_id.to_string())]),
        c("support/resolve",         [N, N, N, N, Y, Y], room),
        // "How did we do?": the conversation's member rates the resolution
        // just made (its seq is put in below), once.
        c("support/rate",            [Y, N, N, N, N, N], |c| vec![("room", c.room.to_string()), ("resolution", "0".into()), ("score", "4".into()), ("comment", "".into())]),
        c("support/reopen",          [N, N, N, N, Y, Y], room),
        // The agent moves it to Sales (and loses it); the admin, staff
        // everywhere, moves it back to Billing.
        c("support/transfer",        [N, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("department", c.sales.to_string())]),
        // Not about the conversation: anyone signed in may contact a desk.
        c("support/contact",         [Y, Y, Y, N, Y, Y], |c| vec![("department", c.billing.to_string())]),
        c("support/departments",     [Y, Y, Y, N, Y, Y], |_| vec![]),
        // The admin page.
        c("admin/users",             [N, N, N, N, N, Y], |_| vec![]),
        c("admin/departments",       [N, N, N, N, N, Y], |_| vec![]),
        c("admin/role",              [N, N, N, N, N, Y], |c| vec![("user", c.agent_id.to_string()), ("role", "agent".into())]),
        c("admin/agent_departments", [N, N, N, N, N, Y], |c| vec![("user", c.agent_id.to_string()), ("departments", c.billing.to_string())]),
        c("admin/department/create", [N, N, N, N, N, Y], |_| vec![("name", "Refunds".into())]),
        c("admin/department/update", [N, N, N, N, N, Y], |c| vec![("id", c.technical.to_string()), ("name", "Tech Support".into()), ("archived", "false".into())]),
        c("admin/registration",      [N, N, N, N, N, Y], |_| vec![]),
        c("admin/registration/set",  [N, N, N, N, N, Y], |_| vec![("mode", "open".into()), ("domains", "example.com".into())]),
        c("admin/invite_links",      [N, N, N, N, N, Y], |_| vec![]),
        c("admin/invite_links/create", [N, N, N, N, N, Y], |_| vec![("days", "1".into())]),
        c("admin/invite_links/revoke", [N, N, N, N, N, Y], |c| vec![("id", c.link.to_string())]),
        // Reactivating someone active is the harmless way to call it (a
        // deactivation is tests/lifecycle.rs's); a refused call must
        // change nothing either way.
        c("admin/active",            [N, N, N, N, N, Y], |c| vec![("user", c.agent_id.to_string()), ("active", "true".into())]),
        c("admin/audit",             [N, N, N, N, N, Y], |_| vec![]),
        c("admin/retention",         [N, N, N, N, N, Y], |_| vec![]),
        // Keeping messages for ever (the default) is the harmless setting.
        c("admin/retention/set",     [N, N, N, N, N, Y], |_| vec![("scope", "instance".into()), ("days", "0".into())]),
        c("admin/sso",               [N, N, N, N, N, Y], |_| vec![]),
        c("admin/node",              [N, N, N, N, N, Y], |_| vec![]),
        // Without a provider, passwords stay on: the harmless call.
        c("admin/sso/set",           [N, N, N, N, N, Y], |_| vec![("link_by_email", "false".into()), ("password_login", "true".into())]),
        // Public: the sign-up page shows the rule before anyone signs in.
        c("signup/policy",           [Y, Y, Y, Y, Y, Y], |_| vec![]),
        // The reaction picker's emoji list: anyone signed in.
        c("emoji",                   [Y, Y, Y, N, Y, Y], |_| vec![]),
        // The composer's `@` list: the conversation's members (its
        // customer is offered no one, and leaks nothing by asking).
        c("mentions",                [Y, N, N, N, Y, Y], |c| vec![("room", c.room.to_string()), ("typed", "a".into())]),
        // Search: anyone signed in, over their own conversations only
        // (what each finds of the conversation is checked below).
        c("search",                  [Y, Y, Y, N, Y, Y], |_| vec![("query", "secret".into())]),
        // Uploading into the conversation: its members (the customer and
        // the department's staff).
        c("start_upload",            [Y, N, N, N, Y, Y], |c| vec![("upload_id", "matrix-1".into()), ("room", c.room.to_string()), ("name", "a.txt".into()), ("size", "3".into())]),
        // Presence settings: anyone signed in, for themselves.
        c("privacy",                 [Y, Y, Y, N, Y, Y], |_| vec![]),
        c("privacy/set",             [Y, Y, Y, N, Y, Y], |_| vec![("invisible", "false".into()), ("receipts", "true".into())]),
        // Read receipts of the conversation: its members (the customer
        // is answered with none: staff reads are not shown to them).
        c("receipts",                [Y, N, N, N, Y, Y], |c| vec![("room", c.room.to_string())]),
        // Canned replies: the conversation's department's staff.
        c("canned",                  [N, N, N, N, Y, Y], room),
        c("canned/create",           [N, N, N, N, Y, Y], |c| vec![("department", c.billing.to_string()), ("title", "Refund".into()), ("body", "Hi {name}".into())]),
        c("canned/update",           [N, N, N, N, Y, Y], |c| vec![("id", c.canned.to_string()), ("title", "Refunds".into()), ("body", "Hello {name}".into())]),
        // The agent deletes one, the admin another.
        c("canned/delete",           [N, N, N, N, Y, Y], |c| vec![("id", c.canned.to_string())]),
        // Websites with the chat widget: admins manage them.
        c("sites",                   [N, N, N, N, N, Y], |_| vec![]),
        c("sites/create",            [N, N, N, N, N, Y], |c| vec![("name", "Shop 2".into()), ("origins", "https://two.shop.test".into()), ("departments", c.billing.to_string()), ("anonymous", "true".into())]),
        c("sites/update",            [N, N, N, N, N, Y], |c| vec![("id", c.site_id.to_string()), ("name", "Shop".into()), ("origins", "https://shop.test".into()), ("departments", c.billing.to_string()), ("anonymous", "true".into())]),
        c("sites/rotate",            [N, N, N, N, N, Y], |c| vec![("id", c.site_id.to_string())]),
        // Who a website visitor is: the conversation's staff (a member's
        // conversation answers "nobody").
        c("support/visitor",         [N, N, N, N, Y, Y], room),
        // Reports: staff, each of their own departments (admins: all).
        c("reports",                 [N, N, Y, N, Y, Y], |_| vec![("from", "2026-11-01".into()), ("to", "2026-11-30".into()), ("offset", "0".into()), ("department", "0".into()), ("agent", "0".into())]),
        // The conversation's internal notes: its staff only.
        c("support/notes",           [N, N, N, N, Y, Y], room),
        // The widget's panel: what anyone may ask before a visitor is
        // known; a member's session is no visitor (`tests/widget.rs`
        // holds the visitors' own column).
        c("widget/site",             [Y, Y, Y, Y, Y, Y], |c| vec![("site", c.site_key.clone()), ("host", "https://shop.test".into())]),
        c("widget/me",               [Y, Y, Y, Y, Y, Y], |c| vec![("site", c.site_key.clone()), ("host", "https://shop.test".into())]),
        c("widget/start",            [Y, Y, Y, Y, Y, Y], |c| vec![("site", c.site_key.clone()), ("host", "https://shop.test".into()), ("name", "Visitor".into()), ("email", "v@example.com".into()), ("page", "".into()), ("time_zone", "".into())]),
        c("widget/identify",         [N, N, N, N, N, N], |c| vec![("site", c.site_key.clone()), ("host", "https://shop.test".into()), ("token", "forged.token.here".into()), ("page", "".into()), ("time_zone", "".into())]),
        c("widget/open",             [N, N, N, N, N, N], |c| vec![("site", c.site_key.clone()), ("host", "https://shop.test".into()), ("department", c.billing.to_string()), ("page", "".into()), ("time_zone", "".into())]),
        c("widget/leave",            [Y, Y, Y, Y, Y, Y], |_| vec![]),
        // Signing in without a password: public, the reset link's token is
        // what authorizes (a wrong one is refused for everyone, and changes
        // nobody's password: checked by logging in below).
        c("login/options",           [Y, Y, Y, Y, Y, Y], |_| vec![]),
        c("password/forgot",         [Y, Y, Y, Y, Y, Y], |_| vec![("email", "mia@example.com".into())]),
        c("password/reset",          [N, N, N, N, N, N], |_| vec![("token", "A".repeat(43)), ("password", "a brand new passphrase".into())]),
        // Email notifications: anyone signed in, for themselves.
        c("email/settings",          [Y, Y, Y, N, Y, Y], |_| vec![]),
        c("email/delay",             [Y, Y, Y, N, Y, Y], |_| vec![("minutes", "60".into())]),
        // Push notifications: anyone signed in, for their own devices (each
        // caller subscribes an endpoint of its own and removes that one:
        // see the loop below).
        c("push/settings",           [Y, Y, Y, N, Y, Y], |_| vec![]),
        c("push/subscribe",          [Y, Y, Y, N, Y, Y], |_| vec![("endpoint", String::new()), ("p256dh", DEVICE_KEY.into()), ("auth", DEVICE_AUTH.into()), ("label", "Matrix".into())]),
        c("push/previews",           [Y, Y, Y, N, Y, Y], |_| vec![("on", "true".into())]),
        c("push/remove",             [Y, Y, Y, N, Y, Y], |_| vec![("id", "0".into())]),
    ]
}

/// The next error on `tab` refuses something in `room` as forbidden.
async fn refused_in(tab: &mut crate::common::Tab, room: i64, what: &str) {
    let e = error(tab).await;
    assert_eq!(
        (e.code, e.room),
        (ErrorCode::Forbidden, Some(room)),
        "{what}"
    );
}

/// A browser's push keys: P-256's generator point is a valid public key.
const DEVICE_KEY: &str =
    "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
const DEVICE_AUTH: &str = "AAECAwQFBgcICQoLDA0ODw";

/// Each caller's own push endpoint (one endpoint belongs to one account).
fn device_endpoint(who: Who) -> String {
    format!("https://push.example.com/matrix/{who:?}")
}

type Form = fn(&Ctx) -> Vec<(&'static str, String)>;

fn c(endpoint: &'static str, allowed: [bool; 6], form: Form) -> Call {
    Call {
        endpoint,
        form,
        allowed,
    }
}

async fn authorization_matrix(backend: Backend) {
    // With a real SMTP server, so "Forgot password?" is on.
    let smtp = crate::common::smtp::SmtpServer::start().await;
    let mut env = smtp.env();
    env.push(("GLASSCHAT_RESET_RATE", "1000/1"));
    let desk = Desk::open_with(backend, &env).await;
    let server = &desk.server;
    let sales_reply = ok(server
        .call(&desk.admin, "admin/department/create", &[("name", "Sales")])
        .await);
    let sales = sales_reply.json().as_i64().unwrap();
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut owner_tab = server.tab(&desk.owner).await;
    owner_tab
        .say(room, "secret-1", "my card number is secret-4242")
        .await;
    ack(&mut owner_tab).await;
    let link = ok(server
        .call(&desk.admin, "admin/invite_links/create", &[("days", "7")])
        .await)
    .json()["link"]["id"]
        .as_i64()
        .unwrap();
    let site = ok(server
        .call(
            &desk.admin,
            "sites/create",
            &[
                ("name", "Shop"),
                ("origins", "https://shop.test"),
                ("departments", &desk.billing.to_string()),
                ("anonymous", "true"),
            ],
        )
        .await)
    .json();
    let mut canned_ids = Vec::new();
    for title in ["Greeting", "Goodbye"] {
        let made = ok(server
            .call(
                &desk.admin,
                "canned/create",
                &[
                    ("department", &desk.billing.to_string()),
                    ("title", title),
                    ("body", "Hello {name}"),
                ],
            )
            .await);
        canned_ids.push(made.json().as_i64().unwrap());
    }
    let ctx = Ctx {
        canned: canned_ids[0],
        canned_spare: canned_ids[1],
        site_id: site["site"]["id"].as_i64().unwrap(),
        site_key: site["site"]["key"].as_str().unwrap().to_string(),
        link,
        room,
        billing: desk.billing,
        technical: desk.technical,
        sales,
        agent_id: desk.agent_id,
        owner_id: desk.owner_id,
    };

    let mut failures = Vec::new();
    for call in server_function_matrix() {
        let mut form = (call.form)(&ctx);
        if call.endpoint == "support/rate" {
            let resolved = server
                .db
                .scalar(&format!(
                    "SELECT MAX(seq) FROM messages WHERE room_id = {room} AND kind = 'system'"
                ))
                .await;
            form[1].1 = resolved.to_string();
        }
        for (who, allowed) in EVERYONE.iter().zip(call.allowed) {
            let mut form = form.clone();
            if call.endpoint == "support/transfer" && *who == Who::Admin {
                form[1].1 = desk.billing.to_string(); // back home
            }
            if call.endpoint == "canned/create" && *who == Who::Admin {
                form[1].1 = "Refund, again".into(); // a title is one per department
            }
            if call.endpoint == "canned/delete" && *who == Who::Admin {
                form[0].1 = ctx.canned_spare.to_string(); // the agent deleted the first
            }
            if call.endpoint == "push/subscribe" {
                form[0].1 = device_endpoint(*who);
            }
            if call.endpoint == "push/remove" {
                let id = server
                    .db
                    .scalar(&format!(
                        "SELECT COALESCE(MAX(id), 0) FROM push_subscriptions WHERE endpoint = '{}'",
                        device_endpoint(*who)
                    ))
                    .await;
                form[0].1 = id.to_string();
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let before = desk.fingerprint(room).await;
            let reply = server
                .call_as(desk.cookie(*who), call.endpoint, &form)
                .await;
            let after = desk.fingerprint(room).await;
            let passed = if allowed {
                reply.status == 200
            } else {
                let refused = matches!(reply.status, 401 | 403);
                refused && before == after && !reply.body.contains("secret-4242")
            };
            if !passed {
                failures.push(format!(
                    "{} as {who:?}: expected {}, got {} {} (state {} )",
                    call.endpoint,
                    if allowed { "allowed" } else { "refused" },
                    reply.status,
                    reply.body,
                    if before == after {
                        "unchanged"
                    } else {
                        "CHANGED"
                    },
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "matrix failures:\n{}",
        failures.join("\n")
    );
    // The refused reset changed no password; the allowed "forgot" calls
    // each mailed the account its own link.
    let login = server
        .log_in("mia@example.com", "correct horse battery")
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    smtp.wait_for("mia@example.com", 6, 10).await;
    // Search finds the conversation's message for its member and the
    // department's staff only.
    for who in EVERYONE.iter().filter(|w| **w != Who::SignedOut) {
        let reply = server
            .call_as(desk.cookie(*who), "search", &[("query", "secret 4242")])
            .await;
        assert_eq!(reply.status, 200, "{who:?}: {}", reply.body);
        let staff_or_owner = matches!(who, Who::Owner | Who::Agent | Who::Admin);
        assert_eq!(
            reply.body.contains("4242"),
            staff_or_owner,
            "{who:?} searching: {}",
            reply.body
        );
    }

    // Files: the customer's file in the conversation is read by them and
    // the department's staff; anyone else gets the same 404 as for a file
    // that does not exist. An upload's bytes go to its uploader's upload only.
    let file = server
        .upload(&desk.owner, room, "card.txt", b"secret-4242 card")
        .await;
    owner_tab.send_files(room, "file-1", "", &[file]).await;
    ack(&mut owner_tab).await;
    let (_, _, no_such_file) = server
        .download(desk.cookie(Who::Owner), "/files/99999")
        .await;
    let pending = ok(server
        .start_upload(&desk.owner, "matrix-put", room, "p.txt", 3)
        .await)
    .json()["id"]
        .as_i64()
        .unwrap();
    for (who, allowed) in EVERYONE.iter().zip([Y, N, N, N, Y, Y]) {
        for path in [format!("/files/{file}")] {
            let (status, _, body) = server.download(desk.cookie(*who), &path).await;
            if allowed {
                assert_eq!(status, 200, "{who:?} reading {path}");
                assert_eq!(body, b"secret-4242 card");
            } else {
                assert_eq!(
                    (status, &body),
                    (404, &no_such_file),
                    "{who:?} reading {path}"
                );
            }
        }
        if *who != Who::Owner {
            let put = server
                .put_bytes(
                    desk.cookie(*who).unwrap_or("none"),
                    pending,
                    0,
                    b"abc".to_vec(),
                )
                .await;
            assert!(
                matches!(put.status, 401 | 404),
                "{who:?} writing: {}",
                put.status
            );
        }
    }
    let untouched = ok(server
        .start_upload(&desk.owner, "matrix-put", room, "p.txt", 3)
        .await);
    assert_eq!(untouched.json()["received"], 0, "nobody else wrote to it");

    // The frames, for each signed-in caller: does the conversation appear
    // in their Welcome, may they send and read in it, does a catch-up
    // request for it answer, and does a live message reach them?
    // (Signed out there is no socket: the handshake answers 401.)
    assert!(server.ws_raw(None, Some(&server.base)).await.is_err());
    let mut tabs = Vec::new();
    for who in EVERYONE.iter().filter(|w| **w != Who::SignedOut) {
        let cookie = desk.cookie(*who).unwrap();
        let mut tab = server.connect(cookie).await;
        tab.hello_with(vec![RoomCursor { room, last_seq: 0 }]).await;
        tabs.push((*who, tab));
    }
    for (who, tab) in tabs.iter_mut() {
        let staff_or_owner = matches!(who, Who::Owner | Who::Agent | Who::Admin);
        assert_eq!(
            tab.state.rooms.contains_key(&room),
            staff_or_owner,
            "{who:?}: welcome"
        );
        let caught_up_with_secret = tab
            .log
            .iter()
            .any(|f| matches!(f, ServerFrame::Message(m) if m.body.contains("secret-4242")));
        assert_eq!(caught_up_with_secret, staff_or_owner, "{who:?}: catch-up");
        if !staff_or_owner {
            // Asking for the room in Hello was answered with a refusal.
            let refused = |f: &ServerFrame| matches!(f, ServerFrame::Error(e) if e.code == ErrorCode::Forbidden && e.room == Some(room));
            if !tab.log.iter().any(refused) {
                tab.until(|f| refused(f).then_some(())).await;
            }
        }

        let before = desk.fingerprint(room).await;
        tab.send_frame(&ClientFrame::Read { room, seq: 1 }).await;
        let client_id = format!("matrix-{who:?}");
        tab.say(room, &client_id, "sneaking in").await;
        // A reply to the first message: the same rule as a send, and a
        // non-member learns nothing of whether that message exists.
        tab.reply(room, &format!("{client_id}-reply"), "a reply", 1)
            .await;
        if staff_or_owner {
            for _ in 0..2 {
                let a = ack(tab).await;
                assert_eq!(a.room, room);
            }
        } else {
            // Read, send and reply are refused; nothing stored.
            for _ in 0..3 {
                let e = error(tab).await;
                assert_eq!(e.code, ErrorCode::Forbidden, "{who:?}");
            }
            assert_eq!(
                desk.fingerprint(room).await,
                before,
                "{who:?}: refused frames stored nothing"
            );
        }
    }
    // Edits, deletes and reactions on the owner's first message: nobody
    // edits or deletes in a support conversation (its record stays whole,
    // the owner's own message included); its members react; anyone else
    // is refused whether or not the message exists, and learns nothing.
    let secret_seq = server
        .all_messages(&desk.owner, room)
        .await
        .iter()
        .find(|m| m.body.contains("secret-4242"))
        .map(|m| m.seq)
        .expect("the owner's message");
    for (who, tab) in tabs.iter_mut() {
        let member = matches!(who, Who::Owner | Who::Agent | Who::Admin);
        let before = desk.fingerprint(room).await;
        let frames = [
            ClientFrame::Edit {
                room,
                seq: secret_seq,
                body: "rewritten".into(),
            },
            ClientFrame::Delete {
                room,
                seq: secret_seq,
            },
        ];
        for frame in frames {
            tab.send_frame(&frame).await;
            let e = error(tab).await;
            assert_eq!(e.code, ErrorCode::Forbidden, "{who:?}: {frame:?}");
            assert!(!e.message.contains("secret-4242"));
        }
        assert_eq!(
            desk.fingerprint(room).await,
            before,
            "{who:?}: nothing changed"
        );
        tab.react(room, secret_seq, "👍", true).await;
        if member {
            // Its own reaction's frame (an earlier member's may still be
            // waiting on this socket), so it is stored before the next
            // caller's fingerprint is taken.
            let me = tab.state.user_id;
            tab.until(|f| match f {
                ServerFrame::Changed(c) if c.room == room => c
                    .message
                    .reactions
                    .iter()
                    .any(|r| r.users.iter().any(|u| u.id == me))
                    .then_some(()),
                _ => None,
            })
            .await;
        } else {
            refused_in(tab, room, &format!("{who:?}")).await;
            tab.react(room, 999_999, "👍", true).await;
            assert_eq!(
                error(tab).await.code,
                ErrorCode::Forbidden,
                "{who:?}: no probing"
            );
        }
    }

    // Typing in the conversation and the presence of its people: its
    // members only; anyone else is refused and hears none of it.
    for (who, tab) in tabs.iter_mut() {
        let member = matches!(who, Who::Owner | Who::Agent | Who::Admin);
        tab.send_frame(&ClientFrame::View { room: Some(room) })
            .await;
        if member {
            tab.until(|f| matches!(f, ServerFrame::Presence { .. }).then_some(()))
                .await;
        } else {
            refused_in(tab, room, &format!("{who:?}: view")).await;
        }
        tab.send_frame(&ClientFrame::Typing { room, on: true })
            .await;
        if !member {
            refused_in(tab, room, &format!("{who:?}: typing")).await;
        }
    }

    // A live message reaches exactly the staff and the owner.
    let mut owner_again = server.tab(&desk.owner).await;
    owner_again
        .say(room, "live-1", "live secret-4242 again")
        .await;
    let seq = ack(&mut owner_again).await.seq;
    for (who, tab) in tabs.iter_mut() {
        if matches!(who, Who::Owner | Who::Agent | Who::Admin) {
            tab.until_seq(room, seq).await;
        } else {
            tab.settle().await;
            assert!(
                !tab.log
                    .iter()
                    .any(|f| matches!(f, ServerFrame::Message(m) if m.room == room)),
                "{who:?} received a message of a conversation not theirs"
            );
            assert!(
                !tab.log
                    .iter()
                    .any(|f| matches!(f, ServerFrame::Typing { room: r, .. } if *r == room)),
                "{who:?} heard typing in a conversation not theirs"
            );
            assert!(
                !tab.log.iter().any(|f| matches!(f, ServerFrame::Presence { users } if users.iter().any(|v| v.user == desk.owner_id))),
                "{who:?} was shown the presence of a customer not theirs"
            );
        }
    }
}
both_backends!(authorization_matrix);

// ---------------------------------------------- one conversation per pair
