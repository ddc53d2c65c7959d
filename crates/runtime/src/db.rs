//! The one database pool setup: connect (waiting for the server to come
//! up), then apply the service's own migrations.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

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
/// together are safe.
pub async fn open(
    url: &str,
    max_connections: u32,
    migrator: &Migrator,
    wait: Duration,
) -> Result<PgPool, DbError> {
    let deadline = tokio::time::Instant::now() + wait;
    let pool = loop {
        let attempt = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await;
        match attempt {
            Ok(pool) => break pool,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(DbError::Connect(e)),
        }
    };
    migrator.run(&pool).await?;
    Ok(pool)
}
