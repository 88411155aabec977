//! The support desk end to end (the real binary, real sockets, both
//! databases): who may do what to a support conversation, one
//! conversation per member and department, transfer, resolve, reopen, and
//! role changes with their effect on open sockets.

mod common;

use common::{ack, assert_matches_fresh, error, Backend};
use glasschat::model::{DepartmentView, MemberView, Role, StaffView};
use glasschat::realtime::protocol::{ErrorCode, ServerFrame, SupportStatus, SystemEvent};

use common::desk::*;

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
    ok(desk.transfer(&desk.agent, room, desk.technical).await);
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

    // A demotion ends the access at once, not the session: the open tab
    // loses the conversation and hears its new role; the cookie still
    // works for what remains.
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &agent), ("role", "member")],
        )
        .await);
    room_removed(&mut agent_tab, room).await;
    assert_eq!(agent_tab.role_changed().await, Role::Member);
    assert!(!agent_tab.state.rooms.contains_key(&room));
    assert_eq!(server.history(&desk.agent, room, 100, 10).await.status, 403);
    assert_eq!(server.me(&desk.agent).await["role"], "member");
    let mut member_tab = agent_tab;
    // Departments need the agent role.
    let reply = server
        .call(
            &desk.admin,
            "admin/agent_departments",
            &[("user", &agent), ("departments", &desk.billing.to_string())],
        )
        .await;
    assert_eq!(reply.status, 422);

    // An admin is staff everywhere, until demoted; a promotion shows live
    // in the open tab, no new login.
    ok(server
        .call(
            &desk.admin,
            "admin/role",
            &[("user", &agent), ("role", "admin")],
        )
        .await);
    room_added(&mut member_tab, room).await;
    assert_eq!(member_tab.role_changed().await, Role::Admin);
    let bill = desk.agent.clone();
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
    room_removed(&mut member_tab, room).await;
    assert_eq!(member_tab.role_changed().await, Role::Member);
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
