//! The support desk every support and authorization test starts from: an
//! admin, a member with a conversation, another member, an agent of
//! Billing and an agent of Technical Support, all signed in.

use super::{Backend, Reply, Tab, TestServer};
use glasschat::model::DepartmentView;
use glasschat::realtime::protocol::{ServerFrame, SystemEvent};

// ------------------------------------------------------------------ setup

/// The six kinds of caller the matrix checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
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

pub const EVERYONE: [Who; 6] = [
    Who::Owner,
    Who::Other,
    Who::Stranger,
    Who::SignedOut,
    Who::Agent,
    Who::Admin,
];

pub struct Desk {
    pub server: TestServer,
    pub admin: String,
    pub owner: String,
    pub other: String,
    pub agent: String,
    pub stranger: String,
    pub billing: i64,
    pub technical: i64,
    pub owner_id: i64,
    pub agent_id: i64,
}

impl Desk {
    pub async fn open(backend: Backend) -> Desk {
        Desk::open_with(backend, &[]).await
    }

    /// The same, with the server started with `env` besides.
    pub async fn open_with(backend: Backend, env: &[(&str, &str)]) -> Desk {
        let server = TestServer::start_on(super::TestDb::new(backend).await, env).await;
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

    pub async fn log_in(&self, email: &str) -> String {
        ok(self.server.log_in(email, "correct horse battery").await).session()
    }

    pub async fn make_agent(&self, user: i64, departments: &[i64]) {
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

    /// `who` moves support conversation `room` to `department`.
    pub async fn transfer(&self, who: &str, room: i64, department: i64) -> Reply {
        self.server
            .call(
                who,
                "support/transfer",
                &[
                    ("room", &room.to_string()),
                    ("department", &department.to_string()),
                ],
            )
            .await
    }

    pub fn cookie(&self, who: Who) -> Option<&str> {
        match who {
            Who::Owner => Some(&self.owner),
            Who::Other => Some(&self.other),
            Who::Agent => Some(&self.agent),
            Who::Stranger => Some(&self.stranger),
            Who::Admin => Some(&self.admin),
            Who::SignedOut => None,
        }
    }

    pub async fn contact(&self, cookie: &str, department: i64) -> i64 {
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
    pub async fn fingerprint(&self, room: i64) -> Vec<i64> {
        let db = &self.server.db;
        let mut out = Vec::new();
        for sql in [
            format!("SELECT last_seq FROM rooms WHERE id = {room}"),
            format!("SELECT COUNT(*) FROM messages WHERE room_id = {room}"),
            format!("SELECT COUNT(*) FROM messages WHERE room_id = {room} AND (edited_at IS NOT NULL OR deleted_at IS NOT NULL)"),
            format!("SELECT COUNT(*) FROM message_changes WHERE room_id = {room}"),
            format!("SELECT COUNT(*) FROM reactions WHERE room_id = {room}"),
            format!("SELECT COUNT(*) FROM room_members WHERE room_id = {room}"),
            format!("SELECT CAST(COALESCE(SUM(last_read_seq), 0) AS BIGINT) FROM room_members WHERE room_id = {room}"),
            format!("SELECT CAST(COALESCE(SUM(COALESCE(hidden_through_seq + 1, 0) * 4 + CASE WHEN muted THEN 2 ELSE 0 END), 0) AS BIGINT) FROM room_members WHERE room_id = {room}"),
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

pub trait JsonAs {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T;
}

impl JsonAs for Reply {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).expect("json answer")
    }
}

pub fn ok(reply: Reply) -> Reply {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

pub async fn room_added(tab: &mut Tab, room: i64) {
    tab.until(|f| match f {
        ServerFrame::RoomAdded(s) if s.room == room => Some(()),
        _ => None,
    })
    .await
}

pub async fn room_removed(tab: &mut Tab, room: i64) {
    tab.until(|f| match f {
        ServerFrame::RoomRemoved { room: r } if *r == room => Some(()),
        _ => None,
    })
    .await
}

pub async fn event(tab: &mut Tab, room: i64) -> SystemEvent {
    tab.until(|f| match f {
        ServerFrame::Message(m) if m.room == room => m.event.clone(),
        _ => None,
    })
    .await
}
