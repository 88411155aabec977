//! Canned replies (the real binary, both databases): a department's staff
//! write and read them, nobody else; the list follows the conversation's
//! department.

mod common;

use common::Backend;
use glasschat::model::CannedReply;

use common::desk::*;

async fn canned(desk: &Desk, who: &str, room: i64) -> common::Reply {
    desk.server
        .call(who, "canned", &[("room", &room.to_string())])
        .await
}

async fn create(desk: &Desk, who: &str, department: i64, title: &str, body: &str) -> common::Reply {
    desk.server
        .call(
            who,
            "canned/create",
            &[
                ("department", &department.to_string()),
                ("title", title),
                ("body", body),
            ],
        )
        .await
}

async fn a_departments_staff_keep_its_canned_replies(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    // The Billing agent and an admin write Billing's replies.
    let refund: i64 = ok(create(
        &desk,
        &desk.agent,
        desk.billing,
        "Refund",
        "Hi {name}, your refund is on its way. {agent}",
    )
    .await)
    .json_as();
    ok(create(
        &desk,
        &desk.admin,
        desk.billing,
        "Invoice",
        "Your invoice is attached.",
    )
    .await);
    // Nobody else: another department's agent, a member, the customer.
    for who in [&desk.stranger, &desk.other, &desk.owner] {
        let reply = create(&desk, who, desk.billing, "Mine", "x").await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    // A title is one per department; bad input is one clear answer.
    assert_eq!(
        create(&desk, &desk.agent, desk.billing, "Refund", "again")
            .await
            .status,
        409
    );
    for (title, body) in [
        ("", "text"),
        ("Title", ""),
        ("Title", "bell\u{7}"),
        (&"x".repeat(61) as &str, "text"),
    ] {
        let reply = create(&desk, &desk.agent, desk.billing, title, body).await;
        assert_eq!(reply.status, 422, "{title:?} {body:?}: {}", reply.body);
    }
    // The conversation's staff read them, by title; nobody else does.
    let list: Vec<CannedReply> = ok(canned(&desk, &desk.agent, room).await).json_as();
    let titles: Vec<&str> = list.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Invoice", "Refund"]);
    assert_eq!(
        list[1].fill("Mia", "Bill"),
        "Hi Mia, your refund is on its way. Bill"
    );
    ok(canned(&desk, &desk.admin, room).await);
    for who in [&desk.stranger, &desk.other, &desk.owner] {
        let reply = canned(&desk, who, room).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert!(!reply.body.contains("refund"));
    }
    // Another department's staff cannot change or delete them.
    let id = refund.to_string();
    for (endpoint, form) in [
        (
            "canned/update",
            vec![("id", id.as_str()), ("title", "Mine"), ("body", "x")],
        ),
        ("canned/delete", vec![("id", id.as_str())]),
    ] {
        let reply = server.call(&desk.stranger, endpoint, &form).await;
        assert_eq!(reply.status, 403, "{endpoint}: {}", reply.body);
    }
    ok(server
        .call(
            &desk.agent,
            "canned/update",
            &[
                ("id", &id),
                ("title", "Refund sent"),
                ("body", "Done, {name}."),
            ],
        )
        .await);
    let list: Vec<CannedReply> = ok(canned(&desk, &desk.agent, room).await).json_as();
    assert!(list
        .iter()
        .any(|r| r.title == "Refund sent" && r.body == "Done, {name}."));
    ok(server
        .call(&desk.agent, "canned/delete", &[("id", &id)])
        .await);
    assert_eq!(
        server
            .call(&desk.agent, "canned/delete", &[("id", &id)])
            .await
            .status,
        404
    );
    // Transferred to Technical Support: its staff get its replies.
    ok(create(
        &desk,
        &desk.stranger,
        desk.technical,
        "Restart",
        "Please restart the app.",
    )
    .await);
    ok(desk.transfer(&desk.agent, room, desk.technical).await);
    let list: Vec<CannedReply> = ok(canned(&desk, &desk.stranger, room).await).json_as();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].title, "Restart");
    assert_eq!(canned(&desk, &desk.agent, room).await.status, 403);
}
both_backends!(a_departments_staff_keep_its_canned_replies);
