//! Account lifecycle and the audit log end to end (the real binary, real
//! sockets, both databases): an admin deactivates and reactivates people
//! on the admin page's server functions, and the operator does it with
//! `glasschat admin` on the live database.

mod common;

use common::desk::*;
use common::{ack, run_glasschat, Backend, Reply, TestServer};
use glasschat::model::{AdminUserView, AuditEntryView, MemberView};
use glasschat::realtime::protocol::close;

async fn id_of(server: &TestServer, cookie: &str) -> i64 {
    server.me(cookie).await["id"].as_i64().expect("an id")
}

async fn set_active(server: &TestServer, admin: &str, user: i64, active: bool) -> Reply {
    server
        .call(
            admin,
            "admin/active",
            &[("user", &user.to_string()), ("active", &active.to_string())],
        )
        .await
}

async fn audit(server: &TestServer, admin: &str) -> Vec<AuditEntryView> {
    ok(server.call(admin, "admin/audit", &[]).await).json_as()
}

async fn users(server: &TestServer, admin: &str) -> Vec<AdminUserView> {
    ok(server.call(admin, "admin/users", &[]).await).json_as()
}

async fn members(server: &TestServer, cookie: &str, room: i64) -> Vec<MemberView> {
    ok(server
        .call(cookie, "rooms/members", &[("room", &room.to_string())])
        .await)
    .json_as()
}

async fn deactivation_ends_access_and_keeps_the_history(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let olaf = id_of(server, &desk.other).await;

    // Olaf owns a group with Mia and has a direct chat with her; he writes
    // in both, with a tab open.
    let group = server
        .group(&desk.other, "Plans", &["mia@example.com"])
        .await;
    let chat = server.direct_chat(&desk.other, "mia@example.com").await;
    let mut olaf_tab = server.tab(&desk.other).await;
    olaf_tab.say(group, "g1", "the plan").await;
    ack(&mut olaf_tab).await;
    olaf_tab.say(chat, "d1", "hello Mia").await;
    ack(&mut olaf_tab).await;
    let second_session = desk.log_in("olaf@example.com").await;

    ok(set_active(server, &desk.admin, olaf, false).await);

    // Every socket and session of his ends at once, and he cannot sign in.
    assert_eq!(olaf_tab.closed_with().await, Some(close::REVOKED));
    for cookie in [&desk.other, &second_session] {
        let reply = server
            .call(cookie, "rooms/members", &[("room", &group.to_string())])
            .await;
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    let refused = server
        .log_in("olaf@example.com", "correct horse battery")
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("AccountDeactivated"),
        "{}",
        refused.body
    );
    // A wrong password is just wrong: nothing tells a stranger the state.
    let wrong = server
        .log_in("olaf@example.com", "not his password at all")
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);

    // His messages stay, under his name marked; the group has an owner.
    let history = server.all_messages(&desk.owner, group).await;
    let his = history.iter().find(|m| m.body == "the plan").expect("kept");
    assert_eq!(his.sender_name, "olaf (deactivated)");
    let listed = members(server, &desk.owner, group).await;
    let mia = listed
        .iter()
        .find(|m| m.user_id == desk.owner_id)
        .expect("mia");
    assert!(
        mia.owner,
        "the longest-standing active member owns the group"
    );
    let olaf_row = listed
        .iter()
        .find(|m| m.user_id == olaf)
        .expect("olaf stays");
    assert_eq!(olaf_row.display_name, "olaf (deactivated)");
    let mut mia_tab = server.tab(&desk.owner).await;
    assert_eq!(mia_tab.summary(chat).name, "olaf (deactivated)");
    assert!(mia_tab.summary(group).owner);

    // Nothing calls him any more: no email or push is due for him.
    mia_tab.say(chat, "m1", "are you there?").await;
    ack(&mut mia_tab).await;
    let due = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM notifications_due WHERE user_id = {olaf}"
        ))
        .await;
    assert_eq!(due, 0);

    // The admin page says so; the audit log says who did it, from where.
    let row = users(server, &desk.admin).await;
    assert!(row.iter().any(|u| u.id == olaf && u.deactivated));
    let log = audit(server, &desk.admin).await;
    let entry = &log[0];
    assert_eq!(entry.action, "user.deactivated");
    assert_eq!(entry.target, "olaf@example.com");
    assert_eq!(entry.actor, "root@example.com");
    assert_eq!(entry.address.as_deref(), Some("127.0.0.1"));
    assert!(entry.detail.contains("2 sessions"), "{}", entry.detail);

    // Doing it again changes and records nothing.
    ok(set_active(server, &desk.admin, olaf, false).await);
    assert_eq!(audit(server, &desk.admin).await.len(), log.len());

    // Nobody deactivates themselves; only admins deactivate.
    let admin_id = id_of(server, &desk.admin).await;
    let own = set_active(server, &desk.admin, admin_id, false).await;
    assert_eq!(own.status, 422, "{}", own.body);
    assert!(own.body.contains("DeactivateSelf"), "{}", own.body);
    let agent = set_active(server, &desk.agent, desk.owner_id, false).await;
    assert_eq!(agent.status, 403, "{}", agent.body);
    assert!(users(server, &desk.admin)
        .await
        .iter()
        .any(|u| u.id == desk.owner_id && !u.deactivated));

    // Reactivated: he signs in with his password, his name is plain again.
    ok(set_active(server, &desk.admin, olaf, true).await);
    let back = desk.log_in("olaf@example.com").await;
    assert_eq!(id_of(server, &back).await, olaf);
    let history = server.all_messages(&desk.owner, group).await;
    assert!(history
        .iter()
        .any(|m| m.body == "the plan" && m.sender_name == "olaf"));
    assert_eq!(
        audit(server, &desk.admin).await[0].action,
        "user.reactivated"
    );
}
both_backends!(deactivation_ends_access_and_keeps_the_history);

async fn a_deactivated_agents_conversations_stay_with_the_team(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    ok(server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await);
    let mut admin_tab = server.tab(&desk.admin).await;
    assert_eq!(
        admin_tab
            .summary(room)
            .support
            .expect("support")
            .assignee_id,
        Some(desk.agent_id)
    );

    ok(set_active(server, &desk.admin, desk.agent_id, false).await);

    // Back in the queue, live, for the staff left; the agent is no longer
    // staff of it and cannot be picked. The conversation and its member stay.
    admin_tab.settle().await;
    let info = admin_tab.summary(room).support.expect("support");
    assert_eq!(info.assignee_id, None);
    let listed = members(server, &desk.admin, room).await;
    assert!(
        listed.iter().all(|m| m.user_id != desk.agent_id),
        "{listed:?}"
    );
    assert!(listed.iter().any(|m| m.user_id == desk.owner_id));
    let staff: Vec<glasschat::model::StaffView> = ok(server
        .call(&desk.admin, "support/staff", &[("room", &room.to_string())])
        .await)
    .json_as();
    assert!(
        staff.iter().all(|s| s.user_id != desk.agent_id),
        "{staff:?}"
    );

    // Reactivated, the agent is staff of Billing's conversations again.
    ok(set_active(server, &desk.admin, desk.agent_id, true).await);
    let agent = desk.log_in("bill@example.com").await;
    let tab = server.tab(&agent).await;
    assert!(tab.state.rooms.contains_key(&room));
}
both_backends!(a_deactivated_agents_conversations_stay_with_the_team);

async fn the_command_line_works_on_a_live_database(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let admin =
        |args: Vec<&'static str>| async move { run_glasschat(&server.db, &args, &[]).await };

    let (done, out, err) = admin(vec!["admin", "list-users"]).await;
    assert!(done, "{err}");
    for email in ["root@example.com", "mia@example.com", "bill@example.com"] {
        assert!(out.contains(email), "{out}");
    }
    assert!(out.contains("5 accounts"), "{out}");

    // Deactivated from the command line: the running server closes the
    // open tab within a second or two, and the sign-in is refused.
    let mut tab = server.tab(&desk.owner).await;
    let started = std::time::Instant::now();
    let (done, out, err) = admin(vec!["admin", "deactivate", "mia@example.com"]).await;
    assert!(done, "{err}");
    assert!(out.contains("deactivated mia@example.com"), "{out}");
    assert_eq!(tab.closed_with().await, Some(close::REVOKED));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let refused = server
        .log_in("mia@example.com", "correct horse battery")
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let (_, out, _) = admin(vec!["admin", "list-users"]).await;
    assert!(
        out.lines()
            .any(|l| l.contains("mia@example.com") && l.contains("deactivated")),
        "{out}"
    );
    let (done, out, _) = admin(vec!["admin", "deactivate", "mia@example.com"]).await;
    assert!(done && out.contains("already"), "{out}");

    // The last active admin stays.
    let (done, _, err) = admin(vec!["admin", "deactivate", "root@example.com"]).await;
    assert!(!done);
    assert!(err.contains("at least one admin must remain"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (done, out, err) = admin(vec!["admin", "reactivate", "mia@example.com"]).await;
    assert!(done, "{err}");
    assert!(out.contains("reactivated"), "{out}");
    ok(server
        .log_in("mia@example.com", "correct horse battery")
        .await);

    // A new admin: the account is made, and its link sets a password.
    let (done, out, err) = admin(vec!["admin", "create-admin", "ops@example.com"]).await;
    assert!(done, "{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.contains("/reset?token="))
        .unwrap_or_else(|| panic!("no link in {out:?}"));
    let token = link.split("token=").nth(1).expect("token");
    let set = server
        .post_form(
            "/api/password/reset",
            &[
                ("token", token),
                ("password", "a brand new long passphrase 42"),
            ],
            None,
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let ops = ok(server
        .log_in("ops@example.com", "a brand new long passphrase 42")
        .await)
    .session();
    assert_eq!(server.me(&ops).await["role"], "admin");
    // An existing member is promoted; an admin already is one.
    let (done, out, _) = admin(vec!["admin", "create-admin", "mia@example.com"]).await;
    assert!(done && out.contains("now an admin"), "{out}");
    let (done, out, _) = admin(vec!["admin", "create-admin", "mia@example.com"]).await;
    assert!(done && out.contains("already"), "{out}");

    // Everything the command line did is in the audit log, under its name.
    let log = audit(server, &ops).await;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "user.deactivated",
        "user.reactivated",
        "user.created",
        "user.role",
        "user.reset_link",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    let by_hand = log
        .iter()
        .filter(|e| e.target == "mia@example.com" || e.target == "ops@example.com");
    for entry in by_hand {
        assert!(entry.actor.starts_with("command line ("), "{entry:?}");
        assert_eq!(entry.address, None);
    }

    // Bad input: one clear line each.
    for (args, says) in [
        (vec!["admin"], "usage"),
        (vec!["admin", "frobnicate"], "usage"),
        (
            vec!["admin", "deactivate", "not-an-email"],
            "not an email address",
        ),
        (
            vec!["admin", "deactivate", "nobody@example.com"],
            "no such user",
        ),
    ] {
        let (done, _, err) = admin(args).await;
        assert!(!done);
        assert!(err.contains(says), "{err}");
    }
}
both_backends!(the_command_line_works_on_a_live_database);

async fn admin_changes_are_audited(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    // The desk made two agents and gave each a department.
    let log = audit(server, &desk.admin).await;
    let roles: Vec<&AuditEntryView> = log.iter().filter(|e| e.action == "user.role").collect();
    assert_eq!(roles.len(), 2, "{log:?}");
    assert!(roles
        .iter()
        .any(|e| e.target == "bill@example.com" && e.detail == "member → agent"));
    assert!(log.iter().any(|e| e.action == "user.departments"
        && e.target == "bill@example.com"
        && e.detail == "Billing"));
    ok(server
        .call(&desk.admin, "admin/department/create", &[("name", "Sales")])
        .await);
    ok(server
        .call(
            &desk.admin,
            "admin/registration/set",
            &[("mode", "invite"), ("domains", "")],
        )
        .await);
    let log = audit(server, &desk.admin).await;
    assert_eq!(log[0].action, "signup.policy");
    assert_eq!(log[0].detail, "invite");
    assert_eq!(log[1].action, "department.created");
    assert_eq!(log[1].target, "Sales");
    assert!(log.iter().all(|e| e.actor == "root@example.com"));

    // Only admins read it; pages go back by id.
    for who in [&desk.owner, &desk.agent] {
        let reply = server.call(who, "admin/audit", &[]).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    let older: Vec<AuditEntryView> = ok(server
        .call(
            &desk.admin,
            "admin/audit",
            &[("before", &log[1].id.to_string())],
        )
        .await)
    .json_as();
    assert_eq!(older.len(), log.len() - 2);
    assert!(older.iter().all(|e| e.id < log[1].id));
}
both_backends!(admin_changes_are_audited);

/// Two nodes on one Postgres: a deactivation on one closes the person's
/// sockets on the other, and the other refuses the session too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_reaches_every_node() {
    let desk = Desk::open(Backend::Postgres).await;
    let other_node = desk.server.another_node(&[]).await;
    let olaf = id_of(&desk.server, &desk.other).await;
    let mut far_tab = other_node.tab(&desk.other).await;
    let mut near_tab = desk.server.tab(&desk.other).await;
    ok(set_active(&desk.server, &desk.admin, olaf, false).await);
    assert_eq!(near_tab.closed_with().await, Some(close::REVOKED));
    assert_eq!(far_tab.closed_with().await, Some(close::REVOKED));
    let reply = other_node.call(&desk.other, "admin/users", &[]).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}
