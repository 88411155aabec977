//! Single sign-on: accounts' identities at the OpenID Provider, and the
//! sign-ins sent there and not back yet (only hashes of their `state` and
//! browser binding are kept).

use super::{on_pool, Store, StoreError, UserRow};

/// Settings an admin changes on the admin page ("1" or "0").
pub const SSO_LINK_BY_EMAIL: &str = "sso.link_by_email";
pub const SSO_PASSWORD_LOGIN: &str = "sso.password_login";

/// A sign-in under way, as its callback takes it back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingSso {
    pub browser_hash: Vec<u8>,
    pub verifier: String,
    pub nonce: String,
    pub created_at: i64,
}

impl Store {
    /// Records a sign-in sent to the provider; drops those older than `stale_before`.
    pub async fn put_sso_login(
        &self,
        state_hash: &[u8],
        browser_hash: &[u8],
        verifier: &str,
        nonce: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
                .bind(stale_before)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO sso_logins (state_hash, browser_hash, verifier, nonce, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(state_hash)
            .bind(browser_hash)
            .bind(verifier)
            .bind(nonce)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Takes the sign-in with this `state` (once: of two callbacks with the
    /// same `state`, one gets it).
    pub async fn take_sso_login(
        &self,
        state_hash: &[u8],
    ) -> Result<Option<PendingSso>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, PendingSso>(
                "DELETE FROM sso_logins WHERE state_hash = $1
                 RETURNING browser_hash, verifier, nonce, created_at",
            )
            .bind(state_hash)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The account an identity at `issuer` belongs to.
    pub async fn user_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT u.id, u.email, u.display_name, u.password_hash, u.role, u.site_id, u.deactivated_at
                 FROM user_identities i JOIN users u ON u.id = i.user_id
                 WHERE i.issuer = $1 AND i.subject = $2",
            )
            .bind(issuer)
            .bind(subject)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Links an identity at `issuer` to an account.
    pub async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
