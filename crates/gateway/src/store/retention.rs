//! Retention: once an import is finished (completed, voided or failed) for
//! longer than the retention period, its staged rows are deleted. The
//! import itself stays: ids, counts, totals, who did what and when.

use bf_runtime::db;
use sqlx::PgPool;
use uuid::Uuid;

/// An import whose rows and file are due for deletion.
#[derive(Debug, sqlx::FromRow)]
pub struct Due {
    pub import_id: Uuid,
    pub tenant_id: String,
    pub object_key: String,
}

/// Up to `limit` finished imports older than `keep_secs`, across tenants
/// (retention is the operator's policy, not a tenant's request).
pub async fn due(pool: &PgPool, keep_secs: i64, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let found = sqlx::query_as(
        "SELECT import_id, tenant_id, object_key FROM imports
          WHERE purged_at IS NULL AND status IN ('completed', 'voided', 'failed')
            AND COALESCE(voided_at, completed_at, updated_at)
                < now() - make_interval(secs => $1::double precision)
          ORDER BY updated_at LIMIT $2",
    )
    .bind(keep_secs)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// Deletes the import's staged rows and batch marks and records when, in
/// the tenant's scope. False when another sweeper got there first or the
/// import moved on (e.g. a failed Save was retried).
pub async fn purge_rows(pool: &PgPool, due: &Due) -> Result<bool, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, &due.tenant_id).await?;
    let still_due: Option<Uuid> = sqlx::query_scalar(
        "SELECT import_id FROM imports
          WHERE tenant_id = $1 AND import_id = $2 AND purged_at IS NULL
            AND status IN ('completed', 'voided', 'failed')
          FOR UPDATE SKIP LOCKED",
    )
    .bind(&due.tenant_id)
    .bind(due.import_id)
    .fetch_optional(&mut *tx)
    .await?;
    if still_due.is_none() {
        return Ok(false);
    }
    super::rows::delete_staged(&mut tx, due.import_id).await?;
    sqlx::query("UPDATE imports SET purged_at = now() WHERE import_id = $1")
        .bind(due.import_id)
        .execute(&mut *tx)
        .await?;
    let entry = super::audit::Entry {
        actor: "retention",
        action: super::audit::Action::Purge,
        import_id: Some(due.import_id),
        remote_addr: None,
        details: serde_json::json!({}),
    };
    super::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(true)
}
