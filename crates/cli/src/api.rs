//! The gateway's JSON shapes, as far as `bfctl` reads them. Every field is
//! defaulted so a gateway that adds or omits a field does not break the
//! CLI; `--json` output bypasses these types and prints the body verbatim.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
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
    /// `csv` or `xlsx`, once the file has been read.
    pub file_format: Option<String>,
    /// Text encoding detected, e.g. "UTF-8 with BOM" (text files only).
    pub encoding: Option<String>,
    /// Field delimiter detected, e.g. "," or "\t" (text files only).
    pub delimiter: Option<String>,
    /// How each header was read: `[{"header","column"}]`, column "" for an
    /// ignored one. Kept loose (see [`crate::mapping::read_as`]) because
    /// the gateway's schema has described it two ways.
    pub header_mapping: Option<Value>,
    /// The reading options in effect (mapping, date format, decimal style,
    /// balance ceiling).
    pub options: Option<Map<String, Value>>,
    /// Rows validated and recorded so far.
    pub rows_processed: Option<u64>,
    /// The old system's totals beside the file's, when any were entered.
    pub reconciliation: Option<Reconciliation>,
    /// The decisions taken at Save (accepted flagged rows, earlier BF).
    pub decisions: Option<Value>,
}

/// The old system's totals (entered at upload) beside the file's own.
/// Values are decimal strings, or numbers for `patient_count`, or `null`
/// for a total that was not entered; they are shown, never computed on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reconciliation {
    /// What the old system said.
    pub expected: Map<String, Value>,
    /// What the file adds up to.
    pub file: Map<String, Value>,
    /// file − expected, for each total that was entered.
    pub difference: Map<String, Value>,
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
    /// Parsed values by column: amounts to 2 places, dates as YYYY-MM-DD.
    pub normalized: Map<String, Value>,
    /// The patient's earlier active Balance Forward claims, if any.
    pub prior: Option<Prior>,
    /// A flagged row that Save will post.
    pub accepted: bool,
}

/// A patient's earlier Balance Forward, shown beside the new balance so the
/// reviewer can choose skip / post the difference / post in full.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Prior {
    /// Earlier patient-responsibility amount.
    #[serde(deserialize_with = "text")]
    pub patient_amount: Option<String>,
    /// Earlier insurance-responsibility amount.
    #[serde(deserialize_with = "text")]
    pub insurance_amount: Option<String>,
    /// Date of service of the earlier claims.
    pub date_of_service: Option<String>,
    /// Import that created them.
    pub import_id: Option<String>,
    /// How many claims that was.
    pub claims: Option<u64>,
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
    /// Rendering provider's NPI, when the file had one.
    pub provider_npi: Option<String>,
    /// Practice location, when the file had one.
    pub location: Option<String>,
    /// Oldest unpaid service in the balance, so aging is not reset.
    pub oldest_service_date: Option<String>,
    /// Date the old system computed the balance.
    pub balance_as_of: Option<String>,
    /// Aging buckets 0-30, 31-60, 61-90, 91-120, 120+ days, as decimal
    /// strings; absent when the file had none.
    pub aging: Option<Vec<String>>,
}

/// `GET/PUT /v1/tenant/settings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The tenant the token belongs to.
    pub tenant_id: String,
    /// IANA time zone used to interpret dates.
    pub time_zone: String,
    /// A balance above this is flagged in review (decimal string).
    pub balance_ceiling: Option<String>,
}

/// What Save posts: claim count and totals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PostingTotals {
    /// Balance Forward claims.
    pub claims: u64,
    /// Patient-responsibility total, decimal string.
    pub patient_balance: String,
    /// Insurance-responsibility total, decimal string.
    pub insurance_balance: String,
}

/// `GET /v1/imports/{id}/posting`: Save's effect without and with the
/// decisions asked about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Posting {
    /// Valid rows only, nothing for patients with an earlier BF.
    pub before: PostingTotals,
    /// With the decisions asked about.
    pub after: PostingTotals,
}

/// One saved import profile (`GET /v1/import-profiles`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The name given at `profile=NAME`.
    pub name: String,
    /// File header → template column ("" ignores the column).
    pub mapping: BTreeMap<String, String>,
    /// `iso`, `month_day_year` or `day_month_year`; detected when `None`.
    pub date_format: Option<String>,
    /// `dot` or `comma`.
    pub decimal_style: Option<String>,
}

/// `POST /v1/patients` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Upserted {
    /// Patients inserted or updated by this request.
    pub upserted: u64,
}

/// Statuses in which an import is still being worked on.
pub const RUNNING: &[&str] = &["queued", "parsing", "approving"];

/// `GET /v1/ops/imports` (role `ops`): running and recently finished
/// imports of every tenant, newest activity first.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OpsImports {
    /// Newest activity first.
    pub imports: Vec<OpsImport>,
}

/// One import as ops sees it: ids, states, counts and times, no patient
/// data. Floats are optional because JSON has no NaN: a gateway that
/// computed one sends `null`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OpsImport {
    /// Import id (a UUID).
    pub id: String,
    /// Tenant (practice) the import belongs to.
    pub tenant_id: String,
    /// Lifecycle state, e.g. `parsing`, `approving`, `failed`.
    pub status: String,
    /// Rows checked while parsing; claims created while approving.
    pub rows_done: i64,
    /// The total to reach, when known.
    pub rows_total: Option<i64>,
    /// 0..1.
    pub progress: Option<f64>,
    /// Pace since the current state began.
    pub rows_per_second: Option<f64>,
    /// Seconds since upload.
    pub age_seconds: i64,
    /// Seconds in the current state.
    pub in_state_seconds: i64,
    /// Running but no progress for too long.
    pub stalled: bool,
    /// Why it failed, when it did.
    pub last_error: Option<String>,
    /// W3C trace id of the import's trace.
    pub trace_id: Option<String>,
}

/// An amount that may arrive as a JSON string or number (decimal types are
/// not always serialized the same way); `null` or anything else is absent.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_gateways_import_still_decodes_and_new_fields_are_read() {
        let old: Import = serde_json::from_str(r#"{"id":"i","status":"queued"}"#).unwrap();
        assert!(old.reconciliation.is_none() && old.file_format.is_none());
        let new: Import = serde_json::from_str(
            r#"{"id":"i","status":"ready_for_review","file_format":"csv","delimiter":"\t",
                "rows_processed":12,"reconciliation":{"expected":{"patient_count":3},
                "file":{"patient_count":4},"difference":{"patient_count":1}}}"#,
        )
        .unwrap();
        assert_eq!(new.delimiter.as_deref(), Some("\t"));
        assert_eq!(new.rows_processed, Some(12));
        assert_eq!(new.reconciliation.unwrap().difference["patient_count"], 1);
    }

    #[test]
    fn prior_amounts_are_text_whether_sent_as_strings_or_numbers() {
        let row: Row = serde_json::from_str(
            r#"{"line":3,"prior":{"patient_amount":"100.00","insurance_amount":5.5,
                "date_of_service":"2026-11-20","import_id":"x","claims":2},"accepted":true}"#,
        )
        .unwrap();
        let prior = row.prior.unwrap();
        assert_eq!(prior.patient_amount.as_deref(), Some("100.00"));
        assert_eq!(prior.insurance_amount.as_deref(), Some("5.5"));
        assert!(row.accepted);
        let none: Row = serde_json::from_str(r#"{"line":3,"prior":null}"#).unwrap();
        assert!(none.prior.is_none());
    }
}
