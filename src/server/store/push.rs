//! Web Push: each person's devices (push subscriptions) and preview
//! setting, and the push side of the notification outbox. A row of
//! `notifications_due` is due a push (`push_state` 1) when its person had a
//! device as it was written; a node takes due rows (state 2, with the time,
//! a lease) before it pushes, and marks them done (0) after, leaving them
//! to the email digest. Rows a node took and never finished (it died) are
//! taken again once the lease is over: a crash can repeat a push, never
//! lose one (the service worker shows a repeat in place of the first).

use super::{id_list, on_pool, Store, StoreError};

/// A device as its owner's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushDeviceRow {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_push_at: Option<i64>,
}

/// Where to push for one device.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushTargetRow {
    pub id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// An outbox row taken for pushing.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct DuePush {
    pub id: i64,
    pub user_id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub mention: bool,
}

/// A subscription to add.
pub struct NewDevice<'a> {
    pub user_id: i64,
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
    pub label: &'a str,
    pub now: i64,
}

impl Store {
    /// Adds a device, or renews its keys and name when this account already
    /// has its endpoint; keeps the account's `keep` newest devices. `None`
    /// when the endpoint belongs to another account (left as it is).
    pub async fn add_push_device(
        &self,
        device: &NewDevice<'_>,
        keep: i64,
    ) -> Result<Option<PushDeviceRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let row: Option<PushDeviceRow> = sqlx::query_as(
                "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, label, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (endpoint) DO UPDATE
                    SET p256dh = excluded.p256dh, auth = excluded.auth, label = excluded.label
                    WHERE push_subscriptions.user_id = excluded.user_id
                 RETURNING id, label, created_at, last_push_at",
            )
            .bind(device.user_id)
            .bind(device.endpoint)
            .bind(device.p256dh)
            .bind(device.auth)
            .bind(device.label)
            .bind(device.now)
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                sqlx::query(
                    "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
                        SELECT id FROM push_subscriptions WHERE user_id = $1
                        ORDER BY id DESC LIMIT $2)",
                )
                .bind(device.user_id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row
        }))
    }

    pub async fn push_devices(&self, user: i64) -> Result<Vec<PushDeviceRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, label, created_at, last_push_at FROM push_subscriptions
                 WHERE user_id = $1 ORDER BY id",
            )
            .bind(user)
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn push_targets(&self, user: i64) -> Result<Vec<PushTargetRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
            )
            .bind(user)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Removes one of `user`'s devices; false when it is not theirs.
    pub async fn remove_push_device(&self, user: i64, id: i64) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .execute(pool)
                .await?
                .rows_affected()
                > 0
        }))
    }

    /// Forgets a subscription its push service says is gone (404, 410).
    pub async fn forget_push_device(&self, id: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn note_push_sent(&self, device: i64, now: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE push_subscriptions SET last_push_at = $2 WHERE id = $1")
                .bind(device)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn push_previews(&self, user: i64) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT push_previews FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await?
                .unwrap_or(false)
        }))
    }

    pub async fn set_push_previews(&self, user: i64, on: bool) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE users SET push_previews = $2 WHERE id = $1")
                .bind(user)
                .bind(on)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Takes up to `limit` outbox rows due a push: written before
    /// `due_before` (the grace period), or taken before `lease_before` by
    /// a node that never finished them. The outer condition is checked
    /// again on each row as it is updated, so of two nodes, one takes it.
    pub async fn take_due_pushes(
        &self,
        now: i64,
        due_before: i64,
        lease_before: i64,
        limit: i64,
    ) -> Result<Vec<DuePush>, StoreError> {
        const DUE: &str = "((push_state = 1 AND created_at <= $2)
                            OR (push_state = 2 AND push_taken_at <= $3))";
        let sql = format!(
            "UPDATE notifications_due SET push_state = 2, push_taken_at = $1
             WHERE id IN (SELECT id FROM notifications_due WHERE push_state <> 0 AND {DUE}
                          ORDER BY id LIMIT $4)
               AND {DUE}
             RETURNING id, user_id, room_id, seq, mention"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(due_before)
                .bind(lease_before)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Marks taken rows decided (pushed or not needed).
    pub async fn finish_pushes(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        // Ids are integers: listing them in the text is safe.
        let sql = format!(
            "UPDATE notifications_due SET push_state = 0, push_taken_at = NULL WHERE id IN ({})",
            id_list(ids.iter().copied())
        );
        on_pool!(self.db(), pool => {
            sqlx::query(&sql).execute(pool).await?;
        });
        Ok(())
    }

    /// Records that `user`'s devices show a notification of `room` up to
    /// `seq`, so reading past it takes it away.
    pub async fn note_push_shown(&self, user: i64, room: i64, seq: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO push_shown (user_id, room_id, seq) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, room_id) DO UPDATE
                    SET seq = CASE WHEN excluded.seq > push_shown.seq
                                   THEN excluded.seq ELSE push_shown.seq END",
            )
            .bind(user)
            .bind(room)
            .bind(seq)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Takes `user`'s shown notification of `room` if the room is read up
    /// to it: the seq it showed. A `DELETE` by key, so of the reader and
    /// the pusher (each asks after its own write), one closes it. Asked on
    /// every read mark that moves, so it first looks without writing: most
    /// conversations show nothing.
    pub async fn take_read_push(&self, user: i64, room: i64) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let shown: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM push_shown WHERE user_id = $1 AND room_id = $2",
            )
            .bind(user)
            .bind(room)
            .fetch_optional(pool)
            .await?;
            if shown.is_none() {
                return Ok(None);
            }
            sqlx::query_scalar(
                "DELETE FROM push_shown WHERE user_id = $1 AND room_id = $2
                   AND seq <= (SELECT rm.last_read_seq FROM room_members rm
                               WHERE rm.user_id = $1 AND rm.room_id = $2)
                 RETURNING seq",
            )
            .bind(user)
            .bind(room)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Takes every shown notification whose conversation was read up to it
    /// or left, whatever the way (the sweep behind `take_read_push`):
    /// (person, room, seq shown). One `DELETE`, so one node closes each.
    pub async fn take_read_pushes(&self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "DELETE FROM push_shown WHERE NOT EXISTS (
                    SELECT 1 FROM room_members rm
                    WHERE rm.room_id = push_shown.room_id AND rm.user_id = push_shown.user_id
                      AND rm.last_read_seq < push_shown.seq)
                 RETURNING user_id, room_id, seq",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
