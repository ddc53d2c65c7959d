//! Imports: creation, state transitions (each recorded with who and
//! when), progress and results.

use bf_domain::import::ImportStatus;
use bf_runtime::db;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// An import as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRecord {
    pub import_id: Uuid,
    pub tenant_id: String,
    pub status: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    pub header_mapping: Option<serde_json::Value>,
    pub bytes_parsed: i64,
    pub rows_recorded: i32,
    pub count_total: i32,
    pub count_valid: i32,
    pub count_flagged: i32,
    pub count_invalid: i32,
    pub count_skipped: i32,
    pub total_patient_balance: Decimal,
    pub total_insurance_balance: Decimal,
    pub failure: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub date_of_service: Option<NaiveDate>,
    pub approval_cursor: i32,
    pub claims_submitted: i32,
    pub completed_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub options: serde_json::Value,
    pub file_format: Option<String>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub expected_totals: Option<serde_json::Value>,
    pub decisions: Option<serde_json::Value>,
    pub file_totals: Option<serde_json::Value>,
    pub claims_refused: i32,
    pub trace_context: Option<serde_json::Value>,
    /// When retention deleted the staged rows and the uploaded file.
    pub purged_at: Option<DateTime<Utc>>,
}

impl ImportRecord {
    /// The trace this import's work continues (the upload's).
    pub fn trace(&self) -> bf_runtime::trace_context::Carrier {
        self.trace_context
            .clone()
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default()
    }

    /// The stored state; the CHECK constraint guarantees it parses.
    pub fn status(&self) -> ImportStatus {
        ImportStatus::parse(&self.status).unwrap_or(ImportStatus::Failed)
    }
}

/// What an upload knows about its import.
pub struct NewImport<'a> {
    pub import_id: Uuid,
    pub tenant_id: &'a str,
    pub file_name: &'a str,
    pub object_key: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub uploaded_by: &'a str,
    /// The resolved ParseOptions, as JSON.
    pub options: &'a serde_json::Value,
    /// The old system's totals the user entered, if any.
    pub expected_totals: Option<&'a serde_json::Value>,
}

/// How far a parse has got. Row events are recorded side by side (see
/// [`share_lock`]), so while an import parses its progress is read from its
/// recorded batches rather than from counters on the import row, which
/// every batch would have to lock; once parsed, the stored figures hold.
/// A failed import shows how far it got: from its batches, or what
/// [`rows::discard`](super::rows::discard) kept of them.
pub(crate) const BYTES_PARSED: &str = "CASE WHEN imports.status IN ('queued', 'parsing', 'failed')
    THEN GREATEST(imports.bytes_parsed,
        (SELECT COALESCE(max(b.bytes_read), 0) FROM import_batches b WHERE b.import_id = imports.import_id))
    ELSE imports.bytes_parsed END";
/// Rows recorded so far; see [`BYTES_PARSED`].
pub(crate) const ROWS_RECORDED: &str = "CASE WHEN imports.status IN ('queued', 'parsing', 'failed')
    THEN GREATEST(imports.rows_recorded,
        (SELECT COALESCE(sum(b.row_count), 0)::int FROM import_batches b WHERE b.import_id = imports.import_id))
    ELSE imports.rows_recorded END";
/// When the import last moved: a parse moves with every recorded batch.
pub(crate) const LAST_ACTIVITY: &str = "GREATEST(imports.updated_at,
    (SELECT max(b.recorded_at) FROM import_batches b WHERE b.import_id = imports.import_id))";

static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "import_id, tenant_id, status, file_name, size_bytes, sha256,
    uploaded_by, uploaded_at, header_mapping, {BYTES_PARSED} AS bytes_parsed, {ROWS_RECORDED} AS rows_recorded,
    count_total, count_valid, count_flagged, count_invalid, count_skipped,
    total_patient_balance, total_insurance_balance, failure, approved_by, approved_at,
    date_of_service, approval_cursor, claims_submitted, completed_at, voided_by, voided_at,
    updated_at, options, file_format, encoding, delimiter, expected_totals, decisions, file_totals, claims_refused, trace_context, purged_at"
    )
});

/// Creates a queued import and its first audit entry.
pub async fn create(conn: &mut PgConnection, new: &NewImport<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO imports (import_id, tenant_id, status, file_name, object_key, size_bytes,
                              sha256, uploaded_by, options, expected_totals, trace_context)
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new.import_id)
    .bind(new.tenant_id)
    .bind(new.file_name)
    .bind(new.object_key)
    .bind(new.size_bytes)
    .bind(new.sha256)
    .bind(new.uploaded_by)
    .bind(new.options)
    .bind(new.expected_totals)
    // The import's trace: Save and every job continue it.
    .bind(serde_json::to_value(bf_runtime::trace_context::current()).unwrap_or_default())
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        new.import_id,
        new.tenant_id,
        None,
        ImportStatus::Queued,
        new.uploaded_by,
        None,
    )
    .await
}

/// States in which an import is still using the workers.
const ACTIVE: &str = "('queued', 'parsing', 'approving')";

/// How many of a tenant's imports are queued, parsing or approving.
pub async fn count_active(pool: &PgPool, tenant: &str) -> Result<i64, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = active_in(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(found)
}

async fn active_in(conn: &mut PgConnection, tenant: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM imports WHERE tenant_id = $1 AND status IN {ACTIVE}"
    ))
    .bind(tenant)
    .fetch_one(conn)
    .await
}

/// Takes the tenant's upload lock for the rest of the transaction, then
/// counts its active imports: two uploads of one tenant cannot both see
/// room for one more.
pub async fn lock_and_count_active(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('active-imports:' || $1, 0))")
        .bind(tenant)
        .execute(&mut *conn)
        .await?;
    active_in(conn, tenant).await
}

/// One import of a tenant.
pub async fn get(
    pool: &PgPool,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ImportRecord>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_as(&format!(
        "SELECT {columns} FROM imports WHERE tenant_id = $1 AND import_id = $2",
        columns = COLUMNS.as_str()
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// One import, locked for the rest of the caller's transaction so that
/// concurrent consumers and requests change it one at a time.
pub async fn lock(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ImportRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {columns} FROM imports WHERE tenant_id = $1 AND import_id = $2 FOR UPDATE",
        columns = COLUMNS.as_str()
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The state of one import, share-locked for the rest of the caller's
/// transaction: row events of the same import are recorded side by side
/// under it, while a change of state ([`lock`]) waits for them, and they
/// for it. Only the state is read: a batch must not pay for the progress
/// figures, which are sums over the batches.
pub async fn share_lock(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ImportStatus>, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM imports WHERE tenant_id = $1 AND import_id = $2 FOR SHARE",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(status.map(|s| ImportStatus::parse(&s).unwrap_or(ImportStatus::Failed)))
}

/// A tenant's imports, newest first.
pub async fn list(
    pool: &PgPool,
    tenant: &str,
    limit: i64,
) -> Result<Vec<ImportRecord>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_as(&format!(
        "SELECT {columns} FROM imports WHERE tenant_id = $1
          ORDER BY uploaded_at DESC, import_id DESC LIMIT $2",
        columns = COLUMNS.as_str()
    ))
    .bind(tenant)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// Moves an import from the state the caller saw (under its lock) to a
/// new one, and records who did it and why.
pub async fn transition(
    conn: &mut PgConnection,
    record: &ImportRecord,
    to: ImportStatus,
    actor: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET status = $2, failure = COALESCE($3, failure), updated_at = now()
          WHERE import_id = $1",
    )
    .bind(record.import_id)
    .bind(to.as_str())
    .bind(if to == ImportStatus::Failed {
        reason
    } else {
        None
    })
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        record.import_id,
        &record.tenant_id,
        Some(record.status()),
        to,
        actor,
        reason,
    )
    .await
}

async fn audit(
    conn: &mut PgConnection,
    id: Uuid,
    tenant: &str,
    from: Option<ImportStatus>,
    to: ImportStatus,
    actor: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_transitions (import_id, tenant_id, from_status, to_status, actor, reason)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant)
    .bind(from.map(ImportStatus::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// How the validator read the file.
pub struct ReadAs<'a> {
    pub header_mapping: &'a serde_json::Value,
    pub file_format: &'a str,
    pub encoding: &'a str,
    pub delimiter: &'a str,
}

/// Records the header mapping the validator used and how it read the file.
pub async fn set_read_as(
    conn: &mut PgConnection,
    id: Uuid,
    read: &ReadAs<'_>,
) -> Result<(), sqlx::Error> {
    let blank = |s: &str| (!s.is_empty()).then(|| s.to_string());
    sqlx::query(
        "UPDATE imports SET header_mapping = $2, file_format = $3, encoding = $4, delimiter = $5,
                updated_at = now()
          WHERE import_id = $1",
    )
    .bind(id)
    .bind(read.header_mapping)
    .bind(blank(read.file_format))
    .bind(blank(read.encoding))
    .bind(blank(read.delimiter))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the user's decisions at Save.
pub async fn set_decisions(
    conn: &mut PgConnection,
    id: Uuid,
    decisions: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET decisions = $2, updated_at = now() WHERE import_id = $1")
        .bind(id)
        .bind(decisions)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records how many batches the validator sent in all.
pub async fn set_expected_batches(
    conn: &mut PgConnection,
    id: Uuid,
    batches: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET expected_batches = $2, updated_at = now() WHERE import_id = $1",
    )
    .bind(id)
    .bind(batches)
    .execute(conn)
    .await?;
    Ok(())
}

/// Results of a finished parse.
pub struct Summary {
    pub total: i64,
    pub valid: i64,
    pub flagged: i64,
    pub invalid: i64,
    pub skipped: i64,
    pub patient_balance: Decimal,
    pub insurance_balance: Decimal,
}

/// Stores the review's counts and totals.
pub async fn set_summary(
    conn: &mut PgConnection,
    id: Uuid,
    s: &Summary,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET count_total = $2, count_valid = $3, count_flagged = $4,
                count_invalid = $5, count_skipped = $6, total_patient_balance = $7,
                total_insurance_balance = $8, bytes_parsed = size_bytes, rows_recorded = $2,
                updated_at = now()
          WHERE import_id = $1",
    )
    .bind(id)
    .bind(s.total as i32)
    .bind(s.valid as i32)
    .bind(s.flagged as i32)
    .bind(s.invalid as i32)
    .bind(s.skipped as i32)
    .bind(s.patient_balance)
    .bind(s.insurance_balance)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records who approved, when, and the Date of Service the claims get.
pub async fn set_approval(
    conn: &mut PgConnection,
    id: Uuid,
    approved_by: &str,
    date_of_service: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET approved_by = $2, approved_at = now(), date_of_service = $3,
                failure = NULL, updated_at = now()
          WHERE import_id = $1",
    )
    .bind(id)
    .bind(approved_by)
    .bind(date_of_service)
    .execute(conn)
    .await?;
    Ok(())
}

/// Clears a failure before an approval is resumed.
pub async fn clear_failure(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET failure = NULL, updated_at = now() WHERE import_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that claims exist for every valid line up to `cursor`. The
/// submitter resumes after the cursor, so `submitted` is added once.
pub async fn advance_approval(
    pool: &PgPool,
    tenant: &str,
    id: Uuid,
    cursor: i32,
    submitted: i32,
    refused: &[i32],
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let moved = sqlx::query(
        "UPDATE imports SET approval_cursor = $2, claims_submitted = claims_submitted + $3,
                claims_refused = claims_refused + $4, updated_at = now()
          WHERE import_id = $1 AND approval_cursor < $2",
    )
    .bind(id)
    .bind(cursor)
    .bind(submitted - refused.len() as i32)
    .bind(refused.len() as i32)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() == 1 && !refused.is_empty() {
        super::rows::set_not_posted(&mut tx, tenant, id, refused, NOT_POSTED_EARLIER_CLAIM).await?;
    }
    tx.commit().await
}

/// Why a refused line was not posted, in the user's words.
pub const NOT_POSTED_EARLIER_CLAIM: &str = "Not posted: by the time of Save this patient had a Balance Forward claim from another import. Review it and import the difference if needed.";

/// Marks when the import's claims were all created.
pub async fn set_completed(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET completed_at = now(), updated_at = now() WHERE import_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records who voided the import.
pub async fn set_voided(conn: &mut PgConnection, id: Uuid, by: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET voided_by = $2, voided_at = now(), updated_at = now() WHERE import_id = $1")
        .bind(id)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

/// The state an import was in when it last failed, from its audit trail,
/// so a requeue can put it back there.
pub async fn failed_from(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ImportStatus>, sqlx::Error> {
    let from: Option<Option<String>> = sqlx::query_scalar(
        "SELECT from_status FROM import_transitions
          WHERE import_id = $1 AND to_status = 'failed' ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(from.flatten().as_deref().and_then(ImportStatus::parse))
}

/// Where an import's file is and how to read it: what a parse job needs.
#[derive(Debug, sqlx::FromRow)]
pub struct ParseSource {
    pub object_key: String,
    pub size_bytes: i64,
    pub options: serde_json::Value,
}

/// The parse source of one import, so its parse can be run again.
pub async fn parse_source(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ParseSource>, sqlx::Error> {
    sqlx::query_as("SELECT object_key, size_bytes, options FROM imports WHERE import_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}
