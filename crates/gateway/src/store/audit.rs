//! The audit trail: who did what to a tenant's data, when, and from
//! where. Append-only: the application's role may insert and read, never
//! change or delete (see migrations/gateway/0007).

use bf_runtime::db;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// What was done. The names are the `action` column's values and part of
/// the API (`GET /v1/audit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A file was uploaded and queued.
    Upload,
    /// Save: the claims job was queued, with the decisions taken.
    Approve,
    /// The import's claims were voided.
    Void,
    /// The error report (rows as they were in the file) was downloaded.
    ErrorReport,
    /// Patients were written to the directory.
    PatientsWrite,
    /// Retention deleted an import's rows and uploaded file.
    Purge,
}

impl Action {
    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upload => "import.upload",
            Action::Approve => "import.approve",
            Action::Void => "import.void",
            Action::ErrorReport => "import.error_report",
            Action::PatientsWrite => "patients.write",
            Action::Purge => "import.purged",
        }
    }
}

/// One thing done, as the caller's transaction records it.
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: Action,
    pub import_id: Option<Uuid>,
    pub remote_addr: Option<&'a str>,
    /// Ids, counts and choices only; never row data.
    pub details: serde_json::Value,
}

/// Appends an entry inside the caller's tenant-scoped transaction, so it
/// commits with the change it records (or not at all). The tenant comes
/// from the transaction's scope.
pub async fn record(conn: &mut PgConnection, entry: &Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (actor, action, import_id, remote_addr, details)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(entry.actor)
    .bind(entry.action.as_str())
    .bind(entry.import_id)
    .bind(entry.remote_addr)
    .bind(&entry.details)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an entry in a transaction of its own, for actions whose effect
/// is elsewhere (a download, a write in the claims service).
pub async fn record_alone(
    pool: &PgPool,
    tenant: &str,
    entry: &Entry<'_>,
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    record(&mut tx, entry).await?;
    tx.commit().await
}

/// An entry as `GET /v1/audit` shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Recorded {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub import_id: Option<Uuid>,
    pub remote_addr: Option<String>,
    pub details: serde_json::Value,
}

/// A tenant's entries, newest first, before the entry `before` (a cursor
/// that stays stable while new entries arrive).
pub async fn page(
    pool: &PgPool,
    tenant: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Recorded>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_as(
        "SELECT id, at, actor, action, import_id, remote_addr, details FROM audit_events
          WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2)
          ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}
