//! The one database pool setup: connect (waiting for the server to come
//! up), apply the service's own migrations as the connecting user, then
//! hand out connections that act as the unprivileged application role.
//!
//! Row-level security is the second lock on tenant data (the first is the
//! `WHERE tenant_id = $1` in every query): every tenant table has a policy
//! that shows a transaction only the rows of the tenant it declared with
//! [`tenant_tx`]. A query that forgets to declare one sees nothing.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The role every pooled connection switches to. It owns nothing, has no
/// BYPASSRLS, and may only append to the audit trail; the migrations
/// create it and grant it exactly what the services need.
pub const APP_ROLE: &str = "bf_app";

/// The setting the row-level security policies compare `tenant_id` with.
const TENANT_SETTING: &str = "bf.tenant_id";

/// The setting that opens every tenant's rows, for the few jobs whose
/// work spans tenants (outbox relay, retention, the ops view). Named so a
/// reader sees the exception where it is taken.
const SYSTEM_SETTING: &str = "bf.system";

/// A transaction whose row-level security scope is set.
pub type ScopedTx = Transaction<'static, Postgres>;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens a pool, retrying for up to `wait` while the server starts, and
/// migrates it. Migrations take an advisory lock, so replicas starting
/// together are safe. They run on their own connection as the connecting
/// user; the pool's connections then `SET ROLE` to [`APP_ROLE`], so even a
/// superuser URL cannot bypass row-level security by accident.
pub async fn open(
    url: &str,
    max_connections: u32,
    migrator: &Migrator,
    wait: Duration,
) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url).map_err(DbError::Connect)?;
    let mut owner = connect_with_retry(&options, wait).await?;
    migrator.run(&mut owner).await?;
    let _ = owner.close().await;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(format!("SET ROLE {APP_ROLE}").as_str())
                    .await
                    .map(|_| ())
            })
        })
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

async fn connect_with_retry(
    options: &PgConnectOptions,
    wait: Duration,
) -> Result<PgConnection, DbError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match PgConnection::connect_with(options).await {
            Ok(conn) => return Ok(conn),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(DbError::Connect(e)),
        }
    }
}

/// Begins a transaction that sees and may write only `tenant`'s rows.
/// Every request handler and every worker that knows its tenant uses it.
pub async fn tenant_tx(pool: &PgPool, tenant: &str) -> Result<ScopedTx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(TENANT_SETTING)
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Begins a transaction that sees every tenant's rows. Only for work that
/// is across tenants by nature and reads no row data on a caller's behalf:
/// the outbox relay, retention, the ops view and its metrics.
pub async fn system_tx(pool: &PgPool) -> Result<ScopedTx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config($1, 'on', true)")
        .bind(SYSTEM_SETTING)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
