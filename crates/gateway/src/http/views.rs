//! The JSON shapes of the API. They are the public contract; the OpenAPI
//! document is generated from these types.

use crate::store::rows::RowRecord;
use crate::store::ImportRecord;
use bf_domain::import::ImportStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// Rows by what will happen to them.
#[derive(Serialize, ToSchema)]
pub struct Counts {
    pub total: i32,
    pub valid: i32,
    pub flagged: i32,
    pub invalid: i32,
    pub skipped: i32,
}

/// Sums over the rows that will import, as decimal strings.
#[derive(Serialize, ToSchema)]
pub struct Totals {
    #[schema(example = "1234.50")]
    pub patient_balance: String,
    #[schema(example = "0.00")]
    pub insurance_balance: String,
}

/// An import, as the review and the CLI show it.
#[derive(Serialize, ToSchema)]
pub struct ImportView {
    pub id: Uuid,
    /// queued | parsing | ready_for_review | approving | completed | failed | voided
    pub status: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub counts: Counts,
    pub totals: Totals,
    /// Progress of the current job, 0 to 1: bytes parsed while parsing,
    /// claims created while approving.
    pub progress: f64,
    /// Rows validated and recorded so far.
    pub rows_processed: i32,
    pub failure: Option<String>,
    /// Each header as written, with the template column it was read as ("" = ignored).
    #[schema(value_type = Option<Vec<Object>>)]
    pub header_mapping: Option<serde_json::Value>,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The BF claims' Date of Service: the approval day in the tenant's time zone.
    pub date_of_service: Option<NaiveDate>,
    /// Lines that have their BF claim.
    pub claims_created: i32,
    /// Lines Save refused because the patient had a BF claim from another import by then.
    pub claims_refused: i32,
    pub completed_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
    /// When retention deleted the rows and the uploaded file (the import's
    /// counts, totals and history stay).
    pub purged_at: Option<DateTime<Utc>>,
    /// When the import last changed state or progressed.
    pub updated_at: DateTime<Utc>,
    /// csv | xlsx, once read.
    pub file_format: Option<String>,
    /// The text encoding detected (text files).
    pub encoding: Option<String>,
    /// The delimiter detected (text files).
    pub delimiter: Option<String>,
    /// How the file was read: mapping, date_format, decimal_style, balance_ceiling.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// The old system's totals beside the file's, with the difference.
    pub reconciliation: Option<Reconciliation>,
    /// The decisions taken at Save.
    #[schema(value_type = Option<Object>)]
    pub decisions: Option<serde_json::Value>,
}

/// The old system's totals (as entered at upload) beside the file's own.
#[derive(Serialize, ToSchema)]
pub struct Reconciliation {
    #[schema(value_type = Object)]
    pub expected: serde_json::Value,
    #[schema(value_type = Object)]
    pub file: serde_json::Value,
    /// file − expected, for each total that was entered.
    #[schema(value_type = Object)]
    pub difference: serde_json::Value,
}

fn reconcile(
    expected: Option<serde_json::Value>,
    file: Option<serde_json::Value>,
) -> Option<Reconciliation> {
    let expected = expected?;
    let file = file.unwrap_or_default();
    let dec = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| rust_decimal::Decimal::from_str_exact(s).ok())
    };
    let mut difference = serde_json::Map::new();
    for key in ["patient_balance", "credit_total"] {
        if let (Some(e), Some(f)) = (dec(&expected[key]), dec(&file[key])) {
            difference.insert(
                key.into(),
                serde_json::json!(bf_domain::money::normalize(f - e).to_string()),
            );
        }
    }
    if let (Some(e), Some(f)) = (
        expected["patient_count"].as_i64(),
        file["patient_count"].as_i64(),
    ) {
        difference.insert("patient_count".into(), serde_json::json!(f - e));
    }
    Some(Reconciliation {
        expected,
        file,
        difference: serde_json::Value::Object(difference),
    })
}

impl From<ImportRecord> for ImportView {
    fn from(r: ImportRecord) -> Self {
        let progress = progress(&r);
        ImportView {
            id: r.import_id,
            status: r.status,
            file_name: r.file_name,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            counts: Counts {
                total: r.count_total,
                valid: r.count_valid,
                flagged: r.count_flagged,
                invalid: r.count_invalid,
                skipped: r.count_skipped,
            },
            totals: Totals {
                patient_balance: bf_domain::money::normalize(r.total_patient_balance).to_string(),
                insurance_balance: bf_domain::money::normalize(r.total_insurance_balance)
                    .to_string(),
            },
            progress,
            rows_processed: r.rows_recorded,
            failure: r.failure,
            header_mapping: r.header_mapping,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
            approved_by: r.approved_by,
            approved_at: r.approved_at,
            date_of_service: r.date_of_service,
            claims_created: r.claims_submitted,
            claims_refused: r.claims_refused,
            completed_at: r.completed_at,
            voided_by: r.voided_by,
            voided_at: r.voided_at,
            purged_at: r.purged_at,
            updated_at: r.updated_at,
            file_format: r.file_format,
            encoding: r.encoding,
            delimiter: r.delimiter,
            options: r.options,
            reconciliation: reconcile(r.expected_totals, r.file_totals),
            decisions: r.decisions,
        }
    }
}

fn progress(r: &ImportRecord) -> f64 {
    let ratio = |done: f64, of: f64| {
        if of <= 0.0 {
            1.0
        } else {
            (done / of).clamp(0.0, 1.0)
        }
    };
    match ImportStatus::parse(&r.status) {
        Some(ImportStatus::Queued) => 0.0,
        // Parsing ends with recording; hold back the last percent for it.
        Some(ImportStatus::Parsing) => ratio(r.bytes_parsed as f64, r.size_bytes as f64) * 0.99,
        Some(ImportStatus::Approving) => ratio(r.claims_submitted as f64, r.count_valid as f64),
        Some(ImportStatus::Failed) if r.approved_at.is_some() => {
            ratio(r.claims_submitted as f64, r.count_valid as f64)
        }
        Some(ImportStatus::Failed) => ratio(r.bytes_parsed as f64, r.size_bytes as f64),
        _ => 1.0,
    }
}

/// The tenant's imports, newest first.
#[derive(Serialize, ToSchema)]
pub struct ImportList {
    pub imports: Vec<ImportView>,
}

/// The answer to an upload.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub id: Uuid,
    pub status: String,
}

/// One problem on a row.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProblemView {
    pub code: String,
    /// Template column, or "" for the whole row.
    pub column: String,
    pub message: String,
}

/// One row of an import, as the review shows it.
#[derive(Serialize, ToSchema)]
pub struct RowView {
    /// The file's line number (the header is line 1).
    pub line: i32,
    pub status: String,
    /// Cells as read, by template column.
    pub values: BTreeMap<String, String>,
    pub patient_balance: Option<String>,
    pub insurance_balance: Option<String>,
    /// The directory patient the row matched.
    pub patient_id: Option<String>,
    pub problems: Vec<ProblemView>,
    /// Parsed values by column: amounts to 2 places, dates as YYYY-MM-DD.
    pub normalized: BTreeMap<String, String>,
    /// The patient's earlier active BF claims (amounts, date, import), beside the new balance.
    #[schema(value_type = Option<Object>)]
    pub prior: Option<serde_json::Value>,
    /// A flagged row that Save posts.
    pub accepted: bool,
    /// Why Save did not post this row, when it refused it.
    pub not_posted: Option<String>,
}

impl From<RowRecord> for RowView {
    fn from(r: RowRecord) -> Self {
        RowView {
            line: r.line,
            status: r.status,
            values: serde_json::from_value(r.cells).unwrap_or_default(),
            patient_balance: r.patient_balance.map(|d| d.to_string()),
            insurance_balance: r.insurance_balance.map(|d| d.to_string()),
            patient_id: r.matched_patient_id,
            problems: serde_json::from_value(r.problems).unwrap_or_default(),
            normalized: serde_json::from_value(r.normalized).unwrap_or_default(),
            prior: r.prior,
            accepted: r.accepted,
            not_posted: r.not_posted,
        }
    }
}

/// A page of rows; pass `next_after` as `after` for the next page.
#[derive(Serialize, ToSchema)]
pub struct RowPage {
    pub rows: Vec<RowView>,
    pub next_after: Option<i32>,
}

/// A patient of the practice's directory.
#[derive(Deserialize, ToSchema)]
pub struct PatientInput {
    pub patient_id: String,
    #[serde(default)]
    pub patient_account_number: String,
    pub last_name: String,
    pub first_name: String,
    /// YYYY-MM-DD
    pub date_of_birth: String,
}

/// How many patients were inserted or updated.
#[derive(Serialize, ToSchema)]
pub struct PatientsLoaded {
    pub upserted: u32,
}

/// One line of one claim in a patient's history.
#[derive(Serialize, ToSchema)]
pub struct ClaimEntry {
    pub claim_id: String,
    /// balance_forward
    pub kind: String,
    pub service_code: String,
    pub date_of_service: String,
    #[schema(example = "125.50")]
    pub amount: String,
    /// patient | insurance
    pub responsibility: String,
    /// active | voided
    pub status: String,
    pub import_id: Option<String>,
    /// The import file's line this claim came from.
    pub line: Option<u32>,
    pub reference: Option<String>,
    pub provider_npi: Option<String>,
    pub location: Option<String>,
    /// The oldest unpaid service in the balance, so aging is not reset.
    pub oldest_service_date: Option<String>,
    pub balance_as_of: Option<String>,
    /// 0-30, 31-60, 61-90, 91-120, over 120 days; absent when the file had none.
    pub aging: Option<Vec<String>>,
}

/// A patient's claim history, newest first.
#[derive(Serialize, ToSchema)]
pub struct ClaimHistory {
    pub patient_id: String,
    pub claims: Vec<ClaimEntry>,
}

/// A tenant's settings.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TenantSettings {
    #[serde(default)]
    pub tenant_id: String,
    /// IANA time zone; the Date of Service of BF claims is computed in it.
    #[schema(example = "America/New_York")]
    pub time_zone: String,
    /// A balance above this is flagged in review (decimal string).
    #[serde(default)]
    #[schema(example = "100000.00")]
    pub balance_ceiling: Option<String>,
}

/// What Save posts: claims and totals.
#[derive(Serialize, ToSchema)]
pub struct PostingTotals {
    pub claims: i64,
    /// Distinct patients the claims are for.
    pub patients: i64,
    pub patient_balance: String,
    pub insurance_balance: String,
}

/// What Save would post before and after the user's decisions.
#[derive(Serialize, ToSchema)]
pub struct Posting {
    /// Valid rows only, nothing for patients with an earlier BF claim.
    pub before: PostingTotals,
    /// With the decisions asked about.
    pub after: PostingTotals,
}

/// A saved way of reading an export.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImportProfile {
    #[serde(default)]
    pub name: String,
    /// File header → template column ("" ignores it).
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// iso | month_day_year | day_month_year
    pub date_format: Option<String>,
    /// dot | comma
    pub decimal_style: Option<String>,
}

/// One entry of the practice's audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The user (the token's `sub`).
    pub actor: String,
    /// `import.upload`, `import.approve`, `import.void`,
    /// `import.error_report` or `patients.write`.
    pub action: String,
    pub import_id: Option<Uuid>,
    /// The peer address, and any `X-Forwarded-For` a proxy passed on.
    pub remote_addr: Option<String>,
    /// Ids, counts and choices (e.g. Save's decisions); never row data.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of the audit trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<i64>,
}
