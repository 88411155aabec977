//! The audit log: what admins and the command line changed, with who,
//! when and from which address.

use super::{on_pool, Store, StoreError};
use crate::model::AuditEntryView;

/// One entry to record.
pub struct NewAuditEntry<'a> {
    pub at: i64,
    pub actor_id: Option<i64>,
    /// Who, as they were then: an email, or the command line.
    pub actor: &'a str,
    pub address: Option<String>,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

impl Store {
    pub async fn record_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO audit_log (at, actor_id, actor, address, action, target, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(entry.at)
            .bind(entry.actor_id)
            .bind(entry.actor)
            .bind(entry.address)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.detail)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Up to `limit` entries, newest first, older than entry `before` when given.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntryView>, StoreError> {
        type Row = (i64, i64, String, Option<String>, String, String, String);
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, at, actor, address, action, target, detail FROM audit_log
                 WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, at, actor, address, action, target, detail)| AuditEntryView {
                    id,
                    at,
                    actor,
                    address,
                    action,
                    target,
                    detail,
                },
            )
            .collect())
    }
}
