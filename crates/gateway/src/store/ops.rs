//! Across tenants, for operators: what is running, how fast, and what is
//! stuck. Ids, states, counts and times only; never row data.

use super::imports::{BYTES_PARSED, LAST_ACTIVITY, ROWS_RECORDED};
use bf_runtime::db;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// One import as ops sees it.
#[derive(Debug, sqlx::FromRow)]
pub struct OpsImport {
    pub import_id: Uuid,
    pub tenant_id: String,
    pub status: String,
    pub rows_done: i64,
    pub rows_total: Option<i64>,
    pub bytes_parsed: i64,
    pub size_bytes: i64,
    pub uploaded_at: DateTime<Utc>,
    pub state_since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub failure: Option<String>,
    pub trace_context: Option<serde_json::Value>,
}

/// Imports that are running or finished in the last `recent_hours`.
pub async fn imports(
    pool: &PgPool,
    recent_hours: i32,
    limit: i64,
) -> Result<Vec<OpsImport>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let sql = format!(
        "SELECT import_id, tenant_id, status,
                CASE WHEN status IN ('approving', 'completed') OR approved_at IS NOT NULL
                     THEN claims_submitted::bigint ELSE ({ROWS_RECORDED})::bigint END AS rows_done,
                CASE WHEN status IN ('approving', 'completed') OR approved_at IS NOT NULL
                     THEN count_valid::bigint
                     WHEN status IN ('queued', 'parsing') THEN NULL
                     ELSE count_total::bigint END AS rows_total,
                {BYTES_PARSED} AS bytes_parsed, size_bytes, uploaded_at,
                COALESCE((SELECT max(t.at) FROM import_transitions t WHERE t.import_id = imports.import_id), uploaded_at) AS state_since,
                {LAST_ACTIVITY} AS updated_at, failure, trace_context
           FROM imports
          WHERE status IN ('queued', 'parsing', 'approving')
             OR updated_at > now() - make_interval(hours => $1)
          ORDER BY updated_at DESC
          LIMIT $2"
    );
    let found = sqlx::query_as(&sql)
        .bind(recent_hours)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}

/// Running imports that have not moved for `stall_after_secs`.
pub async fn stalled_count(pool: &PgPool, stall_after_secs: i64) -> Result<i64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let sql = format!(
        "SELECT count(*) FROM imports
          WHERE status IN ('queued', 'parsing', 'approving')
            AND {LAST_ACTIVITY} < now() - make_interval(secs => $1::double precision)"
    );
    let found = sqlx::query_scalar(&sql)
        .bind(stall_after_secs)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}

/// How many imports are in each state, across tenants (a gauge).
pub async fn status_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let found = sqlx::query_as("SELECT status, count(*) FROM imports GROUP BY status")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}

/// Messages written but not yet published, across tenants (a gauge).
pub async fn outbox_backlog(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let found = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}
