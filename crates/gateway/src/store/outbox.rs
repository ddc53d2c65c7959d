//! The transactional outbox: messages are written in the same transaction
//! as the state change they announce, and published later with confirms.

use bf_messaging::topology::{Queue, QUEUES};
use sqlx::{PgConnection, Postgres, Transaction};

/// A message waiting to be published.
#[derive(Debug, sqlx::FromRow)]
pub struct Pending {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub message_id: String,
    pub payload: Vec<u8>,
    /// The trace context of the request that wrote it.
    pub trace_context: Option<serde_json::Value>,
}

impl Pending {
    /// The work queue the message is for.
    pub fn queue(&self) -> Option<Queue> {
        QUEUES.into_iter().find(|q| q.name == self.queue)
    }
}

/// Adds a message inside the caller's transaction, with the current
/// span's trace context so its consumer continues the trace.
pub async fn add(
    conn: &mut PgConnection,
    queue: Queue,
    kind: &str,
    message_id: &str,
    payload: &[u8],
) -> Result<(), sqlx::Error> {
    let trace = serde_json::to_value(bf_runtime::trace_context::current()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO outbox (queue, kind, message_id, payload, trace_context) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(queue.name)
    .bind(kind)
    .bind(message_id)
    .bind(payload)
    .bind(trace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks up to `limit` unpublished messages, oldest first. Other relays
/// skip them, so each is published by one relay at a time.
pub async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    limit: i64,
) -> Result<Vec<Pending>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, queue, kind, message_id, payload, trace_context FROM outbox
          WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Marks messages published.
pub async fn mark_published(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes messages published longer ago than `days`: the outbox is a
/// queue, not an archive (the audit trail is `import_transitions`).
pub async fn prune(pool: &sqlx::PgPool, days: i32) -> Result<u64, sqlx::Error> {
    let mut tx = bf_runtime::db::system_tx(pool).await?;
    let done =
        sqlx::query("DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)")
            .bind(days)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
