//! Retention: how long each room keeps its messages (the instance-wide
//! setting, a department's number for its support conversations, a room's
//! own), which rooms have messages past it, and the statements the writer
//! runs to delete a room's oldest messages (`writer/batch.rs`, `trim`).

use super::{on_pool, Store, StoreError};
use crate::model::RetentionOverride;

/// The instance-wide number of days, in the `settings` table.
pub const RETENTION_DAYS: &str = "retention.days";
/// Until when (Unix ms) one node runs the retention pass.
const RETENTION_LEASE: &str = "retention.lease";

const DAY_MS: i64 = 86_400_000;

/// What has a number of days of its own.
#[derive(Debug, Clone, Copy)]
pub enum RetentionTarget {
    Department(i64),
    Room(i64),
}

/// The rooms whose oldest message is older than their retention allows,
/// with the cutoff (Unix ms) each must keep from. A room's own number
/// comes first, then its department's (a notes room's is its support
/// conversation's); `$1` is the instance's. 0 keeps for ever. The oldest
/// message is one index step per room (`(room_id, seq)`).
const DUE_ROOMS: &str = "SELECT id, cutoff FROM (
        SELECT r.id, $2 - COALESCE(r.retention_days, d.retention_days, $1) * $3 AS cutoff,
               COALESCE(r.retention_days, d.retention_days, $1) AS days,
               (SELECT m.created_at FROM messages m WHERE m.room_id = r.id ORDER BY m.seq LIMIT 1) AS oldest
          FROM rooms r
          LEFT JOIN rooms p ON p.id = r.notes_of
          LEFT JOIN departments d ON d.id = COALESCE(r.department_id, p.department_id)) due
     WHERE days > 0 AND oldest < cutoff
     ORDER BY id";

/// The room's oldest messages, in seq order: (id, seq, created_at, 1 for
/// a text message still there, body, key id, nonce).
pub(super) const OLDEST: &str =
    "SELECT id, seq, created_at, CAST(CASE WHEN kind = 'text' AND deleted_at IS NULL THEN 1 ELSE 0 END AS BIGINT),
            body, key_id, nonce
     FROM messages WHERE room_id = $1 ORDER BY seq LIMIT $2";
/// What goes with the messages of room $1 up to seq $2 (their files and
/// the files' chunks go by cascade).
pub(super) const TRIM_CHANGES: &str =
    "DELETE FROM message_changes WHERE room_id = $1 AND message_seq <= $2";
pub(super) const TRIM_REACTIONS: &str =
    "DELETE FROM reactions WHERE room_id = $1 AND message_seq <= $2";
pub(super) const TRIM_MENTIONS: &str =
    "DELETE FROM mentions WHERE room_id = $1 AND message_seq <= $2";
pub(super) const TRIM_MESSAGES: &str = "DELETE FROM messages WHERE room_id = $1 AND seq <= $2";
/// Read marks below the cut move up to it: what was unread there is gone
/// (the count does not change; a client takes the new count because its
/// mark moved).
pub(super) const TRIM_MARKS: &str =
    "UPDATE room_members SET last_read_seq = $2 WHERE room_id = $1 AND last_read_seq < $2";
pub(super) const TRIM_ROOM: &str =
    "UPDATE rooms SET trimmed_through = $2 WHERE id = $1 AND trimmed_through < $2";

impl Store {
    /// The instance-wide number of days (0: kept for ever).
    pub async fn retention_days(&self) -> Result<i64, StoreError> {
        Ok(self
            .setting(RETENTION_DAYS)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Rooms with messages older than their retention, and each one's cutoff.
    pub async fn rooms_due_trim(&self, now: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let instance = self.retention_days().await?;
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(DUE_ROOMS)
                .bind(instance)
                .bind(now)
                .bind(DAY_MS)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Takes the retention pass for `hold_ms` if no node holds it: of
    /// several nodes, one runs it.
    pub async fn claim_retention(&self, now: i64, hold_ms: i64) -> Result<bool, StoreError> {
        let until = (now + hold_ms).to_string();
        let taken = on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                 WHERE CAST(settings.value AS BIGINT) < $3",
            )
            .bind(RETENTION_LEASE)
            .bind(&until)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives the pass back before its lease ends.
    pub async fn release_retention(&self) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE settings SET value = '0' WHERE name = $1")
                .bind(RETENTION_LEASE)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Departments with their own number (`None`: the instance's), all of them.
    pub async fn department_retention(&self) -> Result<Vec<RetentionOverride>, StoreError> {
        self.overrides("SELECT id, name, retention_days FROM departments ORDER BY name")
            .await
    }

    /// Rooms with a number of their own, named for an admin (a direct
    /// chat by its two people, a support conversation by its member and
    /// department).
    pub async fn room_retention(&self) -> Result<Vec<RetentionOverride>, StoreError> {
        self.overrides(
            "SELECT r.id,
                    CASE WHEN r.kind = 'support' THEN COALESCE(su.shown_name, '') || ' · ' || COALESCE(d.name, '')
                         WHEN r.kind = 'direct' THEN
                            (SELECT COALESCE(MIN(u.shown_name), '') || ' · ' || COALESCE(MAX(u.shown_name), '')
                               FROM room_members x JOIN users u ON u.id = x.user_id WHERE x.room_id = r.id)
                         ELSE COALESCE(r.name, '') END,
                    r.retention_days
             FROM rooms r
             LEFT JOIN users su ON su.id = r.support_user_id
             LEFT JOIN departments d ON d.id = r.department_id
             WHERE r.retention_days IS NOT NULL ORDER BY r.id",
        )
        .await
    }

    /// (id, name, days) rows as the admin page lists them.
    async fn overrides(&self, sql: &'static str) -> Result<Vec<RetentionOverride>, StoreError> {
        let rows: Vec<(i64, String, Option<i64>)> = on_pool!(self.db(), pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, days)| RetentionOverride { id, name, days })
            .collect())
    }

    /// Sets a department's number (`None`: the instance's) or a room's
    /// own (`None`: its department's or the instance's); false when there
    /// is no such department or room.
    pub async fn set_retention_of(
        &self,
        target: RetentionTarget,
        days: Option<i64>,
    ) -> Result<bool, StoreError> {
        let (sql, id) = match target {
            RetentionTarget::Department(id) => (
                "UPDATE departments SET retention_days = $2 WHERE id = $1",
                id,
            ),
            RetentionTarget::Room(id) => ("UPDATE rooms SET retention_days = $2 WHERE id = $1", id),
        };
        Ok(on_pool!(self.db(), pool => {
            sqlx::query(sql)
                .bind(id)
                .bind(days)
                .execute(pool)
                .await?
                .rows_affected()
        }) == 1)
    }

    /// A room's name for the audit log ("#12 Launch").
    pub async fn room_label(&self, room: i64) -> Result<String, StoreError> {
        let name: Option<Option<String>> = on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT name FROM rooms WHERE id = $1")
                .bind(room)
                .fetch_optional(pool)
                .await?
        });
        Ok(match name.flatten() {
            Some(name) => format!("#{room} {name}"),
            None => format!("#{room}"),
        })
    }
}
