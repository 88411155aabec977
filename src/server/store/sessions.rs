use super::users::UserRow;
use super::{on_pool, Store, StoreError};

/// A live session joined with its user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub expires_at: i64,
    #[sqlx(flatten)]
    pub user: UserRow,
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The session for this token hash if it has not expired.
    pub async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SessionRow>(
                "SELECT s.expires_at, u.id, u.email, u.display_name, u.password_hash, u.role, u.site_id, u.deactivated_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn extend_session(
        &self,
        token_hash: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
                .bind(expires_at)
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Ends every session of a user (their role changed).
    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Ends every session of a user but one (their password changed);
    /// the token hashes of the ended ones, so their sockets can be closed.
    pub async fn delete_other_sessions(
        &self,
        user_id: i64,
        keep: &[u8],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2 RETURNING token_hash",
            )
            .bind(user_id)
            .bind(keep)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Ends the sessions of a site's anonymous visitors (the site now lets
    /// in verified visitors only); their token hashes, for their sockets.
    pub async fn delete_anonymous_visitor_sessions(
        &self,
        site_id: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "DELETE FROM sessions WHERE user_id IN
                   (SELECT user_id FROM visitors WHERE site_id = $1 AND external_id IS NULL)
                 RETURNING token_hash",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Drops expired sessions and returns their token hashes, so sockets
    /// opened under them can be closed too.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("DELETE FROM sessions WHERE expires_at <= $1 RETURNING token_hash")
                .bind(now)
                .fetch_all(pool)
                .await?
        }))
    }
}
