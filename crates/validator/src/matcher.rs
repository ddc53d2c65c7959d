//! Asks the claims service who each row is, one call per batch.

use bf_domain::matching::{Found, MatchOutcome, PriorBalanceForward};
use bf_domain::{Column, Row};
use bf_proto::claims::{MatchCandidate, MatchOutcome as Wire, MatchPatientsRequest};
use bf_proto::ClaimsClient;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// Matches the rows that need it, in place.
pub async fn match_rows(
    claims: &ClaimsClient,
    tenant: &str,
    import_id: &str,
    rows: &mut [Row],
) -> Result<(), tonic::Status> {
    let candidates: Vec<MatchCandidate> = rows
        .iter()
        .filter(|r| r.needs_match())
        .map(|r| MatchCandidate {
            key: u64::from(r.line()),
            patient_id: r.raw.cell(Column::PatientId).to_string(),
            patient_account_number: r.raw.cell(Column::PatientAccountNumber).to_string(),
            last_name: r.raw.cell(Column::LastName).to_string(),
            first_name: r.raw.cell(Column::FirstName).to_string(),
            date_of_birth: r
                .date(Column::DateOfBirth)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        })
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let answer = claims
        .match_patients(MatchPatientsRequest {
            tenant_id: tenant.to_string(),
            candidates,
            import_id: import_id.to_string(),
        })
        .await?;
    let mut by_line: HashMap<u64, MatchOutcome> = answer
        .results
        .into_iter()
        .map(|r| (r.key, outcome(r)))
        .collect();
    for row in rows.iter_mut().filter(|r| r.needs_match()) {
        let found = by_line
            .remove(&u64::from(row.line()))
            .unwrap_or(MatchOutcome::NotFound);
        row.apply_match(found);
    }
    Ok(())
}

fn outcome(r: bf_proto::claims::MatchResult) -> MatchOutcome {
    match r.outcome() {
        Wire::Matched | Wire::Mismatched => MatchOutcome::Found(Found {
            mismatched: r
                .mismatched_columns
                .iter()
                .filter_map(|c| Column::from_name(c))
                .collect(),
            zeros_restored: r.zeros_restored,
            prior: r.prior.as_ref().and_then(prior),
            patient_id: r.patient_id,
        }),
        Wire::Ambiguous => MatchOutcome::Ambiguous {
            count: r.ambiguous_count as usize,
        },
        Wire::NotFound | Wire::Unspecified => MatchOutcome::NotFound,
    }
}

fn prior(p: &bf_proto::claims::PriorBalanceForward) -> Option<PriorBalanceForward> {
    Some(PriorBalanceForward {
        patient_amount: Decimal::from_str(&p.patient_amount).ok()?,
        insurance_amount: Decimal::from_str(&p.insurance_amount).ok()?,
        date_of_service: bf_domain::date::parse_iso(&p.date_of_service).ok()?,
        import_id: p.import_id.clone(),
        claims: p.claims,
    })
}
