//! Departments, agents and support conversations. A support room's members
//! are its member plus the department's staff: its agents and every admin.
//! `sync_support_staff` makes the membership rows match that rule; the
//! support service calls it after anything that changes who is staff.

use super::rooms::insert_member;
use super::{on_pool, Store, StoreError};
use crate::model::{AdminUserView, DepartmentView, Role, StaffView};

/// Staff of the department of room `r` (an SQL condition on `u` and `r`).
const IS_STAFF: &str = "(u.deactivated_at IS NULL AND (u.role = 'admin' OR (u.role = 'agent' AND EXISTS (
        SELECT 1 FROM agent_departments a WHERE a.user_id = u.id AND a.department_id = r.department_id))))";

/// Staff leave the notes room of support room $1 when they are no longer
/// members of the conversation (its staff are its members but the member).
const NOTES_STAFF_REMOVED: &str = "DELETE FROM room_members
    WHERE room_id = (SELECT n.id FROM rooms n WHERE n.notes_of = $1)
      AND user_id NOT IN (SELECT m.user_id FROM room_members m JOIN rooms r ON r.id = m.room_id
                          WHERE m.room_id = $1 AND m.user_id <> r.support_user_id)
    RETURNING user_id";
/// ...and join it when they are; like the conversation itself, a resolved
/// one's notes start read.
const NOTES_STAFF_ADDED: &str =
    "INSERT INTO room_members (room_id, user_id, role, last_read_seq, joined_at)
    SELECT n.id, m.user_id, 'member',
           CASE WHEN r.support_status = 'resolved' THEN n.last_seq ELSE 0 END, $2
    FROM rooms n JOIN rooms r ON r.id = n.notes_of JOIN room_members m ON m.room_id = r.id
    WHERE n.notes_of = $1 AND m.user_id <> r.support_user_id
    ON CONFLICT (room_id, user_id) DO NOTHING
    RETURNING user_id";

/// What `sync_support_staff` changed in one room.
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
    /// The assignee was among the removed: the room is unassigned now.
    pub unassigned: bool,
    /// The conversation's notes room, when it has one, and who joined and
    /// left it with the conversation's staff.
    pub notes: Option<NotesChange>,
}

#[derive(Debug, Clone, Default)]
pub struct NotesChange {
    pub room: i64,
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
}

/// Where a support conversation stands, for the service's checks.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupportRow {
    pub id: i64,
    pub support_user_id: i64,
    pub department_id: i64,
    pub department: String,
    pub support_status: String,
    pub assignee_id: Option<i64>,
}

impl SupportRow {
    pub fn resolved(&self) -> bool {
        self.support_status == "resolved"
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DepartmentRow {
    id: i64,
    name: String,
    archived: bool,
}

impl From<DepartmentRow> for DepartmentView {
    fn from(row: DepartmentRow) -> DepartmentView {
        DepartmentView {
            id: row.id,
            name: row.name,
            archived: row.archived,
        }
    }
}

/// (id, name, role) rows as staff.
fn staff_views(rows: Vec<(i64, String, String)>) -> Vec<StaffView> {
    rows.into_iter()
        .map(|(user_id, display_name, role)| StaffView {
            user_id,
            display_name,
            role: Role::parse(&role).unwrap_or(Role::Member),
        })
        .collect()
}

impl Store {
    /// Departments by name; archived ones only when asked for.
    pub async fn departments(
        &self,
        with_archived: bool,
    ) -> Result<Vec<DepartmentView>, StoreError> {
        let rows: Vec<DepartmentRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, name, archived FROM departments WHERE $1 OR NOT archived ORDER BY name, id",
            )
            .bind(with_archived)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn department(&self, id: i64) -> Result<Option<DepartmentView>, StoreError> {
        let row: Option<DepartmentRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, name, archived FROM departments WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(Into::into))
    }

    /// A taken name is reported as a unique violation.
    pub async fn create_department(&self, name: &str, now: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("INSERT INTO departments (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Renames and/or archives; false when there is no such department.
    pub async fn update_department(
        &self,
        id: i64,
        name: &str,
        archived: bool,
    ) -> Result<bool, StoreError> {
        let changed = on_pool!(self.db(), pool => {
            sqlx::query("UPDATE departments SET name = $2, archived = $3 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(archived)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// The member's conversation with a department: found or created in one
    /// upsert on the unique (member, department) index, so two quick clicks
    /// or two tabs still give one. Returns the room and whether the member
    /// was not in it before (a new conversation).
    pub async fn support_room(
        &self,
        user_id: i64,
        department_id: i64,
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let room: i64 = sqlx::query_scalar(
                "INSERT INTO rooms (kind, support_user_id, department_id, support_status, created_by, created_at, last_activity)
                 VALUES ('support', $1, $2, 'open', $1, $3, $3)
                 ON CONFLICT (support_user_id, department_id) WHERE kind = 'support'
                 DO UPDATE SET support_user_id = excluded.support_user_id
                 RETURNING id",
            )
            .bind(user_id)
            .bind(department_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let joined = insert_member!(tx, room, user_id, "owner", now);
            if joined {
                // The member is never taken out of their own conversation:
                // joining it is making it. Reports start here.
                sqlx::query(
                    "INSERT INTO support_events (room_id, seq, kind, at, department_id)
                     VALUES ($1, 0, 'created', $2, $3) ON CONFLICT (room_id, seq) DO NOTHING",
                )
                .bind(room)
                .bind(now)
                .bind(department_id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(super::rooms::SHOW_ROOM)
                .bind(room)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            (room, joined)
        }))
    }

    pub async fn support_of(&self, room: i64) -> Result<Option<SupportRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.id, r.support_user_id, r.department_id, d.name AS department,
                        r.support_status, r.assignee_id
                 FROM rooms r JOIN departments d ON d.id = r.department_id
                 WHERE r.id = $1 AND r.kind = 'support'",
            )
            .bind(room)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Whether `user_id` is staff of `department_id` (one of its agents, or an admin).
    pub async fn is_staff(&self, user_id: i64, department_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT u.id FROM users u WHERE u.id = $1 AND (u.role = 'admin' OR (u.role = 'agent' AND EXISTS (
                    SELECT 1 FROM agent_departments a WHERE a.user_id = u.id AND a.department_id = $2)))",
            )
            .bind(user_id)
            .bind(department_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Who may take a department's conversations: its agents, then admins.
    pub async fn staff_of(&self, department_id: i64) -> Result<Vec<StaffView>, StoreError> {
        let rows: Vec<(i64, String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.id, u.display_name, u.role FROM users u
                 WHERE u.deactivated_at IS NULL AND (u.role = 'admin' OR (u.role = 'agent' AND EXISTS (
                    SELECT 1 FROM agent_departments a WHERE a.user_id = u.id AND a.department_id = $1)))
                 ORDER BY u.role DESC, u.display_name, u.id",
            )
            .bind(department_id)
            .fetch_all(pool)
            .await?
        });
        Ok(staff_views(rows))
    }

    /// Every agent and admin, by name (who a report may be narrowed to).
    pub async fn all_staff(&self) -> Result<Vec<StaffView>, StoreError> {
        let rows: Vec<(i64, String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, shown_name, role FROM users WHERE role <> 'member' ORDER BY display_name, id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(staff_views(rows))
    }

    /// Sets who handles the conversation and its status (and, for a
    /// transfer, its department). A transfer onto a department the member
    /// already talks to is a unique violation: nothing changes.
    pub async fn set_support_state(
        &self,
        room: i64,
        department_id: i64,
        status: &str,
        assignee_id: Option<i64>,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE rooms SET department_id = $2, support_status = $3, assignee_id = $4
                 WHERE id = $1 AND kind = 'support'",
            )
            .bind(room)
            .bind(department_id)
            .bind(status)
            .bind(assignee_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether the member already has a conversation with `department_id`.
    pub async fn support_room_exists(
        &self,
        user_id: i64,
        department_id: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT id FROM rooms WHERE kind = 'support' AND support_user_id = $1 AND department_id = $2",
            )
            .bind(user_id)
            .bind(department_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Makes the room's staff rows match its department's staff, in one
    /// transaction, and says what changed. Staff who
    /// join a resolved conversation start with it read; an assignee who is
    /// no longer staff leaves it unassigned, back in the department's queue.
    pub async fn sync_support_staff(&self, room: i64, now: i64) -> Result<StaffChange, StoreError> {
        let removed_sql = format!(
            "DELETE FROM room_members WHERE room_id = $1 AND user_id NOT IN (
                SELECT COALESCE(r.support_user_id, 0) FROM rooms r WHERE r.id = $1
                UNION SELECT u.id FROM rooms r JOIN users u ON {IS_STAFF} WHERE r.id = $1)
             RETURNING user_id"
        );
        let added_sql = format!(
            "INSERT INTO room_members (room_id, user_id, role, last_read_seq, joined_at)
             SELECT r.id, u.id, 'member',
                    CASE WHEN r.support_status = 'resolved' THEN r.last_seq ELSE 0 END, $2
             FROM rooms r JOIN users u ON {IS_STAFF}
             WHERE r.id = $1 AND r.kind = 'support' AND u.id <> r.support_user_id
             ON CONFLICT (room_id, user_id) DO NOTHING
             RETURNING user_id"
        );
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let removed: Vec<i64> = sqlx::query_scalar(&removed_sql)
                .bind(room)
                .fetch_all(&mut *tx)
                .await?;
            let added: Vec<i64> = sqlx::query_scalar(&added_sql)
                .bind(room)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            // Most conversations have no notes: one look-up, then nothing.
            let notes_room: Option<i64> = sqlx::query_scalar("SELECT id FROM rooms WHERE notes_of = $1")
                .bind(room)
                .fetch_optional(&mut *tx)
                .await?;
            let mut notes = None;
            if let Some(notes_room) = notes_room {
                let removed: Vec<i64> = sqlx::query_scalar(NOTES_STAFF_REMOVED)
                    .bind(room)
                    .fetch_all(&mut *tx)
                    .await?;
                let added: Vec<i64> = sqlx::query_scalar(NOTES_STAFF_ADDED)
                    .bind(room)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                notes = Some(NotesChange { room: notes_room, added, removed });
            }
            let mut unassigned = false;
            if !removed.is_empty() {
                unassigned = sqlx::query(
                    "UPDATE rooms SET assignee_id = NULL WHERE id = $1 AND assignee_id IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = $1 AND m.user_id = rooms.assignee_id)",
                )
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
            }
            tx.commit().await?;
            StaffChange { added, removed, unassigned, notes }
        }))
    }

    /// The notes room of support conversation `room`: found or created in
    /// one upsert on its unique `notes_of`, with the conversation's staff
    /// as its members, in one transaction. Returns it and who joined it.
    pub async fn notes_room(&self, room: i64, now: i64) -> Result<(i64, Vec<i64>), StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let notes: i64 = sqlx::query_scalar(
                "INSERT INTO rooms (kind, notes_of, created_at, last_activity) VALUES ('notes', $1, $2, $2)
                 ON CONFLICT (notes_of) WHERE notes_of IS NOT NULL
                 DO UPDATE SET notes_of = excluded.notes_of
                 RETURNING id",
            )
            .bind(room)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let added: Vec<i64> = sqlx::query_scalar(NOTES_STAFF_ADDED)
                .bind(room)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            (notes, added)
        }))
    }

    /// The notes room of support conversation `room`, if it has one.
    pub async fn notes_of(&self, room: i64) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT id FROM rooms WHERE notes_of = $1")
                .bind(room)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Support rooms of these departments (`None`: of every department).
    pub async fn support_rooms(&self, departments: Option<&[i64]>) -> Result<Vec<i64>, StoreError> {
        let sql = match departments {
            None => "SELECT id FROM rooms WHERE kind = 'support' ORDER BY id".to_string(),
            Some([]) => return Ok(Vec::new()),
            // Integers only, so listing them in the SQL is safe.
            Some(ids) => format!(
                "SELECT id FROM rooms WHERE kind = 'support' AND department_id IN ({}) ORDER BY id",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
        };
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(&sql).fetch_all(pool).await?
        }))
    }

    /// Every account with its role and (for agents) departments, for the admin page.
    pub async fn users_for_admin(&self) -> Result<Vec<AdminUserView>, StoreError> {
        let users: Vec<(i64, String, String, String, bool)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, email, display_name, role, deactivated_at IS NOT NULL FROM users WHERE site_id IS NULL ORDER BY display_name, id")
                .fetch_all(pool)
                .await?
        });
        let links: Vec<(i64, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT user_id, department_id FROM agent_departments ORDER BY department_id")
                .fetch_all(pool)
                .await?
        });
        Ok(users
            .into_iter()
            .map(
                |(id, email, display_name, role, deactivated)| AdminUserView {
                    id,
                    email,
                    display_name,
                    role: Role::parse(&role).unwrap_or(Role::Member),
                    deactivated,
                    departments: links
                        .iter()
                        .filter(|(user, _)| *user == id)
                        .map(|(_, d)| *d)
                        .collect(),
                },
            )
            .collect())
    }

    pub async fn departments_of(&self, user_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT department_id FROM agent_departments WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Sets a role. Anyone who stops being an agent loses their departments
    /// in the same transaction. Refused (false) when it would leave no admin.
    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE users SET role = $2 WHERE id = $1
                   AND ($2 = 'admin' OR EXISTS (SELECT 1 FROM users o
                                         WHERE o.role = 'admin' AND o.id <> $1 AND o.deactivated_at IS NULL))",
            )
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if changed && role != Role::Agent {
                sqlx::query("DELETE FROM agent_departments WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            changed
        }))
    }

    /// Replaces an agent's departments.
    pub async fn set_agent_departments(
        &self,
        user_id: i64,
        departments: &[i64],
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM agent_departments WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for department in departments {
                sqlx::query(
                    "INSERT INTO agent_departments (user_id, department_id) VALUES ($1, $2)
                     ON CONFLICT (user_id, department_id) DO NOTHING",
                )
                .bind(user_id)
                .bind(*department)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
