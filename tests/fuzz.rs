//! Fuzzing the real server's inputs with proptest: every server function's
//! form body (the right field names with hostile values, unknown fields,
//! raw bytes) and every kind of socket frame, from a signed-out caller, a
//! member and an admin, on SQLite and Postgres. The server must answer each
//! with a clear 4xx or 200 (never a 5xx, a dropped connection or a crash)
//! and still work afterwards. `FUZZ_CASES` sets the inputs per target (a
//! few hundred in `make test`; `make fuzz` runs many more). A failure is
//! shrunk and its seed kept in `tests/fuzz.proptest-regressions`, replayed first on
//! every later run; a fixed defect also gets its literal input below.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use common::{ack, Backend, Tab, TestServer};
use glasschat::realtime::protocol::{ClientFrame, ErrorCode, ServerFrame};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz.proptest-regressions",
        ))),
        ..Config::default()
    })
}

/// Every server function and its field names (`logout` is left out: it
/// would end the fuzzing caller's own session, and takes no input).
/// Endpoints whose fields may all be left out (an empty form is a call).
const EVERY_FIELD_OPTIONAL: &[&str] = &["admin/audit"];

const ENDPOINTS: &[(&str, &[&str])] = &[
    ("signup", &["email", "display_name", "password"]),
    ("login", &["email", "password"]),
    ("password", &["current", "new"]),
    ("me", &[]),
    ("history", &["room", "before_seq", "limit"]),
    ("rooms/create", &["name", "members"]),
    ("rooms/direct", &["email"]),
    ("rooms/invitations", &[]),
    ("rooms/members", &["room"]),
    ("rooms/rename", &["room", "name"]),
    ("rooms/add", &["room", "members"]),
    ("rooms/remove", &["room", "user_id"]),
    ("rooms/leave", &["room"]),
    ("rooms/hide", &["room", "hidden"]),
    ("rooms/mute", &["room", "muted"]),
    ("rooms/clear", &["room"]),
    ("support/departments", &[]),
    ("support/contact", &["department"]),
    ("support/staff", &["room"]),
    ("support/claim", &["room"]),
    ("support/assign", &["room", "agent"]),
    ("support/transfer", &["room", "department"]),
    ("support/resolve", &["room"]),
    ("support/reopen", &["room"]),
    ("admin/users", &[]),
    ("admin/departments", &[]),
    ("admin/role", &["user", "role"]),
    ("admin/agent_departments", &["user", "departments"]),
    ("admin/department/create", &["name"]),
    ("admin/department/update", &["id", "name", "archived"]),
    ("admin/registration", &[]),
    ("admin/registration/set", &["mode", "domains"]),
    ("admin/invite_links", &[]),
    ("admin/invite_links/create", &["days"]),
    ("admin/invite_links/revoke", &["id"]),
    ("admin/active", &["user", "active"]),
    ("admin/audit", &["before"]),
    ("admin/retention", &[]),
    ("admin/retention/set", &["scope", "id", "days"]),
    ("admin/sso", &[]),
    ("admin/node", &[]),
    ("admin/sso/set", &["link_by_email", "password_login"]),
    ("signup/policy", &[]),
    ("emoji", &[]),
    ("mentions", &["room", "typed"]),
    ("search", &["query", "before"]),
    ("start_upload", &["upload_id", "room", "name", "size"]),
    ("privacy", &[]),
    ("privacy/set", &["invisible", "receipts"]),
    ("receipts", &["room"]),
    ("canned", &["room"]),
    ("canned/create", &["department", "title", "body"]),
    ("canned/update", &["id", "title", "body"]),
    ("canned/delete", &["id"]),
    ("sites", &[]),
    (
        "sites/create",
        &["name", "origins", "departments", "anonymous"],
    ),
    (
        "sites/update",
        &["id", "name", "origins", "departments", "anonymous"],
    ),
    ("sites/rotate", &["id"]),
    ("support/visitor", &["room"]),
    ("support/notes", &["room"]),
    ("support/rate", &["room", "resolution", "score", "comment"]),
    ("reports", &["from", "to", "offset", "department", "agent"]),
    ("widget/site", &["site", "host"]),
    ("widget/me", &["site", "host"]),
    (
        "widget/identify",
        &["site", "host", "token", "page", "time_zone"],
    ),
    (
        "widget/start",
        &["site", "host", "name", "email", "page", "time_zone"],
    ),
    (
        "widget/open",
        &["site", "host", "department", "page", "time_zone"],
    ),
    ("widget/leave", &[]),
    ("login/options", &[]),
    ("password/forgot", &["email"]),
    ("password/reset", &["token", "password"]),
    ("email/settings", &[]),
    ("email/delay", &["minutes"]),
    ("push/settings", &[]),
    ("push/subscribe", &["endpoint", "p256dh", "auth", "label"]),
    ("push/remove", &["id"]),
    ("push/previews", &["on"]),
];

/// Values that break parsers and rules: extremes, wrong types, ids that
/// exist and ids that do not, control characters, long and huge text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", "0", "1", "2", "3", "4", "-1", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "1e9", "0x10", "NaN", "true", "false", "on", "null", "[]",
            "{}", "agent", "admin", "member", "Admin ", "1,2,3", "1,,x", "ada@example.com",
            "ADA@EXAMPLE.COM", "a@b", "@", "correct horse battery", "%", "%zz", "\u{0}",
            "\u{202e}evil", "<script>alert(1)</script>",
        ])
        .prop_map(str::to_string),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any::<String>(),
        1 => "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
        1 => (0usize..70_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Mostly a value of the field's own type, so most inputs get past
/// decoding into the rules; otherwise any value.
fn value_for(name: &str) -> BoxedStrategy<String> {
    const NUMBERS: &[&str] = &[
        "room",
        "before_seq",
        "limit",
        "user_id",
        "agent",
        "department",
        "user",
        "id",
        "size",
    ];
    const FLAGS: &[&str] = &[
        "hidden",
        "muted",
        "archived",
        "anonymous",
        "link_by_email",
        "password_login",
    ];
    if NUMBERS.contains(&name) {
        prop_oneof![
            5 => prop::sample::select(vec![0i64, 1, 2, 3, 4, 5, -1, 50, 1000, i64::MAX, i64::MIN])
                .prop_map(|n| n.to_string()),
            2 => any::<i64>().prop_map(|n| n.to_string()),
            3 => value(),
        ]
        .boxed()
    } else if FLAGS.contains(&name) {
        prop_oneof![7 => prop::bool::ANY.prop_map(|b| b.to_string()), 3 => value()].boxed()
    } else {
        value().boxed()
    }
}

/// A form: each of the endpoint's fields, now and then missing, plus now
/// and then a repeated, bracketed or unknown one.
fn form(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    let own = fields
        .iter()
        .map(|name| {
            prop::option::weighted(
                0.9,
                value_for(name).prop_map(move |v| (name.to_string(), v)),
            )
        })
        .collect::<Vec<_>>();
    let stray_name = prop_oneof![
        prop::sample::select(vec!["", "room[]", "a[b]", "user_id[0]", "é", "&", "="])
            .prop_map(str::to_string),
        prop::sample::select(if fields.is_empty() {
            vec!["x"]
        } else {
            fields.to_vec()
        })
        .prop_map(str::to_string),
        any::<String>(),
    ];
    let stray = prop::collection::vec((stray_name, value()), 0..2);
    (own, stray).prop_map(|(own, stray)| own.into_iter().flatten().chain(stray).collect())
}

#[derive(Debug, Clone)]
enum Body {
    Form(Vec<(String, String)>),
    Raw(Vec<u8>),
}

fn request() -> impl Strategy<Value = (usize, usize, Body)> {
    (0..ENDPOINTS.len(), 0..3usize).prop_flat_map(|(endpoint, caller)| {
        let body = prop_oneof![
            5 => form(ENDPOINTS[endpoint].1).prop_map(Body::Form),
            1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Raw),
        ];
        (Just(endpoint), Just(caller), body)
    })
}

/// A server with an admin, a member in a group and a support conversation,
/// and a Billing agent: ids 1 to 4 exist, so values hit real rows too.
struct Target {
    server: TestServer,
    /// None (signed out), a member, the admin.
    callers: [Option<String>; 3],
}

impl Target {
    async fn start(backend: Backend) -> Target {
        let db = common::TestDb::new(backend).await;
        let server = TestServer::start_on(db, &[("GLASSCHAT_SEND_RATE", "100000/1")]).await;
        let admin = server.user("root@example.com").await;
        let member = server.user("ada@example.com").await;
        server.user("bob@example.com").await;
        let room = server
            .call(
                &member,
                "rooms/create",
                &[("name", "Fuzz"), ("members", "bob@example.com")],
            )
            .await;
        assert_eq!(room.status, 200, "{}", room.body);
        let contact = server
            .call(&member, "support/contact", &[("department", "1")])
            .await;
        assert_eq!(contact.status, 200, "{}", contact.body);
        Target {
            server,
            callers: [None, Some(member), Some(admin)],
        }
    }

    async fn post(&self, endpoint: &str, caller: usize, body: &Body) -> Result<u16, String> {
        let bytes = match body {
            Body::Form(form) => {
                let pairs: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                common::encode_form(&pairs).into_bytes()
            }
            Body::Raw(bytes) => bytes.clone(),
        };
        let mut req = self
            .server
            .client
            .post(self.server.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(bytes);
        if let Some(cookie) = &self.callers[caller] {
            req = req.header("cookie", format!("glasschat_session={cookie}"));
        }
        let reply = req.send().await.map_err(|e| format!("no answer: {e}"))?;
        Ok(reply.status().as_u16())
    }

    /// After the storm: the server is alive and still stores and delivers.
    async fn still_works(&self) {
        let health = self.server.get("/health", None).await;
        assert_eq!(health.status, 200, "{}", health.body);
        let cookie = self.server.user("after@example.com").await;
        let room = self.server.group(&cookie, "After", &[]).await;
        let mut tab = self.server.tab(&cookie).await;
        tab.say(room, "after-fuzz", "still here").await;
        assert_eq!(ack(&mut tab).await.seq, 1);
    }
}

fn server_functions_take_any_input(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = rt.block_on(Target::start(backend));
    let counts = RefCell::new(BTreeMap::<u16, u32>::new());
    let result = runner().run(&request(), |(endpoint, caller, body)| {
        let name = ENDPOINTS[endpoint].0;
        let status = rt
            .block_on(target.post(name, caller, &body))
            .map_err(TestCaseError::fail)?;
        *counts.borrow_mut().entry(status).or_default() += 1;
        prop_assert!(
            status < 500,
            "/api/{} as caller {} answered {}",
            name,
            caller,
            status
        );
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    eprintln!(
        "server functions ({backend:?}): {} inputs, statuses {:?}",
        cases(),
        counts.borrow()
    );
    rt.block_on(target.still_works());
}

#[test]
fn server_functions_take_any_input_sqlite() {
    server_functions_take_any_input(Backend::Sqlite);
}

#[test]
fn server_functions_take_any_input_postgres() {
    server_functions_take_any_input(Backend::Postgres);
}

/// An upload's bytes: any offset, any body, to uploads that exist (the
/// member's own, a finished one, someone else's) and ones that do not.
/// Never an internal error, and the upload stays consistent.
fn upload_bytes_take_any_input(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = rt.block_on(Target::start(backend));
    let server = &target.server;
    let member = target.callers[1].clone().expect("member");
    let ids: Vec<i64> = rt.block_on(async {
        let room = server.group(&member, "Files", &[]).await;
        let mut ids = Vec::new();
        for (i, size) in [300_000usize, 5, 1].into_iter().enumerate() {
            let started = server
                .start_upload(&member, &format!("fz{i}"), room, "f.bin", size)
                .await;
            ids.push(started.json()["id"].as_i64().expect("id"));
        }
        ids.push(server.upload(&member, room, "done.bin", b"xyz").await);
        let carol = server.user("carol-fz@example.com").await;
        let carols = server.group(&carol, "Carol's", &[]).await;
        ids.push(server.upload(&carol, carols, "c.bin", b"xyz").await);
        ids.extend([0, -1, i64::MAX]);
        ids
    });
    let counts = RefCell::new(BTreeMap::<u16, u32>::new());
    let strategy = (
        prop::sample::select(ids),
        prop_oneof![
            3 => prop::sample::select(vec![0i64, 1, 65_536, 131_072, 262_144, -1, i64::MAX]),
            1 => any::<i64>()
        ],
        prop::collection::vec(any::<u8>(), 0..300_000),
    );
    let result = runner().run(&strategy, |(id, offset, bytes)| {
        let status = rt.block_on(async {
            let resp = server
                .client
                .put(server.url(&format!("/api/files/{id}?offset={offset}")))
                .header("content-type", "application/octet-stream")
                .header("cookie", format!("glasschat_session={member}"))
                .body(bytes)
                .send()
                .await
                .map_err(|e| format!("no answer: {e}"))?;
            Ok::<u16, String>(resp.status().as_u16())
        });
        let status = status.map_err(TestCaseError::fail)?;
        *counts.borrow_mut().entry(status).or_default() += 1;
        prop_assert!(
            status < 500,
            "PUT /api/files/{} at {} answered {}",
            id,
            offset,
            status
        );
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    eprintln!("upload bytes ({backend:?}): statuses {:?}", counts.borrow());
    rt.block_on(target.still_works());
}

#[test]
fn upload_bytes_take_any_input_sqlite() {
    upload_bytes_take_any_input(Backend::Sqlite);
}

#[test]
fn upload_bytes_take_any_input_postgres() {
    upload_bytes_take_any_input(Backend::Postgres);
}

/// Frames: valid shapes with hostile values, other JSON, and raw text, all
/// under the 64 KiB frame limit. Each must get an answer that is not an
/// internal error, and the socket must stay usable.
fn frame_text() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        prop::sample::select(vec![0i64, 1, 2, 3, -1, i64::MAX, i64::MIN]),
        any::<i64>()
    ];
    let text = prop_oneof![
        3 => "\\PC{0,40}",
        1 => any::<String>(),
        1 => (9_990usize..10_010).prop_map(|n| "y".repeat(n)),
        // Mentions: names after `@`, `@room`, and `@` in odd places.
        1 => "(@(room|Fuzz|[A-Za-z]{0,8})[ ,.@]?){1,6}",
    ];
    prop_oneof![
        3 => (
            id.clone(),
            text.clone(),
            text.clone(),
            prop::option::of(id.clone()),
            prop::collection::vec(id.clone(), 0..60),
            prop::collection::vec(id.clone(), 0..12),
        )
            .prop_map(|(room, client_id, body, reply_to, mentions, files)| {
                ClientFrame::Send { room, client_id, body, reply_to, mentions, files }.to_json()
            }),
        2 => (id.clone(), id.clone()).prop_map(|(room, seq)| ClientFrame::Read { room, seq }.to_json()),
        // Edits, deletes and reactions: mostly the fuzzing member's own
        // room (1) and its first messages, so they reach the writer.
        2 => (id.clone(), id.clone(), text.clone()).prop_map(|(room, seq, body)| {
            ClientFrame::Edit { room: room.rem_euclid(2), seq: seq.rem_euclid(4), body }.to_json()
        }),
        1 => (id.clone(), id.clone()).prop_map(|(room, seq)| {
            ClientFrame::Delete { room: room.rem_euclid(2), seq }.to_json()
        }),
        2 => (id.clone(), id.clone(), prop_oneof![
                prop::sample::select(vec!["👍", "🎉", "❤️", "👍🏽", "a", "", "👍👍"]).prop_map(str::to_string),
                text.clone(),
            ], any::<bool>())
            .prop_map(|(room, seq, emoji, on)| {
                ClientFrame::React { room: room.rem_euclid(2), seq: seq.rem_euclid(4), emoji, on }.to_json()
            }),
        1 => prop::collection::vec((id.clone(), id.clone()), 0..4).prop_map(|cursors| {
            ClientFrame::Hello {
                rooms: cursors
                    .into_iter()
                    .map(|(room, last_seq)| glasschat::realtime::protocol::RoomCursor { room, last_seq })
                    .collect(),
            }
            .to_json()
        }),
        // Presence, the people shown, typing: mostly the fuzzing member's
        // own room (1).
        1 => any::<bool>().prop_map(|active| ClientFrame::Presence { active }.to_json()),
        1 => prop::option::of(id.clone()).prop_map(|room| {
            ClientFrame::View { room: room.map(|r| r.rem_euclid(3)) }.to_json()
        }),
        1 => (id, any::<bool>()).prop_map(|(room, on)| {
            ClientFrame::Typing { room: room.rem_euclid(3), on }.to_json()
        }),
        1 => "\\PC{0,60}",
        1 => r#"\{"type":"(send|read|hello|ping|edit|delete|react|presence|view|typing|x)"(,"[a-z_]{1,9}":(-?[0-9]{1,20}|"[^"]{0,9}"|\[\]|null)){0,4}\}"#,
    ]
}

fn frames_take_any_input(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (server, tab) = rt.block_on(async {
        let db = common::TestDb::new(backend).await;
        let server = TestServer::start_on(
            db,
            &[
                ("GLASSCHAT_SEND_RATE", "100000/1"),
                ("GLASSCHAT_FRAME_RATE", "100000/1"),
                ("GLASSCHAT_CHANGE_RATE", "100000/1"),
            ],
        )
        .await;
        let (_, _, tab) = server.alone_in_room("Fuzz").await;
        (server, RefCell::new(tab))
    });
    let answers = RefCell::new(BTreeMap::<String, u32>::new());
    let result = runner().run(&frame_text(), |text| {
        let answer = rt.block_on(answer_to(&mut tab.borrow_mut(), &text));
        let kind = match &answer {
            Some(ServerFrame::Error(e)) => format!("{:?}", e.code),
            Some(_) => "answered".into(),
            None => "nothing".into(),
        };
        *answers.borrow_mut().entry(kind).or_default() += 1;
        if let Some(ServerFrame::Error(e)) = &answer {
            prop_assert!(e.code != ErrorCode::Internal, "{} -> {:?}", text, e);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    eprintln!(
        "frames ({backend:?}): {} inputs, answers {:?}",
        cases(),
        answers.borrow()
    );
    rt.block_on(async {
        let health = server.get("/health", None).await;
        assert_eq!(health.status, 200);
    });
}

/// Sends one text frame, then a ping; returns the first answer to the
/// frame itself (an ack, an error, a catch-up, ...) if there was one
/// before the pong. Panics (a failed case) when the socket died.
async fn answer_to(tab: &mut Tab, text: &str) -> Option<ServerFrame> {
    tab.send_text(text).await;
    tab.send_frame(&ClientFrame::Ping).await;
    let mut first = None;
    loop {
        let frame = tab.next_raw().await.expect("the socket stays open");
        match frame {
            ServerFrame::Pong => return first,
            other => {
                if first.is_none() {
                    first = Some(other);
                }
            }
        }
    }
}

#[test]
fn frames_take_any_input_sqlite() {
    frames_take_any_input(Backend::Sqlite);
}

#[test]
fn frames_take_any_input_postgres() {
    frames_take_any_input(Backend::Postgres);
}

/// Inputs the fuzzer found, kept as plain regression tests.
mod found {
    use super::*;

    /// A site key with a NUL in it was answered 500 on Postgres (which
    /// refuses NUL in text) instead of "no such site".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_site_key_that_is_no_key_is_not_found() {
        let server = TestServer::start(Backend::Postgres).await;
        let cookie = server.user("root@example.com").await;
        for endpoint in ["widget/me", "widget/site"] {
            let reply = server
                .call(&cookie, endpoint, &[("site", "\0"), ("host", "")])
                .await;
            assert_eq!(reply.status, 404, "{endpoint}: {}", reply.body);
        }
        let page = server.get("/widget/%00?host=x", None).await;
        assert_eq!(page.status, 403, "{}", page.body);
    }

    /// An admin's canned reply for a department that does not exist was
    /// answered 500 (the insert's foreign key) instead of 404.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_canned_reply_for_no_department_is_not_found() {
        let server = TestServer::start(Backend::Sqlite).await;
        let admin = server.user("root@example.com").await;
        let reply = server
            .call(
                &admin,
                "canned/create",
                &[("department", "-1"), ("title", "Hi"), ("body", "Hello")],
            )
            .await;
        assert_eq!(reply.status, 404, "{}", reply.body);
    }

    /// An empty form (missing fields) was answered 500 instead of 400.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_fields_are_a_bad_request() {
        let server = TestServer::start(Backend::Sqlite).await;
        let cookie = server.user("root@example.com").await;
        for (endpoint, fields) in ENDPOINTS {
            if fields.is_empty() || EVERY_FIELD_OPTIONAL.contains(endpoint) {
                continue;
            }
            let reply = server.call_as(Some(&cookie), endpoint, &[]).await;
            assert_eq!(reply.status, 400, "/api/{endpoint}: {}", reply.body);
            assert_eq!(reply.json(), serde_json::json!("BadRequest"));
        }
    }

    /// A body that is not UTF-8 was answered 502 ("could not reach
    /// Glasschat") instead of 400.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_is_not_text_is_a_bad_request() {
        let server = TestServer::start(Backend::Sqlite).await;
        let reply = server
            .client
            .post(server.url("/api/signup"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![0x80])
            .send()
            .await
            .expect("an answer");
        assert_eq!(reply.status().as_u16(), 400);
    }
}
