//! Satisfaction (the real binary, both databases): a resolved support
//! conversation's member rates that resolution once, 1 to 5 with an
//! optional comment; staff see the rating as the conversation's line, live;
//! every other caller and every bad value is refused and stores nothing.

mod common;

use common::desk::*;
use common::{ack, Backend, Reply, Tab};
use glasschat::realtime::protocol::{ServerFrame, SystemEvent};

async fn rate(
    desk: &Desk,
    who: &str,
    room: i64,
    resolution: i64,
    score: &str,
    comment: &str,
) -> Reply {
    desk.server
        .call(
            who,
            "support/rate",
            &[
                ("room", &room.to_string()),
                ("resolution", &resolution.to_string()),
                ("score", score),
                ("comment", comment),
            ],
        )
        .await
}

/// Staff resolve `room`; returns the seq of its `resolved` line.
async fn resolve(desk: &Desk, tab: &mut Tab, room: i64) -> i64 {
    ok(desk
        .server
        .call(
            &desk.agent,
            "support/resolve",
            &[("room", &room.to_string())],
        )
        .await);
    tab.until(|f| match f {
        ServerFrame::Message(m)
            if m.room == room && matches!(m.event, Some(SystemEvent::Resolved { .. })) =>
        {
            Some(m.seq)
        }
        _ => None,
    })
    .await
}

async fn rated(tab: &mut Tab, room: i64) -> (i64, SystemEvent) {
    tab.until(|f| match f {
        ServerFrame::Message(m)
            if m.room == room && matches!(m.event, Some(SystemEvent::Rated { .. })) =>
        {
            m.event.clone().map(|e| (m.seq, e))
        }
        _ => None,
    })
    .await
}

async fn one_rating_per_resolution_from_its_member_only(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let db = &server.db;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let mut member = server.tab(&desk.owner).await;
    member.say(room, "m1", "my order is late").await;
    let asked = ack(&mut member).await.seq;
    ok(server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await);
    let mut agent = server.tab(&desk.agent).await;
    agent.say(room, "a1", "It ships today.").await;
    ack(&mut agent).await;
    let first = resolve(&desk, &mut member, room).await;

    // Nobody but the member; no score out of 1..5, no bad comment, no seq
    // that is not a resolution: refused, nothing stored.
    let before = (
        db.scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
            .await,
        db.scalar("SELECT COUNT(*) FROM ratings").await,
    );
    for who in [&desk.agent, &desk.admin, &desk.other, &desk.stranger] {
        assert_eq!(rate(&desk, who, room, first, "5", "").await.status, 403);
    }
    for (score, comment, status) in [
        ("0", "", 422),
        ("6", "", 422),
        ("-1", "", 422),
        ("4", "bell\u{7}", 422),
        ("4", &"x".repeat(1001) as &str, 422),
    ] {
        let reply = rate(&desk, &desk.owner, room, first, score, comment).await;
        assert_eq!(reply.status, status, "{score} {comment:?}: {}", reply.body);
    }
    for seq in [asked, 0, -5, i64::MAX, first + 100] {
        assert_eq!(
            rate(&desk, &desk.owner, room, seq, "4", "").await.status,
            404,
            "{seq}"
        );
    }
    let after = (
        db.scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
            .await,
        db.scalar("SELECT COUNT(*) FROM ratings").await,
    );
    assert_eq!(before, after);

    // The member rates: the line reaches both sides, the score is kept.
    ok(rate(&desk, &desk.owner, room, first, "4", "  quick and kind  ").await);
    let (seq, event) = rated(&mut agent, room).await;
    assert_eq!(
        event,
        SystemEvent::Rated {
            by: "mia".into(),
            score: 4,
            comment: Some("quick and kind".into()),
            resolution: first,
        }
    );
    assert_eq!(rated(&mut member, room).await.0, seq);
    assert_eq!(
        db.scalar(&format!(
            "SELECT score * 1000000 + agent_id * 1000 + department_id FROM ratings WHERE room_id = {room}"
        ))
        .await,
        4_000_000 + desk.agent_id * 1000 + desk.billing
    );
    // Once per resolution.
    assert_eq!(
        rate(&desk, &desk.owner, room, first, "1", "").await.status,
        409
    );

    // The member writes again (it reopens), staff resolve again: that
    // resolution is rated on its own.
    member.say(room, "m2", "one more thing").await;
    ack(&mut member).await;
    let second = resolve(&desk, &mut member, room).await;
    assert!(second > seq);
    ok(rate(&desk, &desk.owner, room, second, "2", "").await);
    let (_, event) = rated(&mut agent, room).await;
    assert!(
        matches!(event, SystemEvent::Rated { score: 2, comment: None, resolution, .. } if resolution == second)
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM ratings").await, 2);
    // The record holds both, in history as on the socket.
    let history = server.all_messages(&desk.agent, room).await;
    let ratings = history
        .iter()
        .filter(|m| matches!(m.event, Some(SystemEvent::Rated { .. })))
        .count();
    assert_eq!(ratings, 2);
}
both_backends!(one_rating_per_resolution_from_its_member_only);
