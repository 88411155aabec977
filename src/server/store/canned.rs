//! Canned replies: a department's ready answers.

use super::{on_pool, Store, StoreError};
use crate::model::CannedReply;

impl Store {
    /// A department's canned replies, by title.
    pub async fn canned_replies(&self, department_id: i64) -> Result<Vec<CannedReply>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, (i64, i64, String, String)>(
                "SELECT id, department_id, title, body FROM canned_replies
                 WHERE department_id = $1 ORDER BY title, id",
            )
            .bind(department_id)
            .fetch_all(pool)
            .await?
        })
        .into_iter()
        .map(|(id, department_id, title, body)| CannedReply {
            id,
            department_id,
            title,
            body,
        })
        .collect())
    }

    /// The department a canned reply belongs to, if it exists.
    pub async fn canned_department(&self, id: i64) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT department_id FROM canned_replies WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A new canned reply; a title the department has already is a unique
    /// violation.
    pub async fn create_canned(
        &self,
        department_id: i64,
        title: &str,
        body: &str,
        by: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "INSERT INTO canned_replies (department_id, title, body, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(department_id)
            .bind(title)
            .bind(body)
            .bind(by)
            .bind(now)
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn update_canned(
        &self,
        id: i64,
        title: &str,
        body: &str,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE canned_replies SET title = $2, body = $3, updated_by = $4, updated_at = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(title)
            .bind(body)
            .bind(by)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_canned(&self, id: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM canned_replies WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
