//! What a user's Save and Void do, shared by the JSON API and the pages so
//! both take exactly the same path.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::views::PostingTotals;
use crate::state::AppState;
use crate::store::audit::{self, Action};
use crate::store::{imports, outbox, rows, tenants, ImportRecord};
use bf_domain::import::{
    approve_decision, void_decision, ApproveDecision, ImportStatus, VoidDecision,
};
use bf_domain::posting::{Decisions, ExistingPolicy};
use bf_messaging::topology;
use bf_proto::claims::VoidImportClaimsRequest;
use bf_proto::imports::ApproveJob;
use bf_runtime::trace_context;
use prost::Message;
use tracing::Instrument;
use uuid::Uuid;

/// Save: records who, when, the Date of Service and the decisions, and
/// queues the claims job, all in one transaction. Repeating it changes
/// nothing.
pub async fn approve(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    decisions: &Decisions,
) -> Result<ImportRecord, ApiError> {
    let span = import_span("import.approve", state, caller, id).await?;
    approve_now(state, caller, id, decisions)
        .instrument(span)
        .await
}

/// A span in the import's own trace (the upload's), so Save and Void are
/// part of the one trace of the import.
async fn import_span(
    name: &'static str,
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<tracing::Span, ApiError> {
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let span = match name {
        "import.void" => {
            tracing::info_span!("import.void", tenant = caller.tenant(), import_id = %id)
        }
        _ => tracing::info_span!("import.approve", tenant = caller.tenant(), import_id = %id),
    };
    trace_context::continue_from(&span, &record.trace());
    Ok(span)
}

async fn approve_now(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    decisions: &Decisions,
) -> Result<ImportRecord, ApiError> {
    let time_zone = tenants::time_zone(&state.pool, caller.tenant()).await?;
    let mut tx = bf_runtime::db::tenant_tx(&state.pool, caller.tenant()).await?;
    let record = imports::lock(&mut tx, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match approve_decision(record.status(), record.approved_at.is_some()) {
        ApproveDecision::Refuse => {
            return Err(ApiError::Conflict(format!(
                "this import is {}; only an import that is ready for review can be saved",
                record.status
            )))
        }
        ApproveDecision::AlreadyApproved => {}
        _ if record.purged_at.is_some() => {
            // Its rows are gone: a Save now would post nothing and call it done.
            return Err(ApiError::Conflict(
                "this import's rows were deleted under the retention policy; upload the file again"
                    .into(),
            ));
        }
        decision => {
            if decision == ApproveDecision::Start {
                let tz = bf_domain::date::parse_time_zone(&time_zone)
                    .ok_or_else(|| ApiError::Internal("tenant time zone is invalid".into()))?;
                let date_of_service = bf_domain::date::local_date(chrono::Utc::now(), tz);
                imports::set_approval(&mut tx, id, caller.user(), date_of_service).await?;
                apply_decisions(&mut tx, id, decisions).await?;
            } else {
                imports::clear_failure(&mut tx, id).await?;
            }
            imports::transition(
                &mut tx,
                &record,
                ImportStatus::Approving,
                caller.user(),
                None,
            )
            .await?;
            let job = ApproveJob {
                tenant_id: caller.tenant().to_string(),
                import_id: id.to_string(),
            };
            let message_id = format!("{id}:approve:{}", Uuid::now_v7());
            outbox::add(
                &mut tx,
                topology::APPROVE,
                "ApproveJob",
                &message_id,
                &job.encode_to_vec(),
            )
            .await?;
            let details = serde_json::json!({
                "decisions": decisions,
                "retry_of_failed_save": decision != ApproveDecision::Start,
            });
            audit::record(&mut tx, &caller.audit(Action::Approve, Some(id), details)).await?;
            tracing::info!(tenant = caller.tenant(), import_id = %id, "approval queued");
        }
    }
    tx.commit().await?;
    state.outbox.notify_one();
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(record)
}

/// Void: voids the import's claims, then marks it voided. Repeating it
/// changes nothing.
pub async fn void(state: &AppState, caller: &Caller, id: Uuid) -> Result<ImportRecord, ApiError> {
    let span = import_span("import.void", state, caller, id).await?;
    void_now(state, caller, id).instrument(span).await
}

async fn void_now(state: &AppState, caller: &Caller, id: Uuid) -> Result<ImportRecord, ApiError> {
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match void_decision(record.status(), record.approved_at.is_some()) {
        VoidDecision::AlreadyVoided => return Ok(record),
        VoidDecision::Refuse => {
            return Err(ApiError::Conflict(format!(
                "this import is {}; only a saved import can be voided",
                record.status
            )))
        }
        VoidDecision::Void => {}
    }
    // Claims first: if the gateway stops after this, voiding again finishes
    // the job, and the claims call changes nothing the second time.
    let voided = state
        .claims
        .void_import_claims(VoidImportClaimsRequest {
            tenant_id: caller.tenant().to_string(),
            import_id: id.to_string(),
            voided_by: caller.user().to_string(),
        })
        .await?;
    let mut tx = bf_runtime::db::tenant_tx(&state.pool, caller.tenant()).await?;
    let record = imports::lock(&mut tx, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if void_decision(record.status(), record.approved_at.is_some()) == VoidDecision::Void {
        imports::set_voided(&mut tx, id, caller.user()).await?;
        imports::transition(&mut tx, &record, ImportStatus::Voided, caller.user(), None).await?;
        let details = serde_json::json!({ "claims_voided": voided.voided });
        audit::record(&mut tx, &caller.audit(Action::Void, Some(id), details)).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant = caller.tenant(), import_id = %id, claims_voided = voided.voided, "import voided");
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(record)
}

/// What Save would post before any decision, and with these decisions.
/// Worked out in a transaction that is rolled back: a preview changes
/// nothing.
pub async fn preview(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    decisions: &Decisions,
) -> Result<(PostingTotals, PostingTotals), ApiError> {
    let policy = decisions.existing_balance_forward;
    let mut tx = bf_runtime::db::tenant_tx(&state.pool, caller.tenant()).await?;
    imports::lock(&mut tx, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let totals =
        |(claims, patients, p, i): (i64, i64, rust_decimal::Decimal, rust_decimal::Decimal)| {
            PostingTotals {
                claims,
                patients,
                patient_balance: bf_domain::money::normalize(p).to_string(),
                insurance_balance: bf_domain::money::normalize(i).to_string(),
            }
        };
    // Work out both answers inside a transaction that is rolled back: a
    // preview changes nothing.
    rows::accept(&mut tx, id, false, &[]).await?;
    let before = totals(rows::posting(&mut tx, id, ExistingPolicy::Skip.as_str()).await?);
    apply_decisions(&mut tx, id, decisions).await?;
    let after = totals(rows::posting(&mut tx, id, policy.as_str()).await?);
    tx.rollback().await?;
    Ok((before, after))
}

/// Marks the accepted flagged rows and records the decisions; a named
/// line that is not flagged is refused.
async fn apply_decisions(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    decisions: &Decisions,
) -> Result<(), ApiError> {
    let lines: Vec<i32> = decisions
        .accept_flagged
        .lines()
        .iter()
        .filter_map(|l| i32::try_from(*l).ok())
        .collect();
    let unknown = rows::accept(conn, id, decisions.accept_flagged.all(), &lines).await?;
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().map(i32::to_string).collect();
        return Err(ApiError::BadRequest(format!(
            "these lines are not flagged rows of this import: {}",
            list.join(", ")
        )));
    }
    let recorded = serde_json::to_value(decisions).unwrap_or_default();
    imports::set_decisions(conn, id, &recorded).await?;
    Ok(())
}
