//! The SQL of the cluster's fan-out on Postgres: NOTIFY to the other nodes,
//! and a named connection that LISTENs to them.

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgListener, PgPool};
use sqlx::Postgres;

/// Sends NOTIFYs on a connection it keeps: one taken from the pool for
/// each would cost two round trips more (sqlx pings a connection as it is
/// taken and as it is given back), and a node sends one per writer batch.
pub struct Sender {
    pool: PgPool,
    conn: Option<PoolConnection<Postgres>>,
}

impl Sender {
    pub fn new(pool: PgPool) -> Sender {
        Sender { pool, conn: None }
    }

    /// Sends `payloads` on `channel` to every listening node, in order,
    /// in one statement (one round trip and one commit however many). A
    /// kept connection that fails (the server ended it, say) is dropped
    /// and the send tried once more on a fresh one, as the pool's ping
    /// would have done: only a database that cannot take it fails the send.
    pub async fn send(&mut self, channel: &str, payloads: &[String]) -> Result<(), sqlx::Error> {
        if let Some(conn) = &mut self.conn {
            if notify(conn, channel, payloads).await.is_ok() {
                return Ok(());
            }
            self.conn = None;
        }
        let conn = self.conn.insert(self.pool.acquire().await?);
        let sent = notify(conn, channel, payloads).await;
        if sent.is_err() {
            self.conn = None;
        }
        sent
    }
}

/// The function scan hands the array out in order, and each row's
/// `pg_notify` queues in that order.
async fn notify(
    conn: &mut PoolConnection<Postgres>,
    channel: &str,
    payloads: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
        .bind(channel)
        .bind(payloads)
        .execute(&mut **conn)
        .await
        .map(drop)
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

/// How many connections to this database are named like a node's
/// listener (`application_name` starting with `prefix`), this node's own
/// included. Postgres shows every session's name to every user.
pub async fn listeners(pool: &PgPool, prefix: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND starts_with(application_name, $1)",
    )
    .bind(prefix)
    .fetch_one(pool)
    .await
}
