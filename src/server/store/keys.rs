//! The sealed data keys, and re-encryption of rows under older keys.

use super::{on_pool, Store, StoreError};
use crate::server::crypto::{new_data_key, MasterKey, WrappedKey};

/// How many rows (messages and file chunks) a key holds (`None`: plaintext from before
/// encryption was on).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyCount {
    pub key_id: Option<i64>,
    pub rows: i64,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    sealed: Vec<u8>,
    nonce: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    id: i64,
    room_id: i64,
    seq: i64,
    key_id: Option<i64>,
    nonce: Option<Vec<u8>>,
    body: Vec<u8>,
}

/// What one re-encryption batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reencrypted {
    pub moved: u64,
    /// Rows that did not open (left as they are, and logged).
    pub unreadable: u64,
    /// The highest row id looked at; the next batch starts after it.
    pub last_id: i64,
}

impl Store {
    pub async fn data_keys(&self) -> Result<Vec<WrappedKey>, StoreError> {
        let rows: Vec<KeyRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, sealed, nonce FROM encryption_keys ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| WrappedKey {
                id: r.id,
                sealed: r.sealed,
                nonce: r.nonce,
            })
            .collect())
    }

    pub async fn newest_key_id(&self) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT MAX(id) FROM encryption_keys").fetch_one(pool).await?
        }))
    }

    /// Adds a new data key sealed by `master`; it becomes the current one.
    /// Returns its id.
    pub async fn add_data_key(&self, master: &MasterKey, now: i64) -> Result<i64, StoreError> {
        let id = self.newest_key_id().await?.unwrap_or(0) + 1;
        let (sealed, nonce) = master.wrap(id, &new_data_key())?;
        on_pool!(self.db(), pool => {
            sqlx::query("INSERT INTO encryption_keys (id, sealed, nonce, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(&sealed)
                .bind(&nonce)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    pub async fn key_counts(&self) -> Result<Vec<KeyCount>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT key_id, CAST(COUNT(*) AS BIGINT) AS rows FROM
                   (SELECT key_id FROM messages UNION ALL SELECT key_id FROM file_chunks) AS sealed
                 GROUP BY key_id ORDER BY key_id",
            )
                .fetch_all(pool)
                .await?
        }))
    }

    /// Deletes data key `id` if no row uses it. False when rows still do.
    pub async fn drop_data_key(&self, id: i64) -> Result<bool, StoreError> {
        let deleted = on_pool!(self.db(), pool => {
            sqlx::query(
                "DELETE FROM encryption_keys WHERE id = $1
                 AND NOT EXISTS (SELECT 1 FROM messages WHERE key_id = $1)
                 AND NOT EXISTS (SELECT 1 FROM file_chunks WHERE key_id = $1)",
            )
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Re-seals up to `limit` rows after `after_id` that are not under the
    /// current key. Each row is updated only if it still holds what was
    /// read, so a concurrent clear or a second re-encrypter cannot be undone.
    pub async fn reencrypt_batch(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Reencrypted, StoreError> {
        let Some(current) = self.keys.current() else {
            return Ok(Reencrypted::default());
        };
        let rows: Vec<SealedRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, room_id, seq, key_id, nonce, body FROM messages
                 WHERE id > $1 AND (key_id IS NULL OR key_id <> $2) ORDER BY id LIMIT $3",
            )
            .bind(after_id)
            .bind(current)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut done = Reencrypted {
            last_id: rows.last().map_or(after_id, |r| r.id),
            ..Reencrypted::default()
        };
        for row in rows {
            let plain = match self.keys.open(
                row.room_id,
                row.seq,
                row.key_id,
                row.nonce.as_deref(),
                &row.body,
            ) {
                Ok(plain) => plain,
                Err(err) => {
                    tracing::warn!(room = row.room_id, seq = row.seq, error = %err, "a message does not decrypt; left as is");
                    done.unreadable += 1;
                    continue;
                }
            };
            let sealed = self.keys.seal(row.room_id, row.seq, &plain)?;
            let changed = on_pool!(self.db(), pool => {
                sqlx::query(
                    "UPDATE messages SET body = $2, key_id = $3, nonce = $4
                     WHERE id = $1 AND body = $5",
                )
                .bind(row.id)
                .bind(&sealed.body)
                .bind(sealed.key_id)
                .bind(&sealed.nonce)
                .bind(&row.body)
                .execute(pool)
                .await?
                .rows_affected()
            });
            done.moved += changed;
        }
        Ok(done)
    }
}
