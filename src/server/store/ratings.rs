//! Satisfaction ratings: one per resolution of a support conversation.

use super::{on_pool, Store, StoreError};

/// A rating as the service records it.
#[derive(Debug, Clone)]
pub struct NewRating {
    pub room: i64,
    /// The seq of the `resolved` line it rates.
    pub resolved_seq: i64,
    pub user_id: i64,
    pub department_id: i64,
    pub agent_id: Option<i64>,
    pub score: i64,
    pub now: i64,
}

impl Store {
    /// Records a rating; false when that resolution was rated already.
    pub async fn add_rating(&self, rating: &NewRating) -> Result<bool, StoreError> {
        let added = on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO ratings (room_id, resolved_seq, user_id, department_id, agent_id, score, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (room_id, resolved_seq) DO NOTHING",
            )
            .bind(rating.room)
            .bind(rating.resolved_seq)
            .bind(rating.user_id)
            .bind(rating.department_id)
            .bind(rating.agent_id)
            .bind(rating.score)
            .bind(rating.now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(added > 0)
    }

    /// Takes back a rating whose line could not be stored, so the member
    /// may rate again.
    pub async fn remove_rating(&self, room: i64, resolved_seq: i64) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM ratings WHERE room_id = $1 AND resolved_seq = $2")
                .bind(room)
                .bind(resolved_seq)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
