//! Named import profiles: a tenant's saved way of reading its old
//! system's export (mapping, date format, decimal style).

use bf_domain::options::ParseOptions;
use bf_runtime::db;
use sqlx::PgPool;

/// A profile's options.
pub async fn get(
    pool: &PgPool,
    tenant: &str,
    name: &str,
) -> Result<Option<ParseOptions>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let stored: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT options FROM import_profiles WHERE tenant_id = $1 AND name = $2",
    )
    .bind(tenant)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored.and_then(|v| serde_json::from_value(v).ok()))
}

/// Saves (or replaces) a profile: only the reading choices are kept.
pub async fn save(
    pool: &PgPool,
    tenant: &str,
    name: &str,
    options: &ParseOptions,
    by: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let kept = ParseOptions {
        mapping: options.mapping.clone(),
        date_format: options.date_format,
        decimal_style: options.decimal_style,
        ..ParseOptions::default()
    };
    sqlx::query(
        "INSERT INTO import_profiles (tenant_id, name, options, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, name) DO UPDATE
            SET options = EXCLUDED.options, updated_by = EXCLUDED.updated_by, updated_at = now()",
    )
    .bind(tenant)
    .bind(name)
    .bind(serde_json::to_value(&kept).unwrap_or_default())
    .bind(by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tenant's profiles, by name.
pub async fn list(
    pool: &PgPool,
    tenant: &str,
) -> Result<Vec<(String, serde_json::Value)>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_as(
        "SELECT name, options FROM import_profiles WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// Deletes a profile; false when there was none.
pub async fn delete(pool: &PgPool, tenant: &str, name: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let done = sqlx::query("DELETE FROM import_profiles WHERE tenant_id = $1 AND name = $2")
        .bind(tenant)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
