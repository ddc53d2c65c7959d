//! The practice's audit trail, for its administrators: who uploaded,
//! saved, voided, downloaded error reports and wrote patients, when and
//! from where.

use super::views::{AuditEntry, AuditPage};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::audit;
use axum::extract::{Query, State};
use axum::Json;
use bf_auth::ROLE_TENANT_ADMIN;
use serde::Deserialize;

/// Entries per page when the caller does not say.
const DEFAULT_LIMIT: i64 = 100;
/// The most entries one page returns.
const MAX_LIMIT: i64 = 1000;

/// Where a page starts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Entries older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// The tenant's audit trail, newest first. Needs the `tenant:admin` role.
#[utoipa::path(
    get, path = "/v1/audit", tag = "tenant",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(ROLE_TENANT_ADMIN)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let found = audit::page(&state.pool, caller.tenant(), query.before, limit).await?;
    let next_before = if found.len() as i64 == limit {
        found.last().map(|e| e.id)
    } else {
        None
    };
    let entries = found
        .into_iter()
        .map(|e| AuditEntry {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            import_id: e.import_id,
            remote_addr: e.remote_addr,
            details: e.details,
        })
        .collect();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
