//! Support reports (the real binary, both databases) against a scripted
//! history whose answers are worked out by hand: a conversation that spans
//! midnight and is reopened, one transferred to another department, one
//! nobody answered. The history is played through the real server (its
//! status events are recorded as it runs); then, since the server's clock
//! cannot be wound, each row's time is set to the script's by SQL.

mod common;

use common::desk::*;
use common::{ack, Backend, Reply, Tab};
use glasschat::report::{parse_date, Report, DAY_MS};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

async fn report(desk: &Desk, who: &str, department: i64, agent: i64) -> Reply {
    ask(desk, who, "2026-11-10", "2026-11-11", 0, department, agent).await
}

async fn ask(
    desk: &Desk,
    who: &str,
    from: &str,
    to: &str,
    offset: i64,
    department: i64,
    agent: i64,
) -> Reply {
    desk.server
        .call(
            who,
            "reports",
            &[
                ("from", from),
                ("to", to),
                ("offset", &offset.to_string()),
                ("department", &department.to_string()),
                ("agent", &agent.to_string()),
            ],
        )
        .await
}

async fn call(desk: &Desk, who: &str, endpoint: &str, room: i64) {
    ok(desk
        .server
        .call(who, endpoint, &[("room", &room.to_string())])
        .await);
}

async fn say(tab: &mut Tab, room: i64, id: &str) {
    tab.say(room, id, id).await;
    ack(tab).await;
}

/// Sets the times of room `room`'s rows (messages, status events, its
/// rating) to `times`, one per seq from 0 (the conversation's creation).
async fn set_times(desk: &Desk, room: i64, times: &[i64]) {
    let db = &desk.server.db;
    let last_seq = db
        .scalar(&format!("SELECT last_seq FROM rooms WHERE id = {room}"))
        .await;
    assert_eq!(
        last_seq as usize + 1,
        times.len(),
        "one time per seq of {room}"
    );
    for (seq, at) in times.iter().enumerate() {
        db.execute(&format!(
            "UPDATE messages SET created_at = {at} WHERE room_id = {room} AND seq = {seq}"
        ))
        .await;
        db.execute(&format!(
            "UPDATE support_events SET at = {at} WHERE room_id = {room} AND seq = {seq}"
        ))
        .await;
        db.execute(&format!(
            "UPDATE ratings SET created_at = {at} WHERE room_id = {room} AND resolved_seq + 1 = {seq}"
        ))
        .await;
    }
    let (first, newest) = (times[0], times[times.len() - 1]);
    db.execute(&format!(
        "UPDATE rooms SET created_at = {first}, last_activity = {newest} WHERE id = {room}"
    ))
    .await;
}

async fn a_scripted_history_gives_the_numbers_worked_out_by_hand(backend: Backend) {
    let desk = Desk::open(backend).await;
    let server = &desk.server;
    let cara = server.user("cara@example.com").await;
    let stranger_id = server.me(&desk.stranger).await["id"].as_i64().unwrap();
    let mut owner = server.tab(&desk.owner).await;
    let mut other = server.tab(&desk.other).await;
    let mut agent = server.tab(&desk.agent).await;
    let mut stranger = server.tab(&desk.stranger).await;
    let mut cara_tab = server.tab(&cara).await;

    // A: asked just before midnight, answered after it, resolved, reopened
    // by the customer, answered and resolved again, then rated 4.
    let a = desk.contact(&desk.owner, desk.billing).await;
    say(&mut owner, a, "a1").await;
    call(&desk, &desk.agent, "support/claim", a).await;
    say(&mut agent, a, "a2").await;
    call(&desk, &desk.agent, "support/resolve", a).await;
    say(&mut owner, a, "a3").await;
    say(&mut agent, a, "a4").await;
    call(&desk, &desk.agent, "support/resolve", a).await;
    ok(server
        .call(
            &desk.owner,
            "support/rate",
            &[
                ("room", &a.to_string()),
                ("resolution", "8"),
                ("score", "4"),
                ("comment", ""),
            ],
        )
        .await);
    // B: moved to Technical, whose agent answers; still open.
    let b = desk.contact(&desk.other, desk.billing).await;
    say(&mut other, b, "b1").await;
    ok(desk.transfer(&desk.agent, b, desk.technical).await);
    call(&desk, &desk.stranger, "support/claim", b).await;
    say(&mut stranger, b, "b2").await;
    // C: nobody answers.
    let c = desk.contact(&cara, desk.billing).await;
    say(&mut cara_tab, c, "c1").await;

    let day = parse_date("2026-11-10").unwrap() * DAY_MS;
    let next = day + DAY_MS;
    set_times(
        &desk,
        a,
        &[
            day + 23 * HOUR + 40 * MIN, // created
            day + 23 * HOUR + 50 * MIN, // a1
            day + 23 * HOUR + 55 * MIN, // claimed
            next + 20 * MIN,            // a2: 30 min after a1
            next + HOUR,                // resolved: 70 min after a1
            next + 10 * HOUR,           // a3 (reopens)
            next + 10 * HOUR,           // reopened
            next + 10 * HOUR + 5 * MIN, // a4: 5 min
            next + 11 * HOUR,           // resolved: 60 min after a3
            next + 12 * HOUR,           // rated
        ],
    )
    .await;
    set_times(
        &desk,
        b,
        &[
            day + 9 * HOUR,
            day + 9 * HOUR,            // b1
            day + 9 * HOUR + 10 * MIN, // transferred
            day + 9 * HOUR + 20 * MIN, // claimed by Technical
            day + 9 * HOUR + 40 * MIN, // b2: 40 min
        ],
    )
    .await;
    set_times(&desk, c, &[next + 8 * HOUR, next + 8 * HOUR]).await;

    // Everyone, by an admin.
    let all: Report = ok(report(&desk, &desk.admin, 0, 0).await).json_as();
    assert_eq!(all.days.len(), 2);
    let (d0, d1, total) = (&all.days[0].figures, &all.days[1].figures, &all.total);
    assert_eq!(all.days[0].date, "2026-11-10");
    assert_eq!((d0.started, d0.first_responses), (2, 2));
    assert_eq!(d0.first_response_median_ms, Some(35 * MIN));
    assert_eq!(d0.first_response_p90_ms, Some(40 * MIN));
    assert_eq!((d0.resolved, d0.open_at_end, d0.ratings), (0, 2, 0));
    assert_eq!((d1.started, d1.first_responses), (1, 1));
    assert_eq!(d1.first_response_median_ms, Some(5 * MIN));
    assert_eq!(d1.resolved, 2);
    assert_eq!(d1.resolution_median_ms, Some(65 * MIN));
    assert_eq!(d1.resolution_p90_ms, Some(70 * MIN));
    assert_eq!(d1.open_at_end, 2);
    assert_eq!((d1.ratings, d1.rating_average), (1, Some(4.0)));
    assert_eq!(
        (total.started, total.first_responses, total.resolved),
        (3, 3, 2)
    );
    assert_eq!(total.first_response_median_ms, Some(30 * MIN));
    assert_eq!(total.first_response_p90_ms, Some(40 * MIN));
    assert_eq!(total.open_at_end, 2);
    // The CSV says the same.
    let csv = all.csv();
    assert!(
        csv.contains("\n2026-11-10,2,2,2100,2400,0,,,2,0,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\ntotal,3,3,1800,2400,2,3900,4200,2,1,4.00\n"),
        "{csv}"
    );

    // Billing: B counts as started there, but was answered in Technical.
    let billing: Report = ok(report(&desk, &desk.admin, desk.billing, 0).await).json_as();
    let (d0, d1) = (&billing.days[0].figures, &billing.days[1].figures);
    assert_eq!((d0.started, d0.first_responses, d0.open_at_end), (2, 1, 1));
    assert_eq!(
        (d1.started, d1.resolved, d1.open_at_end, d1.ratings),
        (1, 2, 1, 1)
    );
    let technical: Report = ok(report(&desk, &desk.admin, desk.technical, 0).await).json_as();
    let (d0, d1) = (&technical.days[0].figures, &technical.days[1].figures);
    assert_eq!((d0.started, d0.first_responses, d0.open_at_end), (0, 1, 1));
    assert_eq!(d0.first_response_median_ms, Some(40 * MIN));
    assert_eq!(d1.open_at_end, 1);

    // Billing's agent sees Billing, and themselves: A answered first by
    // them, both of A's waits, both of its resolutions, its rating.
    let own: Report = ok(report(&desk, &desk.agent, 0, 0).await).json_as();
    assert_eq!(own.total, billing.total);
    assert_eq!(own.departments.len(), 1);
    assert_eq!(own.agents.len(), 1);
    let mine: Report = ok(report(&desk, &desk.agent, 0, desk.agent_id).await).json_as();
    let (d0, d1) = (&mine.days[0].figures, &mine.days[1].figures);
    assert_eq!(
        (d0.started, d0.first_responses, d1.first_responses),
        (1, 1, 1)
    );
    assert_eq!((d1.resolved, d1.open_at_end, d1.ratings), (2, 0, 1));

    // Nobody else, and nothing outside one's own.
    for (who, department, agent) in [
        (&desk.owner, 0, 0),
        (&desk.other, desk.billing, 0),
        (&desk.agent, desk.technical, 0),
        (&desk.agent, 0, stranger_id),
        (&desk.stranger, desk.billing, 0),
    ] {
        let reply = report(&desk, who, department, agent).await;
        assert_eq!(reply.status, 403, "{department} {agent}: {}", reply.body);
    }
    let signed_out = server.call_as(None, "reports", &[]).await;
    assert!(
        matches!(signed_out.status, 401 | 400),
        "{}",
        signed_out.body
    );
    // A range of real dates, at most a year, and a real offset.
    for (from, to, offset) in [
        ("2026-11-11", "2026-11-10", 0),
        ("2025-01-01", "2026-11-10", 0),
        ("2026-02-30", "2026-03-01", 0),
        ("yesterday", "2026-11-10", 0),
        ("2026-11-10", "2026-11-11", 5000),
    ] {
        let reply = ask(&desk, &desk.admin, from, to, offset, 0, 0).await;
        assert_eq!(reply.status, 422, "{from} {to} {offset}: {}", reply.body);
    }
    // In a zone an hour east of UTC, A starts after midnight, on the 11th.
    let east: Report =
        ok(ask(&desk, &desk.admin, "2026-11-10", "2026-11-11", 60, 0, 0).await).json_as();
    let (d0, d1) = (&east.days[0].figures, &east.days[1].figures);
    assert_eq!((d0.started, d0.first_responses, d0.open_at_end), (1, 1, 1));
    assert_eq!((d1.started, d1.first_responses), (2, 2));
}
both_backends!(a_scripted_history_gives_the_numbers_worked_out_by_hand);
