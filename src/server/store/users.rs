use super::{on_pool, Store, StoreError};
use crate::model::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    /// Set for a website visitor's account (see `store::sites`), which
    /// exists for that site's widget only.
    pub site_id: Option<i64>,
    /// When an admin deactivated the account (it cannot sign in; its
    /// messages stay, its name marked); `None` while it is active.
    pub deactivated_at: Option<i64>,
}

impl UserRow {
    /// Roles are constrained by the schema; an unknown one can only come from
    /// a hand-edited row and is treated as the least privileged.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub now: i64,
}

const INSERT_USER: &str =
    "INSERT INTO users (email, display_name, password_hash, role, is_founder, created_at)
     SELECT $1, $2, $3, CASE WHEN $4 THEN 'admin' ELSE 'member' END, $4, $5
     WHERE $4 = FALSE OR NOT EXISTS (SELECT 1 FROM users)
     RETURNING id, email, display_name, password_hash, role, site_id, deactivated_at";

impl Store {
    /// Creates an account. The first account ever becomes the admin: the
    /// insert claims the founder slot only while the table is empty, and a
    /// partial unique index settles a race between two first sign-ups.
    /// A taken email is reported as a unique violation.
    pub async fn create_user(&self, user: NewUser<'_>) -> Result<UserRow, StoreError> {
        for as_founder in [true, false] {
            let inserted: Result<Option<UserRow>, sqlx::Error> = on_pool!(self.db(), pool => {
                sqlx::query_as::<_, UserRow>(INSERT_USER)
                    .bind(user.email)
                    .bind(user.display_name)
                    .bind(user.password_hash)
                    .bind(as_founder)
                    .bind(user.now)
                    .fetch_optional(pool)
                    .await
            });
            match inserted {
                Ok(Some(row)) => return Ok(row),
                // Not the first account: insert as a member.
                Ok(None) => continue,
                Err(err) => {
                    let err = StoreError::from(err);
                    // Lost the founder race; a member row is what we want,
                    // unless the email was the conflict, which the member
                    // insert reports in turn.
                    if as_founder && err.is_unique_violation() {
                        continue;
                    }
                    return Err(err);
                }
            }
        }
        Err(StoreError::Sql(sqlx::Error::RowNotFound))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT id, email, display_name, password_hash, role, site_id, deactivated_at FROM users
                 WHERE email = $1 AND site_id IS NULL",
            )
            .bind(email)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT id, email, display_name, password_hash, role, site_id, deactivated_at FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        }))
    }
}
