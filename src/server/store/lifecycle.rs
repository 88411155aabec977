//! Deactivating and reactivating accounts: what must change together in
//! the database, in one transaction.

use super::{on_pool, Store, StoreError};

/// What a deactivation ended or moved, for the service to tell the live
/// sockets after the commit.
#[derive(Debug, Default)]
pub struct Deactivated {
    /// The account's sessions, deleted (counted in the log; the sockets
    /// are closed by user, on every node).
    pub sessions: Vec<Vec<u8>>,
    /// Support conversations the account was staff of: their staff must be
    /// synced (it leaves them; one it was assigned goes back to the queue).
    pub support_rooms: Vec<i64>,
    /// Groups that got a new owner because the account was the last active one.
    pub new_owners: Vec<i64>,
    /// Its direct chats: the other person's list shows the marked name.
    pub direct_rooms: Vec<i64>,
}

/// Why a deactivation did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum NotDeactivated {
    /// No such account (or a website visitor's).
    Unknown,
    Already,
    /// The last active admin: someone must still be able to administer.
    LastAdmin,
}

const DEACTIVATE: &str = "UPDATE users SET deactivated_at = $2
     WHERE id = $1 AND site_id IS NULL AND deactivated_at IS NULL
       AND (role <> 'admin' OR EXISTS (SELECT 1 FROM users o
            WHERE o.role = 'admin' AND o.id <> $1 AND o.deactivated_at IS NULL))";

/// The groups `$1` owns where no other active member owns it.
const OWNED_ALONE: &str = "SELECT m.room_id FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = $1 AND m.role = 'owner' AND r.kind = 'group'
       AND NOT EXISTS (SELECT 1 FROM room_members o JOIN users ou ON ou.id = o.user_id
                       WHERE o.room_id = m.room_id AND o.role = 'owner' AND o.user_id <> $1
                         AND ou.deactivated_at IS NULL)
     ORDER BY m.room_id";

/// Group `$1`'s longest-standing active member becomes an owner.
const PROMOTE_ELDEST: &str = "UPDATE room_members SET role = 'owner'
     WHERE room_id = $1 AND user_id = (
        SELECT f.user_id FROM room_members f JOIN users fu ON fu.id = f.user_id
        WHERE f.room_id = $1 AND fu.deactivated_at IS NULL
        ORDER BY f.joined_at, f.user_id LIMIT 1)";

const ROOMS_OF_KIND: &str = "SELECT r.id FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = $1 AND r.kind = $2 AND (r.kind <> 'support' OR r.support_user_id <> $1)
     ORDER BY r.id";

impl Store {
    /// Deactivates an account: it is marked, its sessions, push devices
    /// and pending notifications go, and every group it alone owned gets
    /// its longest-standing active member as an owner. Its memberships and
    /// messages stay.
    pub async fn deactivate_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Result<Deactivated, NotDeactivated>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let state: Option<(Option<i64>, String, Option<i64>)> =
                sqlx::query_as("SELECT deactivated_at, role, site_id FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let changed = sqlx::query(DEACTIVATE)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if !changed {
                return Ok(Err(match state {
                    None | Some((_, _, Some(_))) => NotDeactivated::Unknown,
                    Some((Some(_), _, _)) => NotDeactivated::Already,
                    Some(_) => NotDeactivated::LastAdmin,
                }));
            }
            let sessions: Vec<Vec<u8>> =
                sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash")
                    .bind(user_id)
                    .fetch_all(&mut *tx)
                    .await?;
            for sql in [
                "DELETE FROM push_subscriptions WHERE user_id = $1",
                "DELETE FROM notifications_due WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
            }
            let alone: Vec<i64> = sqlx::query_scalar(OWNED_ALONE)
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut new_owners = Vec::new();
            for room in alone {
                let promoted = sqlx::query(PROMOTE_ELDEST)
                    .bind(room)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if promoted > 0 {
                    new_owners.push(room);
                }
            }
            let mut rooms = Vec::with_capacity(2);
            for kind in ["support", "direct"] {
                let ids: Vec<i64> = sqlx::query_scalar(ROOMS_OF_KIND)
                    .bind(user_id)
                    .bind(kind)
                    .fetch_all(&mut *tx)
                    .await?;
                rooms.push(ids);
            }
            tx.commit().await?;
            let direct_rooms = rooms.pop().unwrap_or_default();
            let support_rooms = rooms.pop().unwrap_or_default();
            Ok(Deactivated {
                sessions,
                support_rooms,
                new_owners,
                direct_rooms,
            })
        }))
    }

    /// Lets a deactivated account sign in again. False when it was not
    /// deactivated (or is unknown).
    pub async fn reactivate_user(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE users SET deactivated_at = NULL
                 WHERE id = $1 AND site_id IS NULL AND deactivated_at IS NOT NULL",
            )
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
                > 0
        }))
    }

    /// The direct chats of `user_id` (whose partners see its name change).
    pub async fn direct_rooms_of(&self, user_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(ROOMS_OF_KIND)
                .bind(user_id)
                .bind("direct")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Accounts deactivated at or after `since`: each node closes their
    /// sockets, whichever process deactivated them.
    pub async fn deactivated_since(&self, since: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT id FROM users WHERE deactivated_at IS NOT NULL AND deactivated_at >= $1",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }
}
