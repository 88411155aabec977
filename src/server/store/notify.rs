//! The SQL of the cluster's fan-out on Postgres: NOTIFY to the other nodes,
//! and a named connection that LISTENs to them.

use sqlx::postgres::{PgListener, PgPool};

/// Sends `payload` on `channel` to every listening node.
pub async fn send(pool: &PgPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// A connection of its own listening on `channel`, named
/// `application_name` in pg_stat_activity.
pub async fn listen(
    pool: &PgPool,
    channel: &str,
    application_name: &str,
) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(application_name)
        .execute(&mut listener)
        .await?;
    listener.listen(channel).await?;
    Ok(listener)
}
