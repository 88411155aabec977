//! Who may create an account: the server-wide settings an admin changes at
//! run time, and the admins' invitation links (only their token's hash).

use super::{on_pool, Store, StoreError};
use crate::model::InviteLinkView;

/// A setting's name in the `settings` table.
pub const REGISTRATION_MODE: &str = "registration_mode";
pub const REGISTRATION_DOMAINS: &str = "registration_domains";

/// A link claimed for a sign-up in progress.
#[derive(Debug, Clone, Copy)]
pub struct ClaimedLink {
    pub id: i64,
}

impl Store {
    /// A setting's value, or `None` if it was never set.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A yes/no setting stored as "1" / "0" (`default` when never set).
    pub async fn setting_flag(&self, name: &str, default: bool) -> Result<bool, StoreError> {
        Ok(self.setting(name).await?.map_or(default, |v| v == "1"))
    }

    /// Sets several settings in one transaction (all or none).
    pub async fn set_settings(&self, values: &[(&str, &str)], now: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for (name, value) in values {
                sqlx::query(
                    "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(*name)
                .bind(*value)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether any account exists (the first one is always admitted).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
                .fetch_one(pool)
                .await?
        }))
    }

    pub async fn create_invite_link(
        &self,
        token_hash: &[u8],
        created_by: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "INSERT INTO invite_links (token_hash, created_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(token_hash)
            .bind(created_by)
            .bind(now)
            .bind(expires_at)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The links nobody has used yet that have not expired, newest first.
    pub async fn pending_invite_links(&self, now: i64) -> Result<Vec<InviteLinkView>, StoreError> {
        let rows: Vec<(i64, String, i64, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT l.id, u.display_name, l.created_at, l.expires_at
                 FROM invite_links l JOIN users u ON u.id = l.created_by
                 WHERE l.used_at IS NULL AND l.expires_at > $1
                 ORDER BY l.created_at DESC, l.id DESC",
            )
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, created_by, created_at, expires_at)| InviteLinkView {
                id,
                created_by,
                created_at,
                expires_at,
            })
            .collect())
    }

    /// Removes a link that has not been used; `false` if there was none.
    pub async fn revoke_invite_link(&self, id: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM invite_links WHERE id = $1 AND used_at IS NULL")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Claims the live, unused link whose token hashes to `token_hash`: one
    /// sign-up at a time can hold it, so a single-use link admits one
    /// account even when two sign-ups race.
    pub async fn claim_invite_link(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<ClaimedLink>, StoreError> {
        let id: Option<i64> = on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "UPDATE invite_links SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(id.map(|id| ClaimedLink { id }))
    }

    /// Gives a claimed link back (the account could not be created).
    pub async fn release_invite_link(&self, link: ClaimedLink) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE invite_links SET used_at = NULL WHERE id = $1 AND used_by IS NULL")
                .bind(link.id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records who the claimed link admitted.
    pub async fn finish_invite_link(&self, link: ClaimedLink, user: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE invite_links SET used_by = $2 WHERE id = $1")
                .bind(link.id)
                .bind(user)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
