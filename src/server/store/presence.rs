//! Presence and read receipts: the little of them that is stored (see
//! migrations/*/0014_presence.sql). Who is online is kept in memory by
//! the hub; here are "last seen", the two privacy settings, whom a socket
//! shows, and the read marks receipts are made from.

use super::{id_list, on_pool, Store, StoreError};
use crate::model::Privacy;
use crate::realtime::protocol::{Reader, RoomKind, RECEIPTS_MAX_MEMBERS};

/// Whose read marks in a room become receipts, and who sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptScope {
    pub kind: RoomKind,
    /// The member a support conversation is with (only their reads are
    /// shown there, to staff).
    pub customer: Option<i64>,
    /// Small enough for receipts (`RECEIPTS_MAX_MEMBERS`).
    pub small: bool,
}

/// The people a direct chat or support conversation of $1 is with: the
/// other person of a direct chat; the member, for staff of a support
/// conversation. The most recently active first, at most $2.
const PEOPLE_OF: &str = "SELECT p FROM (
        SELECT pm.user_id AS p, r.last_activity AS at
          FROM room_members m JOIN rooms r ON r.id = m.room_id
          JOIN room_members pm ON pm.room_id = r.id AND pm.user_id <> m.user_id
         WHERE m.user_id = $1 AND r.kind = 'direct'
        UNION ALL
        SELECT r.support_user_id AS p, r.last_activity AS at
          FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND r.kind = 'support' AND r.support_user_id <> $1
     ) people ORDER BY at DESC LIMIT $2";

/// Members of room $2 other than $1 (who must be one), the room's owners
/// first, then by name, at most $3: those the member panel lists first.
const MEMBERS_SHOWN: &str = "SELECT m.user_id FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = $2 AND m.user_id <> $1
       AND EXISTS (SELECT 1 FROM room_members me WHERE me.room_id = $2 AND me.user_id = $1)
     ORDER BY m.role DESC, u.display_name, u.id LIMIT $3";

impl Store {
    pub async fn privacy_of(&self, user: i64) -> Result<Privacy, StoreError> {
        let row: Option<(bool, bool)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT invisible, read_receipts FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await?
        });
        Ok(
            row.map_or_else(Privacy::default, |(invisible, receipts)| Privacy {
                invisible,
                receipts,
            }),
        )
    }

    pub async fn set_privacy(&self, user: i64, privacy: Privacy) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE users SET invisible = $2, read_receipts = $3 WHERE id = $1")
                .bind(user)
                .bind(privacy.invisible)
                .bind(privacy.receipts)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// When each of `users` was last seen (stored; `None`: never).
    pub async fn last_seen(&self, users: &[i64]) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
        let mut seen = Vec::with_capacity(users.len());
        // In slices, so no statement grows without bound.
        for part in users.chunks(500) {
            let sql = format!(
                "SELECT id, last_seen_at FROM users WHERE id IN ({})",
                id_list(part.iter().copied())
            );
            let rows: Vec<(i64, Option<i64>)> = on_pool!(self.db(), pool => {
                sqlx::query_as(&sql).fetch_all(pool).await?
            });
            seen.extend(rows);
        }
        Ok(seen)
    }

    /// Stores "last seen" for each (user, Unix ms), in one transaction.
    pub async fn write_last_seen(&self, seen: &[(i64, i64)]) -> Result<(), StoreError> {
        if seen.is_empty() {
            return Ok(());
        }
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for (user, at) in seen {
                sqlx::query(
                    "UPDATE users SET last_seen_at = $2
                     WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)",
                )
                .bind(*user)
                .bind(*at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The people `user`'s sidebar and queue show (see `PEOPLE_OF`), and,
    /// when `room` is given, the members of that room; `None` when `user`
    /// is not a member of `room`.
    pub async fn people_shown(
        &self,
        user: i64,
        room: Option<i64>,
        most: i64,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        let mut people: Vec<i64> = on_pool!(self.db(), pool => {
            sqlx::query_scalar(PEOPLE_OF).bind(user).bind(most).fetch_all(pool).await?
        });
        if let Some(room) = room {
            if self.room_of(user, room).await?.is_none() {
                return Ok(None);
            }
            let members: Vec<i64> = on_pool!(self.db(), pool => {
                sqlx::query_scalar(MEMBERS_SHOWN)
                    .bind(user)
                    .bind(room)
                    .bind(most)
                    .fetch_all(pool)
                    .await?
            });
            people.extend(members);
        }
        people.sort_unstable();
        people.dedup();
        Ok(Some(people))
    }

    /// Whether `room`'s read marks make receipts, and for whom.
    pub async fn receipt_scope(&self, room: i64) -> Result<Option<ReceiptScope>, StoreError> {
        let row: Option<(String, Option<i64>, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.kind, r.support_user_id,
                        (SELECT COUNT(*) FROM (SELECT 1 FROM room_members m
                                                WHERE m.room_id = r.id LIMIT $2) n)
                 FROM rooms r WHERE r.id = $1",
            )
            .bind(room)
            .bind(RECEIPTS_MAX_MEMBERS + 1)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(kind, customer, members)| {
            let kind = RoomKind::parse(&kind);
            ReceiptScope {
                kind,
                customer: customer.filter(|_| kind == RoomKind::Support),
                small: members <= RECEIPTS_MAX_MEMBERS,
            }
        }))
    }

    /// The read marks of `room`'s members with receipts on; only `only`'s
    /// when given.
    pub async fn readers(&self, room: i64, only: Option<i64>) -> Result<Vec<Reader>, StoreError> {
        let rows: Vec<(i64, String, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.id, u.shown_name, m.last_read_seq
                 FROM room_members m JOIN users u ON u.id = m.user_id
                 WHERE m.room_id = $1 AND u.read_receipts AND ($2 IS NULL OR m.user_id = $2)
                 ORDER BY u.display_name, u.id",
            )
            .bind(room)
            .bind(only)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(user, name, read_seq)| Reader {
                room,
                user,
                name,
                read_seq,
            })
            .collect())
    }
}
