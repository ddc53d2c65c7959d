//! The practice's patient directory and claim history, both held by the
//! claims service.

use super::views::{ClaimEntry, ClaimHistory, PatientInput, PatientsLoaded};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::audit::{self, Action};
use axum::extract::{Path, State};
use axum::Json;
use bf_auth::ROLE_PATIENTS_WRITE;
use bf_proto::claims::{ListPatientClaimsRequest, Patient, UpsertPatientsRequest};

/// Patients per call to the claims service.
const CHUNK: usize = 5_000;

/// Bulk-upsert patients into the directory (in production the host EHR
/// feeds it; here it seeds demos and tests).
#[utoipa::path(
    post, path = "/v1/patients", tag = "patients",
    request_body = Vec<PatientInput>,
    responses((status = 200, body = PatientsLoaded), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn load(
    State(state): State<AppState>,
    caller: Caller,
    Json(patients): Json<Vec<PatientInput>>,
) -> Result<Json<PatientsLoaded>, ApiError> {
    caller.require(ROLE_PATIENTS_WRITE)?;
    let mut upserted = 0;
    for chunk in patients.chunks(CHUNK) {
        let request = UpsertPatientsRequest {
            tenant_id: caller.tenant().to_string(),
            patients: chunk
                .iter()
                .map(|p| Patient {
                    patient_id: p.patient_id.clone(),
                    patient_account_number: p.patient_account_number.clone(),
                    last_name: p.last_name.clone(),
                    first_name: p.first_name.clone(),
                    date_of_birth: p.date_of_birth.clone(),
                })
                .collect(),
        };
        upserted += state.claims.upsert_patients(request).await?.upserted;
    }
    let details = serde_json::json!({ "patients": patients.len(), "upserted": upserted });
    let entry = caller.audit(Action::PatientsWrite, None, details);
    audit::record_alone(&state.pool, caller.tenant(), &entry).await?;
    Ok(Json(PatientsLoaded { upserted }))
}

/// A patient's claim history, BF claims included, one entry per claim line.
#[utoipa::path(
    get, path = "/v1/patients/{patient_id}/claims", tag = "patients",
    params(("patient_id" = String, Path, description = "The new system's patient id")),
    responses((status = 200, body = ClaimHistory), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(patient_id): Path<String>,
) -> Result<Json<ClaimHistory>, ApiError> {
    let answer = state
        .claims
        .list_patient_claims(ListPatientClaimsRequest {
            tenant_id: caller.tenant().to_string(),
            patient_id: patient_id.clone(),
        })
        .await?;
    if !answer.patient_found {
        return Err(ApiError::NotFound);
    }
    let mut entries = Vec::new();
    for claim in answer.claims {
        for line in &claim.lines {
            entries.push(ClaimEntry {
                claim_id: claim.claim_id.clone(),
                kind: claim.kind.clone(),
                service_code: line.service_code.clone(),
                date_of_service: claim.date_of_service.clone(),
                amount: line.amount.clone(),
                responsibility: line.responsibility.clone(),
                status: claim.status.clone(),
                import_id: (!claim.import_id.is_empty()).then(|| claim.import_id.clone()),
                line: (claim.import_line > 0).then_some(claim.import_line),
                reference: some(&claim.reference),
                provider_npi: some(&claim.provider_npi),
                location: some(&claim.location),
                oldest_service_date: some(&claim.oldest_service_date),
                balance_as_of: some(&claim.balance_as_of),
                aging: (!claim.aging.is_empty()).then(|| claim.aging.clone()),
            });
        }
    }
    Ok(Json(ClaimHistory {
        patient_id,
        claims: entries,
    }))
}

/// Empty protobuf strings are absent values.
fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}
