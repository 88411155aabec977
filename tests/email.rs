//! Email against a real SMTP server (aiosmtpd, started by the test): the
//! password reset flow and its refusals, the answer that is the same for
//! an unknown address, the command-line link without SMTP, and the
//! missed-message digest (its timing, what it lists and leaves out, the
//! one-click unsubscribe). The real binary, both databases.

mod common;

use common::smtp::SmtpServer;
use common::{ack, Backend, TestDb, TestServer};
use glasschat::realtime::protocol::{close, ClientFrame};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "purple elephants dance quietly";

async fn with_smtp(backend: Backend, smtp: &SmtpServer, more: &[(&str, &str)]) -> TestServer {
    let mut all = smtp.env();
    all.extend_from_slice(more);
    TestServer::start_on(TestDb::new(backend).await, &all).await
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("token").to_string()
}

async fn reset(server: &TestServer, token: &str, password: &str) -> common::Reply {
    server
        .post_form(
            "/api/password/reset",
            &[("token", token), ("password", password)],
            None,
        )
        .await
}

async fn forgot(server: &TestServer, email: &str) -> common::Reply {
    server
        .post_form("/api/password/forgot", &[("email", email)], None)
        .await
}

async fn password_reset_by_email(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let server = with_smtp(backend, &smtp, &[("GLASSCHAT_RESET_RATE", "3/3600")]).await;
    let options = server.post_form("/api/login/options", &[], None).await;
    assert_eq!(options.body, r#"{"email":true,"sso":null,"password":true}"#);
    let first = server.user("ada@example.com").await;
    let second = server.log_in("ada@example.com", PASSWORD).await.session();
    let mut open_tab = server.tab(&second).await;

    // The same answer for an account and for nobody; mail only for the account.
    let known = forgot(&server, "Ada@Example.com").await;
    let unknown = forgot(&server, "nobody@example.com").await;
    assert_eq!((known.status, unknown.status), (200, 200), "{}", known.body);
    assert_eq!(known.body, unknown.body);
    let mail = smtp.wait_for("ada@example.com", 1, 10).await;
    assert_eq!(mail.subject, "Reset your Glasschat password");
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "a reset is no mailing"
    );
    let link = mail.link("/reset?token=");
    assert!(link.starts_with(&server.base), "{link}");
    let token = token_of(&link);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(smtp.mails_to("nobody@example.com").is_empty());
    // Only the token's hash is stored.
    let stored = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM password_resets WHERE CAST(token_hash AS TEXT) = '{token}'"
        ))
        .await;
    assert_eq!(stored, 0);
    for (file, bytes) in server.db.sqlite_dumps() {
        let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(!found, "the token is readable in {file}");
    }

    // Refusals: a wrong token, a malformed one, a weak password (the token
    // still works afterwards).
    let wrong = reset(&server, &"A".repeat(43), NEW_PASSWORD).await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(wrong.body.contains("ResetLinkInvalid"), "{}", wrong.body);
    assert_eq!(reset(&server, "short", NEW_PASSWORD).await.status, 403);
    let weak = reset(&server, &token, "password").await;
    assert_eq!(weak.status, 422, "{}", weak.body);

    // The reset: signed in here, every other session ended, sockets closed.
    let done = reset(&server, &token, NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let fresh = done.session();
    assert_eq!(server.me(&fresh).await["email"], "ada@example.com");
    assert!(server.me(&first).await.is_null());
    assert!(server.me(&second).await.is_null());
    assert_eq!(open_tab.closed_with().await, Some(close::REVOKED));
    assert_eq!(server.log_in("ada@example.com", PASSWORD).await.status, 401);
    assert_eq!(
        server.log_in("ada@example.com", NEW_PASSWORD).await.status,
        200
    );

    // Used once only.
    assert_eq!(
        reset(&server, &token, "another fine password 9")
            .await
            .status,
        403
    );

    // An expired link is refused.
    assert_eq!(forgot(&server, "ada@example.com").await.status, 200);
    let later = smtp.wait_for("ada@example.com", 2, 10).await;
    let old_token = token_of(&later.link("/reset?token="));
    server
        .db
        .execute("UPDATE password_resets SET expires_at = 1 WHERE used_at IS NULL")
        .await;
    assert_eq!(
        reset(&server, &old_token, "another fine password 9")
            .await
            .status,
        403
    );

    // The budget per email: 3 an hour here (the same for unknown addresses).
    assert_eq!(forgot(&server, "ada@example.com").await.status, 200);
    let over = forgot(&server, "ada@example.com").await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.headers.contains_key("retry-after"));
    assert_eq!(forgot(&server, "someone@example.com").await.status, 200);
    assert_eq!(forgot(&server, "not an email").await.status, 422);
}
both_backends!(password_reset_by_email);

async fn without_smtp_the_admin_prints_a_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.user("root@example.com").await;
    server.user("bea@example.com").await;
    let options = server.post_form("/api/login/options", &[], None).await;
    assert_eq!(
        options.body,
        r#"{"email":false,"sso":null,"password":true}"#
    );
    let refused = forgot(&server, "bea@example.com").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("EmailOff"), "{}", refused.body);

    let (ok, out, err) = common::run_glasschat(
        &server.db,
        &["admin", "reset-password", "bea@example.com"],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.contains("/reset?token="))
        .unwrap_or_else(|| panic!("no link in {out:?}"));
    let done = reset(&server, &token_of(link), NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let (ok, _, err) = common::run_glasschat(
        &server.db,
        &["admin", "reset-password", "who@example.com"],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("no account"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
both_backends!(without_smtp_the_admin_prints_a_link);

/// Moves every waiting outbox row an hour and a minute into the past (the
/// test's clock), so the digest pass finds them due.
async fn an_hour_passes(server: &TestServer) {
    server
        .db
        .execute("UPDATE notifications_due SET created_at = created_at - 3660000")
        .await;
}

async fn missed_messages_arrive_as_one_digest(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let server = with_smtp(backend, &smtp, &[]).await;
    server.user("root@example.com").await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let ada_id = server.me(&ada).await["id"].as_i64().expect("id");
    let direct = {
        let reply = server
            .call(&bob, "rooms/direct", &[("email", "ada@example.com")])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let outcome: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        outcome["Room"].as_i64().expect("a room")
    };
    let group = server.group(&bob, "design", &["ada@example.com"]).await;
    let mut tab = server.tab(&bob).await;
    tab.say(direct, "d1", "hello ada, lunch?").await;
    ack(&mut tab).await;
    tab.say(group, "g1", "a line for everyone").await;
    ack(&mut tab).await;
    tab.mention(group, "g2", "@ada please review", &[ada_id])
        .await;
    ack(&mut tab).await;
    // The outbox holds the direct message and the mention, not the plain
    // group line, and nothing for the sender.
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM notifications_due")
            .await,
        2
    );

    // Not yet due: nothing is sent.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(smtp.mails_to("ada@example.com").is_empty());

    an_hour_passes(&server).await;
    let mail = smtp.wait_for("ada@example.com", 1, 15).await;
    assert_eq!(mail.subject, "2 unread messages in 2 conversations");
    assert!(
        mail.text.contains("bob: hello ada, lunch?"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("bob: @ada please review"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("a line for everyone"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("{}/c/{direct}/1", server.base)),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("#design"), "{}", mail.text);
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM notifications_due")
            .await,
        0
    );
    assert!(smtp.mails_to("bob@example.com").is_empty());

    // Read before it is due: no mail.
    tab.say(direct, "d2", "never mind").await;
    let seq = ack(&mut tab).await.seq;
    let mut reader = server.tab(&ada).await;
    reader
        .send_frame(&ClientFrame::Read { room: direct, seq })
        .await;
    for _ in 0..50 {
        let read = server
            .db
            .scalar(&format!(
                "SELECT last_read_seq FROM room_members WHERE room_id = {direct} AND user_id = {ada_id}"
            ))
            .await;
        if read == seq {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    an_hour_passes(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(smtp.mails_to("ada@example.com").len(), 1);
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM notifications_due")
            .await,
        0
    );

    // One click on the mail's List-Unsubscribe (RFC 8058), no session.
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let one_click = mail
        .header("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim_matches(['<', '>'])
        .to_string();
    let prefix = format!("{}/api/email/unsubscribe?token=", server.base);
    assert!(one_click.starts_with(&prefix), "{one_click}");
    let token = &one_click[prefix.len()..];
    // The mail's text links to the page with the same token; a GET of the
    // header's address only leads there.
    assert!(
        mail.text
            .contains(&format!("{}/unsubscribe?token={token}", server.base)),
        "{}",
        mail.text
    );
    let post = &one_click[server.base.len()..];
    let opened = server.get(post, None).await;
    assert_eq!(opened.status, 303);
    assert_eq!(
        opened.headers["location"].to_str().unwrap(),
        format!("/unsubscribe?token={token}")
    );
    let forged = format!("{}x", &post[..post.len() - 1]);
    let refused = server
        .post_form(&forged, &[("List-Unsubscribe", "One-Click")], None)
        .await;
    assert_eq!(refused.status, 303);
    assert_eq!(refused.headers["location"], "/unsubscribe?error=bad_link");
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT email_delay_mins FROM users WHERE id = {ada_id}"
            ))
            .await,
        60
    );
    let done = server
        .post_form(post, &[("List-Unsubscribe", "One-Click")], None)
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.headers["location"], "/unsubscribe?done=1");
    let settings = server.call(&ada, "email/settings", &[]).await;
    assert_eq!(settings.body, r#"{"available":true,"delay_minutes":0}"#);

    // Off: a new direct message is never mailed.
    tab.say(direct, "d3", "are you there?").await;
    ack(&mut tab).await;
    an_hour_passes(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(smtp.mails_to("ada@example.com").len(), 1);

    // Back on at 15 minutes; only 0, 15 and 60 are choices.
    assert_eq!(
        server
            .call(&ada, "email/delay", &[("minutes", "7")])
            .await
            .status,
        400
    );
    assert_eq!(
        server
            .call(&ada, "email/delay", &[("minutes", "15")])
            .await
            .status,
        200
    );
    tab.say(direct, "d4", "ping").await;
    ack(&mut tab).await;
    server
        .db
        .execute("UPDATE notifications_due SET created_at = created_at - 960000")
        .await;
    let second = smtp.wait_for("ada@example.com", 2, 15).await;
    assert_eq!(second.subject, "1 unread message from bob");
    assert!(
        second.text.contains("waits unread for 15 minutes"),
        "{}",
        second.text
    );
}
both_backends!(missed_messages_arrive_as_one_digest);

/// Two nodes on one Postgres both run the digest pass every second: each
/// person still gets one digest per batch of missed messages, never two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_send_each_digest_once() {
    let smtp = SmtpServer::start().await;
    let first = with_smtp(Backend::Postgres, &smtp, &[]).await;
    let second = first.another_node(&smtp.env()).await;
    first.user("root@example.com").await;
    let mut people = Vec::new();
    for n in 0..20 {
        let email = format!("p{n}@example.com");
        first.user(&email).await;
        people.push(email);
    }
    let cy = second.user("cy@example.com").await;
    let mut tab = second.tab(&cy).await;
    for (n, email) in people.iter().enumerate() {
        let reply = second.call(&cy, "rooms/direct", &[("email", email)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let outcome: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        let room = outcome["Room"].as_i64().expect("a room");
        tab.say(room, &format!("m{n}"), "are you free at four?")
            .await;
        ack(&mut tab).await;
    }
    an_hour_passes(&first).await;
    for email in &people {
        smtp.wait_for(email, 1, 15).await;
    }
    // Both nodes have had several passes since.
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    for email in &people {
        assert_eq!(smtp.mails_to(email).len(), 1, "{email}");
    }
    assert_eq!(
        first
            .db
            .scalar("SELECT COUNT(*) FROM notifications_due")
            .await,
        0
    );
}

/// Who a support conversation's messages call (the outbox rows written
/// with them): the member's first words call the department's staff, once
/// it is claimed only the assignee; staff's answers call the member.
async fn support_calls_the_right_people(backend: Backend) {
    let desk = common::desk::Desk::open(backend).await;
    let server = &desk.server;
    let room = desk.contact(&desk.owner, desk.billing).await;
    let called = |seq: i64| {
        format!("SELECT COUNT(*) FROM notifications_due WHERE room_id = {room} AND seq = {seq}")
    };
    let calls = |seq: i64, who: i64| {
        format!(
            "SELECT COUNT(*) FROM notifications_due WHERE room_id = {room} AND seq = {seq} AND user_id = {who}"
        )
    };
    let staff = server
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM room_members WHERE room_id = {room} AND user_id <> {}",
            desk.owner_id
        ))
        .await;
    assert!(staff >= 2, "the agent and the admin are its staff");
    let mut member = server.tab(&desk.owner).await;
    member.say(room, "s1", "my order is late").await;
    let first = ack(&mut member).await.seq;
    assert_eq!(server.db.scalar(&called(first)).await, staff);
    assert_eq!(server.db.scalar(&calls(first, desk.owner_id)).await, 0);

    let claimed = server
        .call(&desk.agent, "support/claim", &[("room", &room.to_string())])
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    member.say(room, "s2", "any news?").await;
    let second = ack(&mut member).await.seq;
    assert_eq!(server.db.scalar(&called(second)).await, 1);
    assert_eq!(server.db.scalar(&calls(second, desk.agent_id)).await, 1);

    let mut agent = server.tab(&desk.agent).await;
    agent.say(room, "a1", "It ships today.").await;
    let answer = ack(&mut agent).await.seq;
    assert_eq!(server.db.scalar(&called(answer)).await, 1);
    assert_eq!(server.db.scalar(&calls(answer, desk.owner_id)).await, 1);
}
both_backends!(support_calls_the_right_people);
