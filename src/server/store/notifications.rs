//! The notification outbox (`notifications_due`): the writer adds a row per
//! person a new message would notify, in the message's transaction; the
//! missed-message digest takes a person's rows once they are due, and
//! reads which of those messages are still unread. Also each person's
//! email setting.

use std::collections::BTreeMap;

use super::messages::{MessageRow, SELECT_MESSAGES};
use super::{id_list, on_pool, Store, StoreError};
use crate::realtime::protocol::MessageView;

/// Who a new message calls ($1 room, $2 seq, $3 time, $4 sender), each
/// member but the sender who is: the other side of a direct chat; in a
/// support conversation, for a member's message its assignee (or,
/// unassigned, its department's staff), for a staff member's the member;
/// or called by a mention the writer has just stored (a row with no user
/// is `@room`: every member), which `mention` records. A row is due a
/// push (`push_state` 1) when its person has a device to push to. A
/// deactivated account is called by nothing (checked on the few rows
/// that pass, not on every member). One
/// statement, so a direct message costs one more row and no more round
/// trips.
pub(super) const NOTIFY: &str =
    "INSERT INTO notifications_due (user_id, room_id, seq, mention, created_at, push_state)
     SELECT user_id, $1, $2, mentioned, $3,
        CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.user_id = members.user_id)
             THEN 1 ELSE 0 END
     FROM (
        SELECT rm.user_id,
            EXISTS (SELECT 1 FROM mentions x WHERE x.room_id = $1 AND x.message_seq = $2
                      AND (x.user_id = rm.user_id OR x.user_id IS NULL)) AS mentioned,
            r.kind = 'direct'
            OR (r.kind = 'support' AND (
                (r.support_user_id = $4 AND (r.assignee_id IS NULL OR rm.user_id = r.assignee_id))
                OR (r.support_user_id <> $4 AND rm.user_id = r.support_user_id))) AS called
        FROM rooms r JOIN room_members rm ON rm.room_id = r.id
        WHERE r.id = $1 AND rm.user_id <> $4) AS members
     WHERE (mentioned OR called)
       AND NOT EXISTS (SELECT 1 FROM users u
                       WHERE u.id = members.user_id AND u.deactivated_at IS NOT NULL)";

/// A digest's conversation, as its reader sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestRoom {
    pub kind: String,
    pub name: Option<String>,
    /// A direct chat's other person.
    pub other: Option<String>,
    /// A support conversation's member (id and name) and department.
    pub member_id: Option<i64>,
    pub member: Option<String>,
    pub department: Option<String>,
}

impl Store {
    /// Takes the rows of up to `limit` people who are due a digest (with
    /// digests on, their oldest waiting row older than their delay) out of
    /// the outbox: (person, room, seq, mention). One scan to find them, one
    /// `DELETE … RETURNING` to take their rows: of two nodes taking the
    /// same rows, one gets each. A row whose push is still undecided stays
    /// for the next pass.
    pub async fn take_due_digests(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64, bool)>, StoreError> {
        let due: Vec<(i64, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT n.user_id, MAX(n.id) FROM notifications_due n
                 JOIN users u ON u.id = n.user_id
                 WHERE u.email_delay_mins > 0 AND u.site_id IS NULL
                 GROUP BY n.user_id, u.email_delay_mins
                 HAVING MIN(n.created_at) <= $1 - u.email_delay_mins * 60000
                 LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let Some(up_to) = due.iter().map(|&(_, id)| id).max() else {
            return Ok(Vec::new());
        };
        // Ids are integers: listing them in the text is safe.
        let sql = format!(
            "DELETE FROM notifications_due WHERE id <= $1 AND user_id IN ({}) AND push_state = 0
             RETURNING user_id, room_id, seq, mention",
            id_list(due.iter().map(|&(user, _)| user))
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(up_to).fetch_all(pool).await?
        }))
    }

    /// Of `due` (room, seq, mention), the messages `user` still has not
    /// read, may read, and wants to hear of (a muted room only for a
    /// mention), per room, oldest first.
    pub async fn unread_of_due(
        &self,
        user: i64,
        due: &[(i64, i64, bool)],
    ) -> Result<BTreeMap<i64, Vec<MessageView>>, StoreError> {
        let mut per_room: BTreeMap<i64, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
        for &(room, seq, mention) in due {
            let entry = per_room.entry(room).or_default();
            entry.0.push(seq);
            if mention {
                entry.1.push(seq);
            }
        }
        let mut out = BTreeMap::new();
        for (room, (seqs, mentions)) in per_room {
            // Seqs are integers: listing them in the text is safe.
            let sql = format!(
                "{SELECT_MESSAGES}
                 JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $1
                 WHERE m.room_id = $2 AND m.seq IN ({}) AND m.seq > rm.last_read_seq
                   AND m.deleted_at IS NULL AND m.kind = 'text'
                   AND (rm.muted = FALSE OR m.seq IN ({}))
                 ORDER BY m.seq",
                id_list(seqs.into_iter()),
                if mentions.is_empty() {
                    "NULL".to_string()
                } else {
                    id_list(mentions.into_iter())
                },
            );
            let rows: Vec<MessageRow> = on_pool!(self.db(), pool => {
                sqlx::query_as(&sql).bind(user).bind(room).fetch_all(pool).await?
            });
            if !rows.is_empty() {
                out.insert(
                    room,
                    rows.into_iter().map(|r| r.into_view(&self.keys)).collect(),
                );
            }
        }
        Ok(out)
    }

    /// How `reader` would name `room` in a list.
    pub async fn digest_room(
        &self,
        room: i64,
        reader: i64,
    ) -> Result<Option<DigestRoom>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.kind, r.name,
                    (SELECT u.shown_name FROM room_members o JOIN users u ON u.id = o.user_id
                     WHERE o.room_id = r.id AND o.user_id <> $2 LIMIT 1) AS other,
                    r.support_user_id AS member_id,
                    (SELECT u.shown_name FROM users u WHERE u.id = r.support_user_id) AS member,
                    (SELECT d.name FROM departments d WHERE d.id = r.department_id) AS department
                 FROM rooms r WHERE r.id = $1",
            )
            .bind(room)
            .bind(reader)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Forgets outbox rows older than `before` that no notifier took
    /// (people with email off, or with no way to be told).
    pub async fn delete_stale_notifications(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM notifications_due WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Forgets the rows of people who get no digests (turned off, or a
    /// website visitor) once no push waits on them: turning digests on
    /// later starts from new messages.
    pub async fn delete_unwanted_notifications(&self) -> Result<u64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query(
                "DELETE FROM notifications_due WHERE push_state = 0 AND EXISTS (
                    SELECT 1 FROM users u WHERE u.id = notifications_due.user_id
                      AND (u.email_delay_mins = 0 OR u.site_id IS NOT NULL))",
            )
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// A person's digest delay in minutes (0: off).
    pub async fn email_delay(&self, user: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT email_delay_mins FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await?
                .unwrap_or(0)
        }))
    }

    pub async fn set_email_delay(&self, user: i64, minutes: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE users SET email_delay_mins = $2 WHERE id = $1")
                .bind(user)
                .bind(minutes)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
