//! The support desk end to end (the real binary, real sockets, both
//! databases): who may do what to a support conversation, one
//! conversation per member and department, transfer, resolve, reopen, and
//! role changes with their effect on open sockets.

mod common;

use common::{ack, assert_matches_fresh, error, Backend, Reply, Tab, TestServer};
use glasschat::model::{DepartmentView, MemberView, StaffView};
use glasschat::realtime::protocol::{
    close, ClientFrame, ErrorCode, RoomCursor, ServerFrame, SupportStatus, SystemEvent,
};

// ------------------------------------------------------------------ setup

/// The six kinds of caller the matrix checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The member whose conversation it is.
    Owner,
    /// Another member.
    Other,
    /// An agent of the conversation's department.
    Agent,
    /// An agent of another department.
    Stranger,
    Admin,
    SignedOut,
}

const EVERYONE: [Who; 6] = [
    Who::Owner,
    Who::Other,
    Who::Stranger,
    Who::SignedOut,
    Who::Agent,
    Who::Admin,
];

struct Desk {
    server: TestServer,
    admin: String,
    owner: String,
    other: String,
    agent: String,
    stranger: String,
    billing: i64,
    technical: i64,
    owner_id: i64,
    agent_id: i64,
}

impl Desk {
    async fn open(backend: Backend) -> Desk {
        let server = TestServer::start(backend).await;
        let admin = server.user("root@example.com").await;
        let owner = server.user("mia@example.com").await;
        let other = server.user("olaf@example.com").await;
        let agent = server.user("bill@example.com").await;
        let stranger = server.user("tess@example.com").await;
        let departments: Vec<DepartmentView> =
            ok(server.call(&admin, "support/departments", &[]).await).json_as();
        let id = |name: &str| {
            departments
                .iter()
                .find(|d| d.name == name)
                .map(|d| d.id)
                .expect("seeded department")
        };
        let (billing, technical) = (id("Billing"), id("Technical Support"));
        let owner_id = server.me(&owner).await["id"].as_i64().unwrap();
        let agent_id = server.me(&agent).await["id"].as_i64().unwrap();
        let stranger_id = server.me(&stranger).await["id"].as_i64().unwrap();
        let mut desk = Desk {
            owner_id,
            agent_id,
            server,
            admin,
            owner,
            other,
            agent,
            stranger,
            billing,
            technical,
        };
        desk.make_agent(agent_id, &[billing]).await;
        desk.make_agent(stranger_id, &[technical]).await;
        // A role change ended their sessions: they log in again.
        desk.agent = desk.log_in("bill@example.com").await;
        desk.stranger = desk.log_in("tess@example.com").await;
        desk
    }

    async fn log_in(&self, email: &str) -> String {
        ok(self.server.log_in(email, "correct horse battery").await).session()
    }

    async fn make_agent(&self, user: i64, departments: &[i64]) {
        let user = user.to_string();
        ok(self
            .server
            .call(
                &self.admin,
                "admin/role",
                &[("user", &user), ("role", "agent")],
            )
            .await);
        let list = departments
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        ok(self
            .server
            .call(
                &self.admin,
                "admin/agent_departments",
                &[("user", &user), ("departments", &list)],
            )
            .await);
    }

    fn cookie(&self, who: Who) -> Option<&str> {
        match who {
            Who::Owner => Some(&self.owner),
            Who::Other => Some(&self.other),
            Who::Agent => Some(&self.agent),
            Who::Stranger => Some(&self.stranger),
            Who::Admin => Some(&self.admin),
            Who::SignedOut => None,
        }
    }

    async fn contact(&self, cookie: &str, department: i64) -> i64 {
        let reply = self
            .server
            .call(
                cookie,
                "support/contact",
                &[("department", &department.to_string())],
            )
            .await;
        ok(reply).json().as_i64().expect("room id")
    }

    /// Everything about the desk a refused call must leave as it was.
    async fn fingerprint(&self, room: i64) -> Vec<i64> {
        let db = &self.server.db;
        let mut out = Vec::new();
        for sql in [
            format!("SELECT last_seq FROM rooms WHERE id = {room}"),
            format!("SELECT COUNT(*) FROM messages WHERE room_id = {room}"),
            format!("SELECT COUNT(*) FROM room_members WHERE room_id = {room}"),
            format!("SELECT CAST(COALESCE(SUM(last_read_seq), 0) AS BIGINT) FROM room_members WHERE room_id = {room}"),
            format!("SELECT CAST(COALESCE(SUM(CASE WHEN hidden THEN 1 ELSE 0 END + CASE WHEN muted THEN 2 ELSE 0 END), 0) AS BIGINT) FROM room_members WHERE room_id = {room}"),
            format!("SELECT COALESCE(assignee_id, 0) FROM rooms WHERE id = {room}"),
            format!("SELECT department_id FROM rooms WHERE id = {room}"),
            format!("SELECT COUNT(*) FROM rooms WHERE support_status = 'resolved' AND id = {room}"),
            "SELECT COUNT(*) FROM rooms".to_string(),
            "SELECT COUNT(*) FROM departments".to_string(),
            "SELECT CAST(COALESCE(SUM(CASE WHEN archived THEN id ELSE 0 END), 0) AS BIGINT) FROM departments".to_string(),
            "SELECT COUNT(*) FROM agent_departments".to_string(),
            "SELECT CAST(SUM(CASE role WHEN 'admin' THEN 100 * id WHEN 'agent' THEN id ELSE 0 END) AS BIGINT) FROM users".to_string(),
        ] {
            out.push(db.scalar(&sql).await);
        }
        out
    }
}

impl TestServer {
    async fn call(&self, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        self.post_form(&format!("/api/{endpoint}"), form, Some(cookie))
            .await
    }

    async fn call_as(&self, cookie: Option<&str>, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        self.post_form(&format!("/api/{endpoint}"), form, cookie)
            .await
    }

    async fn tab(&self, cookie: &str) -> Tab {
        let mut tab = self.connect(cookie).await;
        tab.hello().await;
        tab
    }
}

trait JsonAs {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T;
}

impl JsonAs for Reply {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).expect("json answer")
    }
}

fn ok(reply: Reply) -> Reply {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

async fn room_added(tab: &mut Tab, room: i64) {
    tab.until(|f| match f {
        ServerFrame::RoomAdded(s) if s.room == room => Some(()),
        _ => None,
    })
    .await
}

async fn room_removed(tab: &mut Tab, room: i64) {
    tab.until(|f| match f {
        ServerFrame::RoomRemoved { room: r } if *r == room => Some(()),
        _ => None,
    })
    .await
}

async fn event(tab: &mut Tab, room: i64) -> SystemEvent {
    tab.until(|f| match f {
        ServerFrame::Message(m) if m.room == room => m.event.clone(),
        _ => None,
    })
    .await
}

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
    ]
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
    let desk = Desk::open(backend).await;
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
    let ctx = Ctx {
        room,
        billing: desk.billing,
        technical: desk.technical,
        sales,
        agent_id: desk.agent_id,
        owner_id: desk.owner_id,
    };

    let mut failures = Vec::new();
    for call in server_function_matrix() {
        let form = (call.form)(&ctx);
        for (who, allowed) in EVERYONE.iter().zip(call.allowed) {
            let mut form = form.clone();
            if call.endpoint == "support/transfer" && *who == Who::Admin {
                form[1].1 = desk.billing.to_string(); // back home
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
        if staff_or_owner {
            let a = ack(tab).await;
            assert_eq!(a.room, room);
        } else {
            // Read is refused, then send is refused; nothing stored.
            for _ in 0..2 {
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
        }
    }
}
both_backends!(authorization_matrix);

// ---------------------------------------------- one conversation per pair

async fn contacting_twice_gives_one_conversation(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    // Two tabs of the member, many quick clicks at once.
    let mut calls = Vec::new();
    for _ in 0..12 {
        calls.push(desk.contact(&desk.owner, desk.billing));
    }
    let rooms = futures::future::join_all(calls).await;
    assert!(rooms.windows(2).all(|w| w[0] == w[1]), "{rooms:?}");
    let count = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM rooms WHERE kind = 'support' AND support_user_id = {} AND department_id = {}",
            desk.owner_id, desk.billing
        ))
        .await;
    assert_eq!(count, 1);
    // The constraint itself refuses a second row, whatever the code does.
    let duplicate = format!(
        "INSERT INTO rooms (kind, support_user_id, department_id, support_status, created_at, last_activity)
         VALUES ('support', {}, {}, 'open', 0, 0)",
        desk.owner_id, desk.billing
    );
    assert!(server.db.try_execute(&duplicate).await.is_err());

    // Another department is another conversation; an archived one takes none.
    let tech = desk.contact(&desk.owner, desk.technical).await;
    assert_ne!(tech, rooms[0]);
    ok(server
        .call(
            &desk.admin,
            "admin/department/update",
            &[
                ("id", &desk.technical.to_string()),
                ("name", "Technical Support"),
                ("archived", "true"),
            ],
        )
        .await);
    let reply = server
        .call(
            &desk.other,
            "support/contact",
            &[("department", &desk.technical.to_string())],
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let listed: Vec<DepartmentView> =
        ok(server.call(&desk.other, "support/departments", &[]).await).json_as();
    assert!(listed.iter().all(|d| d.id != desk.technical));
}
both_backends!(contacting_twice_gives_one_conversation);

// ------------------------------------------- claim, resolve, reopen, live

async fn claim_resolve_and_reopen_by_writing(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let mut agent_tab = server.tab(&desk.agent).await;
    let room = desk.contact(&desk.owner, desk.billing).await;
    room_added(&mut agent_tab, room).await;
    let mut owner_tab = server.tab(&desk.owner).await;
    let summary = owner_tab.summary(room);
    assert_eq!(summary.name, "Billing", "the member sees the department");
    assert!(
        agent_tab.summary(room).name.starts_with("mia"),
        "staff see the member"
    );

    owner_tab.say(room, "q1", "I was charged twice").await;
    let sent = ack(&mut owner_tab).await;
    agent_tab.until_seq(room, sent.seq).await;
    let info = agent_tab.summary(room).support.unwrap();
    assert_eq!(
        info.waiting_since,
        Some(sent.server_time),
        "the member is waiting"
    );
    assert_eq!(info.assignee_id, None);
    assert_eq!(agent_tab.summary(room).unread, 1);

    ok(server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await);
    assert!(
        matches!(event(&mut owner_tab, room).await, SystemEvent::Claimed { name } if name == "bill")
    );
    agent_tab.say(room, "a1", "Refunded, sorry!").await;
    ack(&mut agent_tab).await;
    owner_tab.settle().await;
    let seen = owner_tab.summary(room).support.unwrap();
    assert_eq!(
        seen.assignee_name.as_deref(),
        Some("bill"),
        "the member sees who handles it"
    );
    assert_eq!(seen.waiting_since, None, "a reply ends the wait");

    let staff: Vec<StaffView> = ok(server
        .call(&desk.agent, "support/staff", &[("room", &room.to_string())])
        .await)
    .json_as();
    assert!(staff.iter().any(|s| s.user_id == desk.agent_id));
    ok(server
        .call(
            &desk.agent,
            "support/resolve",
            &[("room", &room.to_string())],
        )
        .await);
    assert!(matches!(
        event(&mut owner_tab, room).await,
        SystemEvent::Resolved { .. }
    ));
    owner_tab.settle().await;
    assert_eq!(
        owner_tab.summary(room).support.unwrap().status,
        SupportStatus::Resolved
    );

    // The member writes again: the conversation reopens, in the same commit.
    owner_tab.say(room, "q2", "It happened again").await;
    let again = ack(&mut owner_tab).await;
    agent_tab.until_seq(room, again.seq + 1).await;
    let line = &agent_tab.state.rooms[&room].messages[&(again.seq + 1)];
    assert!(matches!(&line.event, Some(SystemEvent::Reopened { by }) if by == "mia"));
    agent_tab.settle().await;
    assert_eq!(
        agent_tab.summary(room).support.unwrap().status,
        SupportStatus::Open
    );
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM rooms WHERE support_status = 'open' AND id = {room}"
            ))
            .await,
        1
    );
    assert_matches_fresh(server, &desk.owner, &mut owner_tab).await;
    assert_matches_fresh(server, &desk.agent, &mut agent_tab).await;
}
both_backends!(claim_resolve_and_reopen_by_writing);

// ------------------------------------------------------------- transfer

async fn transfer_moves_the_conversation_and_its_staff(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut agent_tab = server.tab(&desk.agent).await;
    let mut stranger_tab = server.tab(&desk.stranger).await;
    let mut owner_tab = server.tab(&desk.owner).await;
    owner_tab.say(room, "q1", "Is my router broken?").await;
    ack(&mut owner_tab).await;

    // The member already talks to Technical Support: refused, not merged.
    let tech_room = desk.contact(&desk.owner, desk.technical).await;
    let before = desk.fingerprint(room).await;
    let reply = server
        .call(
            &desk.agent,
            "support/transfer",
            &[
                ("room", &room.to_string()),
                ("department", &desk.technical.to_string()),
            ],
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("TransferConflict"), "{}", reply.body);
    assert_eq!(desk.fingerprint(room).await, before);

    // Once that one has moved on to Sales, the transfer goes through.
    let sales = ok(server
        .call(&desk.admin, "admin/department/create", &[("name", "Sales")])
        .await)
    .json()
    .as_i64()
    .unwrap();
    ok(server
        .call(
            &desk.stranger,
            "support/transfer",
            &[
                ("room", &tech_room.to_string()),
                ("department", &sales.to_string()),
            ],
        )
        .await);
    room_removed(&mut stranger_tab, tech_room).await;
    ok(server
        .call(
            &desk.agent,
            "support/transfer",
            &[
                ("room", &room.to_string()),
                ("department", &desk.technical.to_string()),
            ],
        )
        .await);
    room_removed(&mut agent_tab, room).await;
    room_added(&mut stranger_tab, room).await;
    assert!(matches!(event(&mut owner_tab, room).await,
        SystemEvent::Transferred { from, to, .. } if from == "Billing" && to == "Technical Support"));
    owner_tab.settle().await;
    let info = owner_tab.summary(room).support.unwrap();
    assert_eq!(info.department, "Technical Support");
    assert_eq!(info.assignee_id, None, "unassigned in its new department");
    assert_eq!(owner_tab.summary(room).name, "Technical Support");

    // The old department's agent can no longer read or write it.
    agent_tab.say(room, "late", "still here?").await;
    assert_eq!(error(&mut agent_tab).await.code, ErrorCode::Forbidden);
    assert_eq!(server.history(&desk.agent, room, 100, 10).await.status, 403);
    owner_tab.say(room, "q2", "hello?").await;
    let seq = ack(&mut owner_tab).await.seq;
    stranger_tab.until_seq(room, seq).await;
    agent_tab.settle().await;
    assert!(!agent_tab.state.rooms.contains_key(&room));
    assert!(!agent_tab.seqs(room).contains(&seq));
    assert_matches_fresh(server, &desk.stranger, &mut stranger_tab).await;
    assert_matches_fresh(server, &desk.owner, &mut owner_tab).await;
}
both_backends!(transfer_moves_the_conversation_and_its_staff);

// ---------------------------------------------------------- role changes

async fn role_and_department_changes_reach_open_sockets(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let agent = desk.agent_id.to_string();
    let log_in = || async {
        let reply = server
            .log_in("bill@example.com", "correct horse battery")
            .await;
        ok(reply).session()
    };

    // A department change: the agent's open tab loses and regains the
    // conversation live, and may act in it only while it is theirs.
    let mut agent_tab = server.tab(&desk.agent).await;
    let mut owner_tab = server.tab(&desk.owner).await;
    assert!(agent_tab.state.rooms.contains_key(&room));
    ok(server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await);
    ok(server
        .call(
            &desk.admin,
            "admin/agent_departments",
            &[
                ("user", &agent),
                ("departments", &desk.technical.to_string()),
            ],
        )
        .await);
    room_removed(&mut agent_tab, room).await;
    // Nobody is left handling it: it is back in Billing's queue.
    owner_tab.settle().await;
    assert_eq!(owner_tab.summary(room).support.unwrap().assignee_id, None);
    agent_tab
        .until(|f| matches!(f, ServerFrame::RoleChanged { .. }).then_some(()))
        .await;
    agent_tab.say(room, "x1", "one last word").await;
    assert_eq!(error(&mut agent_tab).await.code, ErrorCode::Forbidden);
    assert_eq!(server.history(&desk.agent, room, 100, 10).await.status, 403);
    let reply = server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await;
    assert_eq!(reply.status, 403);
    let members: Vec<MemberView> = ok(server
        .call(&desk.owner, "rooms/members", &[("room", &room.to_string())])
        .await)
    .json_as();
    assert!(members.iter().all(|m| m.user_id != desk.agent_id));
    ok(server
        .call(
            &desk.admin,
            "admin/agent_departments",
            &[("user", &agent), ("departments", &desk.billing.to_string())],
        )
        .await);
    room_added(&mut agent_tab, room).await;
    assert_matches_fresh(server, &desk.agent, &mut agent_tab).await;
    assert_matches_fresh(server, &desk.owner, &mut owner_tab).await;

    // A role change ends every session of the user: the open tab closes
    // with 1008, the old cookie is refused, and the conversation is gone.
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &agent), ("role", "member")],
        )
        .await);
    assert_eq!(agent_tab.closed_with().await, Some(close::REVOKED));
    assert_eq!(server.history(&desk.agent, room, 100, 10).await.status, 401);
    let bill = log_in().await;
    assert_eq!(server.history(&bill, room, 100, 10).await.status, 403);
    let mut member_tab = server.tab(&bill).await;
    assert!(!member_tab.state.rooms.contains_key(&room));
    // Departments need the agent role.
    let reply = server
        .call(
            &desk.admin,
            "admin/agent_departments",
            &[("user", &agent), ("departments", &desk.billing.to_string())],
        )
        .await;
    assert_eq!(reply.status, 422);

    // An admin is staff everywhere, until demoted.
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &agent), ("role", "admin")],
        )
        .await);
    assert_eq!(member_tab.closed_with().await, Some(close::REVOKED));
    let bill = log_in().await;
    let admin_tab = server.tab(&bill).await;
    assert!(admin_tab.state.rooms.contains_key(&room));
    assert!(ok(server.call(&bill, "admin/users", &[]).await)
        .body
        .contains("mia@example.com"));
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &agent), ("role", "member")],
        )
        .await);
    assert_eq!(server.call(&bill, "admin/users", &[]).await.status, 401);
    let bill = log_in().await;
    assert_eq!(server.call(&bill, "admin/users", &[]).await.status, 403);

    // The last admin cannot step down.
    let root = server.me(&desk.admin).await["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let reply = server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &root), ("role", "member")],
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
}
both_backends!(role_and_department_changes_reach_open_sockets);
