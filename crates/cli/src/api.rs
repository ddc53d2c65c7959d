//! The gateway's JSON shapes, as far as `bfctl` reads them. Every field is
//! defaulted so a gateway that adds or omits a field does not break the
//! CLI; `--json` output bypasses these types and prints the body verbatim.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Statuses after which an import will not change until someone acts.
pub const REVIEWABLE: &[&str] = &["ready_for_review", "completed", "failed", "voided"];
/// Statuses after which an import will not change at all (or only by void).
pub const SETTLED: &[&str] = &["completed", "failed", "voided"];
/// The status of an import whose processing broke; `bfctl` exits 3 on it.
pub const FAILED: &str = "failed";

/// One uploaded file and what became of it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Import {
    /// Server-assigned id, used by every other import command.
    pub id: String,
    /// Lifecycle state, e.g. `queued`, `ready_for_review`, `completed`.
    pub status: String,
    /// Base name of the uploaded file.
    pub file_name: Option<String>,
    /// Size of the upload in bytes.
    pub size_bytes: Option<u64>,
    /// Hex SHA-256 of the upload, to tell re-uploads apart.
    pub sha256: Option<String>,
    /// Row counts by outcome.
    pub counts: Counts,
    /// Money totals over valid rows, as decimal strings.
    pub totals: Totals,
    /// Processing progress, 0..1.
    pub progress: Option<f64>,
    /// Why processing failed, when status is `failed`.
    pub failure: Option<String>,
    /// User who uploaded.
    pub uploaded_by: Option<String>,
    /// When it was uploaded (RFC 3339).
    pub uploaded_at: Option<String>,
    /// User who approved (saved) it.
    pub approved_by: Option<String>,
    /// When it was approved.
    pub approved_at: Option<String>,
    /// Date of service given to the claims created from it.
    pub date_of_service: Option<String>,
    /// Number of Balance Forward claims created.
    pub claims_created: Option<u64>,
    /// When claim creation finished.
    pub completed_at: Option<String>,
    /// User who voided it.
    pub voided_by: Option<String>,
    /// When it was voided.
    pub voided_at: Option<String>,
}

/// Row counts by validation outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// All data rows in the file.
    pub total: u64,
    /// Rows that will become claims.
    pub valid: u64,
    /// Rows that will become claims but deserve a look.
    pub flagged: u64,
    /// Rows that cannot become claims.
    pub invalid: u64,
    /// Rows deliberately ignored (e.g. zero balances).
    pub skipped: u64,
}

/// Money totals, kept as the gateway's decimal strings so nothing is lost
/// to floating point.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Sum of patient responsibility.
    pub patient_balance: Option<String>,
    /// Sum of insurance responsibility.
    pub insurance_balance: Option<String>,
}

/// `202` answer to an upload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Accepted {
    /// The new import's id.
    pub id: String,
    /// Normally `queued`.
    pub status: String,
}

/// `GET /v1/imports`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImportList {
    /// Newest first.
    pub imports: Vec<Import>,
}

/// One page of `GET /v1/imports/{id}/rows`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RowsPage {
    /// Rows in line order.
    pub rows: Vec<Row>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<u64>,
}

/// One data row of an import and its problems.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: u64,
    /// `valid`, `flagged`, `invalid` or `skipped`.
    pub status: String,
    /// Cell values keyed by canonical column name.
    pub values: Map<String, Value>,
    /// Parsed patient balance, if it parsed.
    pub patient_balance: Option<String>,
    /// Parsed insurance balance, if it parsed.
    pub insurance_balance: Option<String>,
    /// Matched patient, if any.
    pub patient_id: Option<String>,
    /// Why the row is not simply valid.
    pub problems: Vec<Problem>,
}

/// One thing wrong with a row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Problem {
    /// Machine-readable code.
    pub code: String,
    /// Column it concerns; absent or empty for the whole row.
    pub column: Option<String>,
    /// Human explanation.
    pub message: String,
}

/// `GET /v1/patients/{id}/claims`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PatientClaims {
    /// The patient asked about.
    pub patient_id: String,
    /// Their Balance Forward claims.
    pub claims: Vec<Claim>,
}

/// One Balance Forward claim.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Claim {
    /// Claim id.
    pub claim_id: String,
    /// Always `balance_forward` today.
    pub kind: String,
    /// Service code, `BF`.
    pub service_code: String,
    /// Date of service.
    pub date_of_service: String,
    /// Amount as a decimal string.
    pub amount: String,
    /// `patient` or `insurance`.
    pub responsibility: String,
    /// `active` or `voided`.
    pub status: String,
    /// Import the claim came from (none for claims made elsewhere).
    pub import_id: Option<String>,
    /// Line in that import's file.
    pub line: Option<u64>,
    /// Optional external reference.
    pub reference: Option<String>,
}

/// `GET/PUT /v1/tenant/settings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The tenant the token belongs to.
    pub tenant_id: String,
    /// IANA time zone used to interpret dates.
    pub time_zone: String,
}

/// `POST /v1/patients` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Upserted {
    /// Patients inserted or updated by this request.
    pub upserted: u64,
}
