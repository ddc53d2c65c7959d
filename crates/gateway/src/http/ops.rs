//! The operators' view across tenants: running and recently finished
//! imports with their pace, age, time in state, last error and trace id.
//! No patient data: ids, states, counts and times only.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::ops;
use axum::extract::State;
use axum::Json;
use bf_auth::ROLE_OPS;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One import as ops sees it.
#[derive(Serialize, ToSchema)]
pub struct OpsImportView {
    pub id: Uuid,
    pub tenant_id: String,
    pub status: String,
    /// Rows checked while parsing; claims created while approving.
    pub rows_done: i64,
    /// The total to reach, when known.
    pub rows_total: Option<i64>,
    pub progress: f64,
    /// Rows per second since the current state began.
    pub rows_per_second: f64,
    pub age_seconds: i64,
    pub in_state_seconds: i64,
    /// No progress for longer than BF_STALL_AFTER_SECS while running.
    pub stalled: bool,
    pub last_error: Option<String>,
    /// W3C trace id of the import's trace.
    pub trace_id: Option<String>,
}

/// The operators' list.
#[derive(Serialize, ToSchema)]
pub struct OpsImports {
    pub imports: Vec<OpsImportView>,
}

/// Running and recently finished imports of every tenant (role `ops`).
#[utoipa::path(
    get, path = "/v1/ops/imports", tag = "ops",
    responses((status = 200, body = OpsImports), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn imports(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<OpsImports>, ApiError> {
    caller.require(ROLE_OPS)?;
    let now = Utc::now();
    let stall_after = state.config.stall_after_secs;
    let found = ops::imports(&state.pool, 24, 500).await?;
    let imports = found
        .into_iter()
        .map(|i| {
            let running = matches!(i.status.as_str(), "queued" | "parsing" | "approving");
            let in_state = (now - i.state_since).num_milliseconds().max(1) as f64 / 1000.0;
            let progress = match (i.status.as_str(), i.rows_total) {
                ("parsing" | "queued", _) if i.size_bytes > 0 => {
                    i.bytes_parsed as f64 / i.size_bytes as f64
                }
                (_, Some(total)) if total > 0 => i.rows_done as f64 / total as f64,
                _ if running => 0.0,
                _ => 1.0,
            };
            OpsImportView {
                id: i.import_id,
                tenant_id: i.tenant_id,
                status: i.status,
                rows_done: i.rows_done,
                rows_total: i.rows_total,
                progress: progress.clamp(0.0, 1.0),
                rows_per_second: if running {
                    i.rows_done as f64 / in_state
                } else {
                    0.0
                },
                age_seconds: (now - i.uploaded_at).num_seconds(),
                in_state_seconds: in_state as i64,
                stalled: running && (now - i.updated_at).num_seconds() > stall_after,
                last_error: i.failure,
                trace_id: i
                    .trace_context
                    .as_ref()
                    .and_then(|t| t.get("traceparent"))
                    .and_then(|t| t.as_str())
                    .and_then(|t| t.split('-').nth(1))
                    .map(str::to_string),
            }
        })
        .collect();
    Ok(Json(OpsImports { imports }))
}
