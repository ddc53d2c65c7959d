//! Dead letters parked for operators: what the broker gave up on, kept
//! with its payload so it can be put back on its work queue once the cause
//! is fixed. Listing shows ids, queues, counts and reasons, never payloads.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A dead letter as the watcher received it.
pub struct NewDeadLetter<'a> {
    pub queue: &'a str,
    /// Empty when the publisher set none; the payload's digest stands in.
    pub message_id: &'a str,
    pub kind: &'a str,
    pub payload: &'a [u8],
    pub tenant_id: Option<&'a str>,
    pub import_id: Option<Uuid>,
    pub death_reason: &'a str,
}

/// Parks a dead letter; false when it is already parked (a redelivery).
pub async fn park(conn: &mut PgConnection, new: &NewDeadLetter<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO dead_letters (queue, message_id, kind, payload, tenant_id, import_id, death_reason)
         VALUES ($1, COALESCE(NULLIF($2, ''), md5($4)), $3, $4, $5, $6, $7)
         ON CONFLICT (queue, message_id) WHERE requeued_at IS NULL DO NOTHING",
    )
    .bind(new.queue)
    .bind(new.message_id)
    .bind(new.kind)
    .bind(new.payload)
    .bind(new.tenant_id)
    .bind(new.import_id)
    .bind(new.death_reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Parked dead letters of one queue and import, for operators.
#[derive(Debug, sqlx::FromRow)]
pub struct ParkedGroup {
    pub queue: String,
    pub tenant_id: Option<String>,
    pub import_id: Option<Uuid>,
    pub count: i64,
    pub death_reason: String,
    /// The import's failure as its users see it.
    pub failure: Option<String>,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Every parked dead letter, grouped by queue and import, oldest first.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<ParkedGroup>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.queue, d.tenant_id, d.import_id, count(*) AS count,
                max(d.death_reason) AS death_reason, max(i.failure) AS failure,
                min(d.dead_lettered_at) AS first_at, max(d.dead_lettered_at) AS last_at
           FROM dead_letters d LEFT JOIN imports i ON i.import_id = d.import_id
          WHERE d.requeued_at IS NULL
          GROUP BY d.queue, d.tenant_id, d.import_id
          ORDER BY min(d.dead_lettered_at), d.queue",
    )
    .fetch_all(conn)
    .await
}

/// A parked dead letter taken for requeueing.
#[derive(Debug, sqlx::FromRow)]
pub struct Parked {
    pub id: i64,
    pub queue: String,
    pub message_id: String,
    pub kind: String,
    pub payload: Vec<u8>,
    pub tenant_id: Option<String>,
    pub import_id: Option<Uuid>,
}

/// Locks the parked dead letters of one import (or all of them, when
/// `import` is `None`) for the caller's transaction, oldest first.
pub async fn take(
    conn: &mut PgConnection,
    import: Option<Uuid>,
) -> Result<Vec<Parked>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, queue, message_id, kind, payload, tenant_id, import_id FROM dead_letters
          WHERE requeued_at IS NULL AND ($1::uuid IS NULL OR import_id = $1)
          ORDER BY id FOR UPDATE",
    )
    .bind(import)
    .fetch_all(conn)
    .await
}

/// Marks dead letters requeued, by whom.
pub async fn mark_requeued(
    conn: &mut PgConnection,
    ids: &[i64],
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE dead_letters SET requeued_at = now(), requeued_by = $2 WHERE id = ANY($1)")
        .bind(ids)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}
