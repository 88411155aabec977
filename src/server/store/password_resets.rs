//! Password reset links: the SHA-256 of each token, its account, and
//! whether it was used. Using one sets the new password and ends every
//! session of the account in one transaction.

use super::{on_pool, Store, StoreError};

impl Store {
    pub async fn create_password_reset(
        &self,
        token_hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The account of an unused, unexpired reset token (checked before the
    /// slow password hash, so a wrong token costs no hashing).
    pub async fn password_reset_user(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT user_id FROM password_resets
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Uses the token (once: of two racing uses, one finds it used), sets
    /// `password_hash`, drops the account's other reset tokens and ends all
    /// its sessions. The account and the ended sessions' token hashes; `None`
    /// when the token is unknown, used or expired.
    pub async fn reset_password(
        &self,
        token_hash: &[u8],
        now: i64,
        password_hash: &str,
    ) -> Result<Option<(i64, Vec<Vec<u8>>)>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let user: Option<i64> = sqlx::query_scalar(
                "UPDATE password_resets SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING user_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match user {
                None => None,
                Some(user) => {
                    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(password_hash)
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    let ended: Vec<Vec<u8>> = sqlx::query_scalar(
                        "DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash",
                    )
                    .bind(user)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Some((user, ended))
                }
            }
        }))
    }

    /// Forgets reset tokens that expired before `before`.
    pub async fn delete_old_password_resets(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
