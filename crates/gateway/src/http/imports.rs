//! Import endpoints: upload, review, approve (Save), void.

use super::views::{Accepted, ImportList, ImportView, RowPage, RowView};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::storage;
use crate::store::{imports, outbox, rows, tenants};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use bf_auth::{ROLE_IMPORTS_APPROVE, ROLE_IMPORTS_WRITE};
use bf_domain::import::{
    approve_decision, void_decision, ApproveDecision, ImportStatus, VoidDecision,
};
use bf_domain::RowStatus;
use bf_messaging::topology;
use bf_proto::claims::VoidImportClaimsRequest;
use bf_proto::imports::{ApproveJob, ParseJob};
use prost::Message;
use serde::Deserialize;
use uuid::Uuid;

/// Upload a patient-balance file (CSV body, or multipart field `file`).
/// The file is stored and a parse job queued; poll the import for progress.
#[utoipa::path(
    post, path = "/v1/imports/patient-balances", tag = "imports",
    request_body(content_type = "text/csv", description = "The file; or multipart/form-data with field `file`"),
    params(("X-File-Name" = Option<String>, Header, description = "The file's name, for the import list")),
    responses(
        (status = 202, body = Accepted, description = "Queued; Location names the import"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(ROLE_IMPORTS_WRITE)?;
    let import_id = Uuid::now_v7();
    let key = storage::object_key(caller.tenant(), import_id);
    let max = state.config.max_upload_bytes;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (stored, file_name) = if is_multipart {
        upload_multipart(&state, &key, request, max).await?
    } else {
        let name = headers
            .get("x-file-name")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = request.into_body().into_data_stream();
        (
            storage::store(state.objects.as_ref(), &key, body, max).await?,
            name,
        )
    };
    let file_name = clean_file_name(file_name.as_deref());
    let job = ParseJob {
        tenant_id: caller.tenant().to_string(),
        import_id: import_id.to_string(),
        object_key: stored.key.clone(),
        size_bytes: stored.size_bytes,
    };
    let new = imports::NewImport {
        import_id,
        tenant_id: caller.tenant(),
        file_name: &file_name,
        object_key: &stored.key,
        size_bytes: i64::try_from(stored.size_bytes).unwrap_or(i64::MAX),
        sha256: &stored.sha256,
        uploaded_by: caller.user(),
    };
    if let Err(e) = record_upload(&state, &new, &job).await {
        // Nothing half-written: the stored file goes with the failed record.
        let _ = state.objects.delete(&key).await;
        return Err(e);
    }
    state.outbox.notify_one();
    tracing::info!(tenant = caller.tenant(), %import_id, size_bytes = stored.size_bytes, "import queued");
    let location = format!("/v1/imports/{import_id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(Accepted {
            id: import_id,
            status: ImportStatus::Queued.as_str().to_string(),
        }),
    ))
}

/// The import row, its audit entry and its parse job, in one transaction.
async fn record_upload(
    state: &AppState,
    new: &imports::NewImport<'_>,
    job: &ParseJob,
) -> Result<(), ApiError> {
    let mut tx = state.pool.begin().await?;
    imports::create(&mut tx, new).await?;
    let message_id = format!("{}:parse", new.import_id);
    outbox::add(
        &mut tx,
        topology::PARSE,
        "ParseJob",
        &message_id,
        &job.encode_to_vec(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn upload_multipart(
    state: &AppState,
    key: &object_store::path::Path,
    request: Request,
    max: u64,
) -> Result<(storage::StoredFile, Option<String>), ApiError> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
        ApiError::BadRequest(format!("the form could not be read: {}", e.body_text()))
    })?;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::BadRequest("the form could not be read".into()))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().map(str::to_string);
            let stored = storage::store(state.objects.as_ref(), key, field, max).await?;
            return Ok((stored, name));
        }
    }
    Err(ApiError::BadRequest(
        "the form has no field named 'file'".into(),
    ))
}

/// A display name: the last path segment, printable, at most 255 chars.
fn clean_file_name(name: Option<&str>) -> String {
    let base = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>();
    if base.trim().is_empty() {
        "upload.csv".to_string()
    } else {
        base
    }
}

/// The tenant's imports, newest first.
#[utoipa::path(
    get, path = "/v1/imports", tag = "imports",
    responses((status = 200, body = ImportList), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ImportList>, ApiError> {
    let records = imports::list(&state.pool, caller.tenant(), 200).await?;
    Ok(Json(ImportList {
        imports: records.into_iter().map(ImportView::from).collect(),
    }))
}

/// One import: status, counts, totals, progress.
#[utoipa::path(
    get, path = "/v1/imports/{id}", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id")),
    responses((status = 200, body = ImportView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ImportView>, ApiError> {
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(record.into()))
}

/// Which rows to list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct RowQuery {
    /// valid | flagged | invalid | skipped; all rows when absent.
    pub status: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// Only rows after this line (paging).
    pub after: Option<i32>,
}

/// Per-row results, by line.
#[utoipa::path(
    get, path = "/v1/imports/{id}/rows", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id"), RowQuery),
    responses((status = 200, body = RowPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn rows(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<RowQuery>,
) -> Result<Json<RowPage>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(RowStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest("status must be one of valid, flagged, invalid, skipped".into())
        })?),
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let records = rows::page(
        &state.pool,
        caller.tenant(),
        id,
        status,
        q.after.unwrap_or(0),
        limit,
    )
    .await?;
    let next_after = (records.len() as i64 == limit)
        .then(|| records.last().map(|r| r.line))
        .flatten();
    Ok(Json(RowPage {
        rows: records.into_iter().map(RowView::from).collect(),
        next_after,
    }))
}

/// Save: create one BF claim per valid row. Approving again changes nothing.
#[utoipa::path(
    post, path = "/v1/imports/{id}/approve", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id")),
    responses(
        (status = 202, body = ImportView, description = "Approval queued (or already under way)"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let time_zone = tenants::time_zone(&state.pool, caller.tenant()).await?;
    let mut tx = state.pool.begin().await?;
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
        decision => {
            if decision == ApproveDecision::Start {
                let tz = bf_domain::date::parse_time_zone(&time_zone)
                    .ok_or_else(|| ApiError::Internal("tenant time zone is invalid".into()))?;
                let date_of_service = bf_domain::date::local_date(chrono::Utc::now(), tz);
                imports::set_approval(&mut tx, id, caller.user(), date_of_service).await?;
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
            tracing::info!(tenant = caller.tenant(), import_id = %id, "approval queued");
        }
    }
    tx.commit().await?;
    state.outbox.notify_one();
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(record.into())))
}

/// Void a saved import: every claim it created is voided. Voiding twice
/// changes nothing.
#[utoipa::path(
    post, path = "/v1/imports/{id}/void", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id")),
    responses(
        (status = 200, body = ImportView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn void(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ImportView>, ApiError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match void_decision(record.status(), record.approved_at.is_some()) {
        VoidDecision::AlreadyVoided => return Ok(Json(record.into())),
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
    let mut tx = state.pool.begin().await?;
    let record = imports::lock(&mut tx, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if void_decision(record.status(), record.approved_at.is_some()) == VoidDecision::Void {
        imports::set_voided(&mut tx, id, caller.user()).await?;
        imports::transition(&mut tx, &record, ImportStatus::Voided, caller.user(), None).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant = caller.tenant(), import_id = %id, claims_voided = voided.voided, "import voided");
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(record.into()))
}
