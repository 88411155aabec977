use super::messages::MessageRow;
use super::{on_pool, Store, StoreError};
use crate::model::MemberView;
use crate::realtime::protocol::{RoomKind, RoomSummary, SiteMark, SupportInfo, SupportStatus};
use crate::server::crypto::Keyring;

#[derive(Debug, Clone, sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    kind: String,
    name: String,
    last_seq: i64,
    last_message_seq: i64,
    last_read_seq: i64,
    unread: i64,
    mentions: i64,
    last_activity: i64,
    hidden: bool,
    muted: bool,
    role: String,
    peer_email: Option<String>,
    peer_id: Option<i64>,
    lm_id: Option<i64>,
    lm_sender_id: Option<i64>,
    lm_sender_name: Option<String>,
    lm_kind: Option<String>,
    lm_body: Option<Vec<u8>>,
    lm_key_id: Option<i64>,
    lm_nonce: Option<Vec<u8>>,
    lm_created_at: Option<i64>,
    lm_client_id: Option<String>,
    lm_edited_at: Option<i64>,
    lm_deleted_at: Option<i64>,
    /// The newest message's files: how many, and the first one's name.
    lm_files: i64,
    lm_file_name: Option<String>,
    support_user_id: Option<i64>,
    support_user_name: Option<String>,
    department_id: Option<i64>,
    department: Option<String>,
    support_status: Option<String>,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    waiting_since: Option<i64>,
    site_name: Option<String>,
    visitor_verified: Option<bool>,
    notes_of: Option<i64>,
    trimmed_through: i64,
}

impl SummaryRow {
    fn into_summary(self, keys: &Keyring) -> RoomSummary {
        let row = self;
        let last = match (row.lm_id, row.lm_kind, row.lm_body, row.lm_created_at) {
            (Some(id), Some(kind), Some(body), Some(created_at)) => Some(
                MessageRow {
                    id,
                    room_id: row.id,
                    seq: row.last_message_seq,
                    sender_id: row.lm_sender_id,
                    sender_name: row.lm_sender_name,
                    kind,
                    body,
                    key_id: row.lm_key_id,
                    nonce: row.lm_nonce,
                    created_at,
                    client_id: row.lm_client_id,
                    edited_at: row.lm_edited_at,
                    deleted_at: row.lm_deleted_at,
                    // The preview shows the text, not a reply's quote.
                    ..MessageRow::default()
                }
                .into_view(keys)
                .with_files_label(row.lm_files, row.lm_file_name.as_deref())
                .preview(),
            ),
            _ => None,
        };
        let support = match (row.support_user_id, row.department_id) {
            (Some(member_id), Some(department_id)) if row.kind == "support" => Some(SupportInfo {
                department_id,
                department: row.department.unwrap_or_default(),
                member_id,
                member_name: row.support_user_name.unwrap_or_default(),
                status: if row.support_status.as_deref() == Some("resolved") {
                    SupportStatus::Resolved
                } else {
                    SupportStatus::Open
                },
                assignee_id: row.assignee_id,
                assignee_name: row.assignee_name,
                waiting_since: row.waiting_since,
                site: row.site_name.map(|name| SiteMark {
                    name,
                    verified: row.visitor_verified.unwrap_or(false),
                }),
            }),
            _ => None,
        };
        RoomSummary {
            room: row.id,
            kind: RoomKind::parse(&row.kind),
            name: row.name,
            last_seq: row.last_seq,
            read_seq: row.last_read_seq,
            unread: row.unread.max(0),
            mentions: row.mentions.max(0),
            last_activity: row.last_activity,
            last,
            peer_email: row.peer_email,
            peer_id: row.peer_id,
            hidden: row.hidden,
            muted: row.muted,
            owner: row.role == "owner",
            support,
            notes_of: row.notes_of,
            trimmed_through: row.trimmed_through,
        }
    }
}

/// Hides room $1 from member $2 until its next message.
const HIDE_ROOM: &str = "UPDATE room_members
    SET hidden_through_seq = (SELECT last_seq FROM rooms WHERE id = $1)
    WHERE room_id = $1 AND user_id = $2";
/// Shows room $1 again to member $2, who had hidden it.
pub(super) const SHOW_ROOM: &str =
    "UPDATE room_members SET hidden_through_seq = NULL WHERE room_id = $1 AND user_id = $2";

/// A room as one member sees it: a direct chat is named after the other
/// person, a support conversation after its department (for the member) or
/// the member (for staff), and the newest message comes along for the
/// preview (the row at `last_message_seq`, found through the (room_id, seq)
/// unique index). A support conversation's wait starts at the member's
/// oldest message after the last staff reply. A room the member hid stays
/// hidden while no message is newer than the seq it was hidden at.
///
/// Unread: the room's text messages (`text_count`) minus those up to the
/// read mark (the `text_rank` of the last row at or below it, one index
/// step; when the rows below were cleared, the rank before the oldest row
/// left), minus the deleted ones above the mark (a partial index of
/// deletes only). A member's own messages are never above their mark (a
/// send moves it), so everything left is someone else's.
///
/// Mentions, the same way: for the member's own `mentions` rows and for
/// the room's `@room` rows, the newest `mention_rank` minus the rank at the
/// read mark (an index step each; when retention deleted the rows below,
/// the rank before the oldest row left), minus the deleted ones above the
/// mark (a partial index of deleted rows).
const SELECT_SUMMARY: &str = "SELECT r.id, r.kind,
        CASE WHEN r.kind = 'support'
             THEN (CASE WHEN m.user_id = r.support_user_id THEN d.name ELSE su.shown_name END)
             WHEN r.kind = 'notes' THEN 'Notes: ' || COALESCE(nu.shown_name, '')
             ELSE COALESCE(r.name, pu.shown_name, '') END AS name,
        r.last_seq, r.last_message_seq, m.last_read_seq, r.last_activity,
        r.text_count
          - COALESCE(
              (SELECT b.text_rank FROM messages b
                WHERE b.room_id = r.id AND b.seq <= m.last_read_seq
                ORDER BY b.seq DESC LIMIT 1),
              (SELECT f.text_rank - CASE WHEN f.kind = 'text' THEN 1 ELSE 0 END FROM messages f
                WHERE f.room_id = r.id ORDER BY f.seq LIMIT 1),
              r.text_count)
          - (SELECT COUNT(*) FROM messages x
              WHERE x.room_id = r.id AND x.deleted_at IS NOT NULL AND x.seq > m.last_read_seq)
          AS unread,
        COALESCE((SELECT a.mention_rank FROM mentions a WHERE a.room_id = r.id AND a.user_id = m.user_id
                   ORDER BY a.message_seq DESC LIMIT 1), 0)
          - COALESCE((SELECT b.mention_rank FROM mentions b WHERE b.room_id = r.id AND b.user_id = m.user_id
                     AND b.message_seq <= m.last_read_seq ORDER BY b.message_seq DESC LIMIT 1),
                     (SELECT g.mention_rank - CASE WHEN g.counts THEN 1 ELSE 0 END FROM mentions g
                       WHERE g.room_id = r.id AND g.user_id = m.user_id ORDER BY g.message_seq LIMIT 1), 0)
          + COALESCE((SELECT c.mention_rank FROM mentions c WHERE c.room_id = r.id AND c.user_id IS NULL
                     ORDER BY c.message_seq DESC LIMIT 1), 0)
          - COALESCE((SELECT e.mention_rank FROM mentions e WHERE e.room_id = r.id AND e.user_id IS NULL
                     AND e.message_seq <= m.last_read_seq ORDER BY e.message_seq DESC LIMIT 1),
                     (SELECT h.mention_rank - CASE WHEN h.counts THEN 1 ELSE 0 END FROM mentions h
                       WHERE h.room_id = r.id AND h.user_id IS NULL ORDER BY h.message_seq LIMIT 1), 0)
          - (SELECT COUNT(*) FROM mentions d
              WHERE d.room_id = r.id AND d.deleted AND d.counts AND d.message_seq > m.last_read_seq
                AND (d.user_id = m.user_id OR d.user_id IS NULL))
          AS mentions,
        (m.hidden_through_seq IS NOT NULL AND m.hidden_through_seq >= r.last_message_seq) AS hidden,
        m.muted, m.role,
        pu.email AS peer_email, pu.id AS peer_id,
        lm.id AS lm_id, lm.sender_id AS lm_sender_id, lu.shown_name AS lm_sender_name,
        lm.kind AS lm_kind, lm.body AS lm_body, lm.key_id AS lm_key_id, lm.nonce AS lm_nonce,
        lm.created_at AS lm_created_at,
        lm.client_id AS lm_client_id, lm.edited_at AS lm_edited_at, lm.deleted_at AS lm_deleted_at,
        (SELECT COUNT(*) FROM files lf WHERE lf.message_id = lm.id) AS lm_files,
        (SELECT lf.name FROM files lf WHERE lf.message_id = lm.id ORDER BY lf.position, lf.id LIMIT 1) AS lm_file_name,
        r.support_user_id, su.shown_name AS support_user_name,
        r.department_id, d.name AS department, r.support_status,
        r.assignee_id, au.shown_name AS assignee_name,
        CASE WHEN r.kind = 'support' THEN
            (SELECT MIN(w.created_at) FROM messages w
              WHERE w.room_id = r.id AND w.kind = 'text' AND w.sender_id = r.support_user_id
                AND w.seq > COALESCE((SELECT MAX(x.seq) FROM messages x
                                       WHERE x.room_id = r.id AND x.kind = 'text'
                                         AND x.sender_id <> r.support_user_id), 0))
        END AS waiting_since,
        ws.name AS site_name, (sv.external_id IS NOT NULL) AS visitor_verified, r.notes_of,
        r.trimmed_through
     FROM room_members m
     JOIN rooms r ON r.id = m.room_id
     LEFT JOIN users pu ON r.kind = 'direct'
       AND pu.id = (SELECT pm.user_id FROM room_members pm
                     WHERE pm.room_id = r.id AND pm.user_id <> m.user_id LIMIT 1)
     LEFT JOIN messages lm ON lm.room_id = r.id AND lm.seq = r.last_message_seq
     LEFT JOIN users lu ON lu.id = lm.sender_id
     LEFT JOIN users su ON su.id = r.support_user_id
     LEFT JOIN users au ON au.id = r.assignee_id
     LEFT JOIN departments d ON d.id = r.department_id
     LEFT JOIN sites ws ON ws.id = su.site_id
     LEFT JOIN visitors sv ON sv.user_id = su.id
     LEFT JOIN rooms nr ON nr.id = r.notes_of
     LEFT JOIN users nu ON nu.id = nr.support_user_id";

/// Adds `user` to `room` inside transaction `tx` unless already a member;
/// evaluates to whether a row was added. (A macro: `tx` is a different
/// type per backend inside `on_pool!`.)
macro_rules! insert_member {
    ($tx:ident, $room:expr, $user:expr, $role:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind($room)
        .bind($user)
        .bind($role)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            > 0
    };
}

pub(super) use insert_member;

#[derive(Debug, Clone, sqlx::FromRow)]
struct MemberRow {
    user_id: i64,
    display_name: String,
    email: String,
    role: String,
}

impl Store {
    /// Every room the user belongs to (hidden ones included, flagged), with
    /// its seq and the user's read mark, most recently active first.
    pub async fn rooms_of(&self, user_id: i64) -> Result<Vec<RoomSummary>, StoreError> {
        let sql = format!(
            "{SELECT_SUMMARY} WHERE m.user_id = $1 ORDER BY r.last_activity DESC, r.id DESC"
        );
        let rows: Vec<SummaryRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(user_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.into_summary(&self.keys))
            .collect())
    }

    /// The ids of the rooms the user belongs to (a socket subscribes to
    /// them before reading their summaries).
    pub async fn room_ids_of(&self, user_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT room_id FROM room_members WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The room as `user_id` sees it, or `None` when they are not a member.
    pub async fn room_of(
        &self,
        user_id: i64,
        room: i64,
    ) -> Result<Option<RoomSummary>, StoreError> {
        let sql = format!("{SELECT_SUMMARY} WHERE m.user_id = $1 AND m.room_id = $2");
        let row: Option<SummaryRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(user_id).bind(room).fetch_optional(pool).await?
        });
        Ok(row.map(|r| r.into_summary(&self.keys)))
    }

    /// Moves the read mark forward to `seq` (clamped to the room's last seq;
    /// never backwards). `None` when the user is not a member; else the
    /// summary and whether the mark moved.
    pub async fn mark_read(
        &self,
        user_id: i64,
        room: i64,
        seq: i64,
    ) -> Result<Option<(RoomSummary, bool)>, StoreError> {
        let moved = on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE room_members SET last_read_seq =
                    (SELECT CASE WHEN $3 < r.last_seq THEN $3 ELSE r.last_seq END FROM rooms r WHERE r.id = $2)
                 WHERE user_id = $1 AND room_id = $2 AND last_read_seq < $3",
            )
            .bind(user_id)
            .bind(room)
            .bind(seq)
            .execute(pool)
            .await?
            .rows_affected()
                > 0
        });
        Ok(self.room_of(user_id, room).await?.map(|s| (s, moved)))
    }

    /// Creates a group room owned by `owner` with `members` (owner included
    /// once even if listed). Returns the room id.
    pub async fn create_group(
        &self,
        owner: i64,
        name: &str,
        members: &[i64],
        now: i64,
    ) -> Result<i64, StoreError> {
        let room: i64 = on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let room: i64 = sqlx::query_scalar(
                "INSERT INTO rooms (kind, name, created_by, created_at, last_activity) VALUES ('group', $1, $2, $3, $3) RETURNING id",
            )
            .bind(name)
            .bind(owner)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let _ = insert_member!(tx, room, owner, "owner", now);
            for member in members.iter().filter(|m| **m != owner) {
                let _ = insert_member!(tx, room, *member, "member", now);
            }
            tx.commit().await?;
            room
        });
        Ok(room)
    }

    /// The direct room of users `a` and `b`: found or created in one upsert
    /// on its unique pair key (two quick clicks still give one room). Shown
    /// again for `a`, who asked for it. Returns the room and which of the
    /// two were not members before (and so must be subscribed).
    pub async fn direct_room(
        &self,
        a: i64,
        b: i64,
        now: i64,
    ) -> Result<(i64, Vec<i64>), StoreError> {
        let key = format!("{}:{}", a.min(b), a.max(b));
        let (room, joined) = on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let room: i64 = sqlx::query_scalar(
                "INSERT INTO rooms (kind, direct_key, created_by, created_at, last_activity)
                 VALUES ('direct', $1, $2, $3, $3)
                 ON CONFLICT (direct_key) DO UPDATE SET direct_key = excluded.direct_key
                 RETURNING id",
            )
            .bind(&key)
            .bind(a)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let mut joined = Vec::new();
            for user in [a, b] {
                if insert_member!(tx, room, user, "member", now) {
                    joined.push(user);
                }
            }
            sqlx::query(SHOW_ROOM)
                .bind(room)
                .bind(a)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            (room, joined)
        });
        Ok((room, joined))
    }

    /// `None` when the user is not a member; else whether they own the room
    /// and the room's kind.
    pub async fn membership(
        &self,
        user_id: i64,
        room: i64,
    ) -> Result<Option<(RoomKind, bool)>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.kind, m.role FROM room_members m JOIN rooms r ON r.id = m.room_id
                 WHERE m.user_id = $1 AND m.room_id = $2",
            )
            .bind(user_id)
            .bind(room)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(kind, role)| (RoomKind::parse(&kind), role == "owner")))
    }

    /// The kind of a room, whoever asks (admins act on rooms they are not in).
    pub async fn room_kind(&self, room: i64) -> Result<Option<RoomKind>, StoreError> {
        let kind: Option<String> = on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT kind FROM rooms WHERE id = $1")
                .bind(room)
                .fetch_optional(pool)
                .await?
        });
        Ok(kind.map(|k| RoomKind::parse(&k)))
    }

    /// Hides the room in one member's sidebar until its next message, or
    /// shows it again. False when not a member.
    pub async fn set_hidden(
        &self,
        user_id: i64,
        room: i64,
        hidden: bool,
    ) -> Result<bool, StoreError> {
        let sql = if hidden { HIDE_ROOM } else { SHOW_ROOM };
        let changed = on_pool!(self.db(), pool => {
            sqlx::query(sql).bind(room).bind(user_id).execute(pool).await?.rows_affected()
        });
        Ok(changed > 0)
    }

    pub async fn set_muted(
        &self,
        user_id: i64,
        room: i64,
        muted: bool,
    ) -> Result<bool, StoreError> {
        let changed = on_pool!(self.db(), pool => {
            sqlx::query("UPDATE room_members SET muted = $3 WHERE room_id = $1 AND user_id = $2")
                .bind(room)
                .bind(user_id)
                .bind(muted)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    pub async fn rename_room(&self, room: i64, name: &str) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE rooms SET name = $2 WHERE id = $1 AND kind = 'group'")
                .bind(room)
                .bind(name)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Adds members to a room; returns the ones who were not members yet.
    pub async fn add_members(
        &self,
        room: i64,
        users: &[i64],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let added = on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let mut added = Vec::new();
            for user in users {
                if insert_member!(tx, room, *user, "member", now) {
                    added.push(*user);
                }
            }
            tx.commit().await?;
            added
        });
        Ok(added)
    }

    /// Removes a member. A group whose last owner leaves passes ownership to
    /// the longest-standing member left, so someone can still manage it.
    /// False when they were not a member.
    pub async fn remove_member(&self, room: i64, user_id: i64) -> Result<bool, StoreError> {
        let removed = on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let removed = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
                .bind(room)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected() > 0;
            sqlx::query(
                "UPDATE room_members SET role = 'owner'
                 WHERE room_id = $1
                   AND NOT EXISTS (SELECT 1 FROM room_members o WHERE o.room_id = $1 AND o.role = 'owner')
                   AND user_id = (SELECT f.user_id FROM room_members f WHERE f.room_id = $1
                                  ORDER BY f.joined_at, f.user_id LIMIT 1)",
            )
            .bind(room)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            removed
        });
        Ok(removed)
    }

    pub async fn members(&self, room: i64) -> Result<Vec<MemberView>, StoreError> {
        let rows: Vec<MemberRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.shown_name AS display_name, u.email, m.role
                 FROM room_members m JOIN users u ON u.id = m.user_id
                 WHERE m.room_id = $1 ORDER BY m.role DESC, u.display_name, u.id",
            )
            .bind(room)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| MemberView {
                user_id: r.user_id,
                display_name: r.display_name,
                email: r.email,
                owner: r.role == "owner",
            })
            .collect())
    }

    pub async fn member_ids(&self, room: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT user_id FROM room_members WHERE room_id = $1")
                .bind(room)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Ids of the accounts with these (already normalised) emails; unknown ones are skipped.
    pub async fn user_ids_by_email(
        &self,
        emails: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut found = Vec::with_capacity(emails.len());
        for email in emails {
            if let Some(user) = self.user_by_email(email).await? {
                found.push((user.email, user.id));
            }
        }
        Ok(found)
    }

    /// Stores an invitation from `inviter` to `email` with `token`, or
    /// keeps the one there; returns the stored (token, created_at).
    pub async fn invite(
        &self,
        inviter: i64,
        email: &str,
        token: &str,
        now: i64,
    ) -> Result<(String, i64), StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "INSERT INTO invitations (inviter_id, email, created_at, token) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (inviter_id, email)
                 DO UPDATE SET token = COALESCE(invitations.token, excluded.token)
                 RETURNING token, created_at",
            )
            .bind(inviter)
            .bind(email)
            .bind(now)
            .bind(token)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The inviter's pending invitations: (email, created_at, token),
    /// newest first.
    pub async fn invitations_of(
        &self,
        inviter: i64,
    ) -> Result<Vec<(String, i64, String)>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT email, created_at, token FROM invitations
                 WHERE inviter_id = $1 AND token IS NOT NULL
                 ORDER BY created_at DESC, email",
            )
            .bind(inviter)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Removes the invitation whose link carried `token` (used once) and
    /// returns it: (inviter, email, created_at). `invite` puts it back.
    pub async fn take_invitation(
        &self,
        token: &str,
    ) -> Result<Option<(i64, String, i64)>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "DELETE FROM invitations WHERE token = $1 RETURNING inviter_id, email, created_at",
            )
                .bind(token)
                .fetch_optional(pool)
                .await?
        }))
    }
}
