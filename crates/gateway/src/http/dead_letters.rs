//! Operators' dead letters: which work the broker gave up on, and putting
//! it back once the cause is fixed. Ids, queues, counts and reasons only;
//! a dead letter's payload never leaves the gateway.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::dead_letters;
use axum::extract::State;
use axum::Json;
use bf_auth::ROLE_OPS;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Parked dead letters of one work queue and import.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterGroup {
    /// The work queue they were dead-lettered from.
    pub queue: String,
    pub tenant_id: Option<String>,
    pub import_id: Option<Uuid>,
    /// How many messages are parked.
    pub count: i64,
    /// The broker's reason: `rejected` (a handler gave up) or
    /// `delivery_limit` (handed back too often, e.g. by a crashing process).
    pub death: String,
    /// The import's failure as its users read it.
    pub reason: Option<String>,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Every parked dead letter.
#[derive(Serialize, ToSchema)]
pub struct DeadLetters {
    pub dead_letters: Vec<DeadLetterGroup>,
}

/// Parked dead letters of every tenant, oldest first (role `ops`).
#[utoipa::path(
    get, path = "/v1/ops/dead-letters", tag = "ops",
    responses((status = 200, body = DeadLetters), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DeadLetters>, ApiError> {
    caller.require(ROLE_OPS)?;
    // Ops sees every tenant's dead letters (ids, counts, reasons only).
    let mut tx = bf_runtime::db::system_tx(&state.pool).await?;
    let groups = dead_letters::list(&mut tx).await?;
    tx.commit().await?;
    let dead_letters = groups
        .into_iter()
        .map(|g| DeadLetterGroup {
            queue: g.queue,
            tenant_id: g.tenant_id,
            import_id: g.import_id,
            count: g.count,
            death: g.death_reason,
            reason: g.failure,
            first_at: g.first_at,
            last_at: g.last_at,
        })
        .collect();
    Ok(Json(DeadLetters { dead_letters }))
}

/// Which dead letters to requeue: one import's, or all.
#[derive(Deserialize, ToSchema)]
pub struct RequeueRequest {
    pub import_id: Option<Uuid>,
    #[serde(default)]
    pub all: bool,
}

/// What a requeue did.
#[derive(Serialize, ToSchema)]
pub struct RequeueAnswer {
    /// Messages put back on their work queues.
    pub requeued: usize,
    /// Imports restored to the state they failed from.
    pub imports: Vec<Uuid>,
}

/// Puts parked dead letters back on their work queues after the cause was
/// fixed, restoring each failed import to the state it failed from
/// (role `ops`). Requeueing again finds nothing more to do.
#[utoipa::path(
    post, path = "/v1/ops/dead-letters/requeue", tag = "ops",
    request_body = RequeueRequest,
    responses(
        (status = 200, body = RequeueAnswer),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn requeue(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RequeueRequest>,
) -> Result<Json<RequeueAnswer>, ApiError> {
    caller.require(ROLE_OPS)?;
    let import = match (request.import_id, request.all) {
        (Some(id), false) => Some(id),
        (None, true) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "name one import (import_id) or ask for all (all: true)".into(),
            ))
        }
    };
    let operator = format!("ops:{}", caller.user());
    let mut tx = bf_runtime::db::system_tx(&state.pool).await?;
    let done = crate::dead_letters::requeue(&mut tx, import, &operator).await?;
    tx.commit().await?;
    state.outbox.notify_one();
    tracing::info!(
        messages = done.messages,
        imports = done.imports.len(),
        "dead letters requeued"
    );
    Ok(Json(RequeueAnswer {
        requeued: done.messages,
        imports: done.imports,
    }))
}
