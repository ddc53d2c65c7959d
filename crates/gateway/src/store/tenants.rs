//! Tenants and their settings.

use bf_runtime::db;
use sqlx::PgPool;

/// Makes sure the tenant exists: a tenant comes into being with its first
/// authenticated call.
pub async fn ensure(pool: &PgPool, tenant: &str) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    sqlx::query("INSERT INTO tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The tenant's IANA time zone.
pub async fn time_zone(pool: &PgPool, tenant: &str) -> Result<String, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_scalar("SELECT time_zone FROM tenants WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}

/// Changes the tenant's time zone (already validated).
pub async fn set_time_zone(
    pool: &PgPool,
    tenant: &str,
    time_zone: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    sqlx::query("UPDATE tenants SET time_zone = $2, updated_at = now() WHERE tenant_id = $1")
        .bind(tenant)
        .bind(time_zone)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The settings rows are judged by.
#[derive(Debug, sqlx::FromRow)]
pub struct Settings {
    pub time_zone: String,
    pub balance_ceiling: rust_decimal::Decimal,
}

/// The tenant's settings.
pub async fn settings(pool: &PgPool, tenant: &str) -> Result<Settings, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found =
        sqlx::query_as("SELECT time_zone, balance_ceiling FROM tenants WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(found)
}

/// Changes the balance above which rows are flagged (already validated).
pub async fn set_balance_ceiling(
    pool: &PgPool,
    tenant: &str,
    ceiling: rust_decimal::Decimal,
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    sqlx::query("UPDATE tenants SET balance_ceiling = $2, updated_at = now() WHERE tenant_id = $1")
        .bind(tenant)
        .bind(ceiling)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
