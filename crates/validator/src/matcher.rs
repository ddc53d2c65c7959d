//! Asks the claims service who each row is, one call per batch.

use crate::wire::BatchWriter;
use bf_domain::matching::{Found, MatchOutcome, PriorBalanceForward};
use bf_domain::{Column, Row};
use bf_proto::claims::MatchOutcome as Wire;
use bf_proto::ClaimsClient;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// Matches the rows that need it, in place. `writer` writes the request
/// (crate::wire).
pub async fn match_rows(
    claims: &ClaimsClient,
    writer: &mut BatchWriter,
    tenant: &str,
    import_id: &str,
    rows: &mut [Row],
) -> Result<(), tonic::Status> {
    let Some(request) = writer.match_request(tenant, import_id, rows) else {
        return Ok(());
    };
    let answer = claims.match_patients(request.into()).await?;
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
