//! Import endpoints: upload, review, approve (Save), void.

use super::upload_options::UploadOptions;
use super::views::{Accepted, ImportList, ImportView, Posting, RowPage, RowView};
use crate::actions;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::storage;
use crate::store::audit::{self, Action};
use crate::store::{imports, outbox, rows};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use bf_auth::{ROLE_IMPORTS_APPROVE, ROLE_IMPORTS_WRITE};
use bf_domain::import::ImportStatus;
use bf_domain::posting::{AcceptFlagged, AcceptWord, Decisions, ExistingPolicy};
use bf_domain::{Column, RowStatus};
use bf_messaging::topology;
use bf_proto::imports::ParseJob;
use futures::StreamExt;
use prost::Message;
use serde::Deserialize;
use uuid::Uuid;

/// Upload a patient-balance file (CSV, TSV or xlsx body, or multipart
/// field `file` with the options as other fields). The file is stored and a
/// parse job queued; poll the import for progress.
#[utoipa::path(
    post, path = "/v1/imports/patient-balances", tag = "imports",
    request_body(content_type = "text/csv", description = "The file; or multipart/form-data with field `file` and the options as fields"),
    params(("X-File-Name" = Option<String>, Header, description = "The file's name, for the import list"), UploadOptions),
    responses(
        (status = 202, body = Accepted, description = "Queued; Location names the import"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 408, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many imports in progress; Retry-After says when to try again")
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "import.upload", skip_all, fields(tenant = %caller.tenant(), import_id = tracing::field::Empty, size_bytes = tracing::field::Empty))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<UploadOptions>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(ROLE_IMPORTS_WRITE)?;
    // Cheap early answer before a large body is received; the count that
    // decides is taken again under the tenant's lock when recording.
    let limit = state.config.max_active_imports_per_tenant;
    if imports::count_active(&state.pool, caller.tenant()).await? >= limit {
        return Err(ApiError::TooManyActive { limit });
    }
    let import_id = Uuid::now_v7();
    tracing::Span::current().record("import_id", tracing::field::display(import_id));
    let key = storage::object_key(caller.tenant(), import_id);
    let max = state.config.max_upload_bytes;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (stored, file_name, asked) = if is_multipart {
        let (stored, name, fields) = upload_multipart(&state, &key, request, max).await?;
        (stored, name, Asked::Fields(fields))
    } else {
        let name = headers
            .get("x-file-name")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Refuse bad options before storing anything.
        let resolved = (
            query
                .resolve(&state.pool, caller.tenant(), caller.user())
                .await?,
            query.expected_totals()?,
        );
        let body = request
            .into_body()
            .into_data_stream()
            .map(|chunk| chunk.map_err(storage::body_error));
        let stored = storage::store(state.objects.as_ref(), &key, body, max).await?;
        (stored, name, Asked::Resolved(resolved))
    };
    let recorded = async {
        let (options, expected) = match asked {
            Asked::Resolved(r) => r,
            Asked::Fields(f) => (
                f.resolve(&state.pool, caller.tenant(), caller.user())
                    .await?,
                f.expected_totals()?,
            ),
        };
        let options_json = serde_json::to_value(&options).unwrap_or_default();
        let job = ParseJob {
            tenant_id: caller.tenant().to_string(),
            import_id: import_id.to_string(),
            object_key: stored.key.clone(),
            size_bytes: stored.size_bytes,
            options_json: options_json.to_string(),
            resume_from_batch: 0,
            chunk: None,
        };
        let file_name = clean_file_name(file_name.as_deref());
        let new = imports::NewImport {
            import_id,
            tenant_id: caller.tenant(),
            file_name: &file_name,
            object_key: &stored.key,
            size_bytes: i64::try_from(stored.size_bytes).unwrap_or(i64::MAX),
            sha256: &stored.sha256,
            uploaded_by: caller.user(),
            options: &options_json,
            expected_totals: expected.as_ref(),
        };
        record_upload(&state, &caller, &new, &job).await
    }
    .await;
    if let Err(e) = recorded {
        // Nothing half-written: the stored file goes with the failed record.
        let _ = state.objects.delete(&key).await;
        return Err(e);
    }
    state.outbox.notify_one();
    tracing::Span::current().record("size_bytes", stored.size_bytes);
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

/// The upload's options: checked before the body (query parameters), or
/// read from the form around the file (multipart).
enum Asked {
    Resolved((bf_domain::options::ParseOptions, Option<serde_json::Value>)),
    Fields(UploadOptions),
}

/// The import row, its audit entry and its parse job, in one transaction,
/// unless the tenant already has its limit of active imports: the count is
/// taken under a per-tenant lock held to commit, so concurrent uploads are
/// decided one at a time.
async fn record_upload(
    state: &AppState,
    caller: &Caller,
    new: &imports::NewImport<'_>,
    job: &ParseJob,
) -> Result<(), ApiError> {
    let mut tx = bf_runtime::db::tenant_tx(&state.pool, new.tenant_id).await?;
    let limit = state.config.max_active_imports_per_tenant;
    if imports::lock_and_count_active(&mut tx, new.tenant_id).await? >= limit {
        return Err(ApiError::TooManyActive { limit });
    }
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
    let details = serde_json::json!({
        "file_name": new.file_name,
        "size_bytes": new.size_bytes,
        "sha256": new.sha256,
    });
    audit::record(
        &mut tx,
        &caller.audit(Action::Upload, Some(new.import_id), details),
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
) -> Result<(storage::StoredFile, Option<String>, UploadOptions), ApiError> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
        ApiError::BadRequest(format!("the form could not be read: {}", e.body_text()))
    })?;
    let unreadable = || ApiError::BadRequest("the form could not be read".into());
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| storage::form_error(e, max))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" && file.is_none() {
            let file_name = field.file_name().map(str::to_string);
            let field = field.map(|chunk| chunk.map_err(|e| storage::form_error(e, max)));
            file = Some((
                storage::store(state.objects.as_ref(), key, field, max).await?,
                file_name,
            ));
        } else if fields.len() < 32 {
            let text = field.text().await.map_err(|_| unreadable())?;
            fields.insert(name, text);
        }
    }
    let (stored, file_name) =
        file.ok_or_else(|| ApiError::BadRequest("the form has no field named 'file'".into()))?;
    Ok((stored, file_name, UploadOptions::from_fields(fields)))
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

/// Save: create one BF claim per valid row, per accepted flagged row, and
/// for patients with an earlier BF claim as the policy says. Approving
/// again changes nothing.
#[utoipa::path(
    post, path = "/v1/imports/{id}/approve", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id")),
    request_body(content = Option<DecisionsBody>, description = "accept_flagged: \"all\" | \"none\" | [lines]; existing_balance_forward: skip | post_difference | post_full"),
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
    body: Option<Json<Decisions>>,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let decisions = body.map(|Json(d)| d).unwrap_or_default();
    let record = actions::approve(&state, &caller, id, &decisions).await?;
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
    let record = actions::void(&state, &caller, id).await?;
    Ok(Json(record.into()))
}

/// The decisions at Save, as the OpenAPI document shows them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DecisionsBody {
    /// "all", "none", or a list of flagged lines.
    #[schema(value_type = Object)]
    accept_flagged: serde_json::Value,
    /// skip | post_difference | post_full
    existing_balance_forward: String,
}

/// The decisions a posting preview asks about.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct PostingQuery {
    /// all | none | a comma-separated list of flagged lines.
    pub accept_flagged: Option<String>,
    /// skip | post_difference | post_full
    pub existing_balance_forward: Option<String>,
}

/// What Save would post, before and after the decisions given: the
/// confirmation's "N claims totaling $X".
#[utoipa::path(
    get, path = "/v1/imports/{id}/posting", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id"), PostingQuery),
    responses((status = 200, body = Posting), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn posting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<PostingQuery>,
) -> Result<Json<Posting>, ApiError> {
    let accept = match q.accept_flagged.as_deref().map(str::trim) {
        None | Some("") | Some("none") => AcceptFlagged::Word(AcceptWord::None),
        Some("all") => AcceptFlagged::Word(AcceptWord::All),
        Some(list) => AcceptFlagged::Lines(
            list.split(',')
                .map(|l| l.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ApiError::BadRequest(
                        "accept_flagged must be all, none or a list of line numbers".into(),
                    )
                })?,
        ),
    };
    let policy: ExistingPolicy = match q.existing_balance_forward.as_deref() {
        None | Some("") => ExistingPolicy::Skip,
        Some(p) => serde_json::from_value(serde_json::json!(p)).map_err(|_| {
            ApiError::BadRequest(
                "existing_balance_forward must be skip, post_difference or post_full".into(),
            )
        })?,
    };
    let decisions = Decisions {
        accept_flagged: accept,
        existing_balance_forward: policy,
    };
    let (before, after) = actions::preview(&state, &caller, id, &decisions).await?;
    Ok(Json(Posting { before, after }))
}

/// Every invalid and flagged row as it was in the file, one line per
/// problem, for the user to fix and upload again. Cells that a
/// spreadsheet would run as a formula are neutralised.
#[utoipa::path(
    get, path = "/v1/imports/{id}/errors.csv", tag = "imports",
    params(("id" = Uuid, Path, description = "Import id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn errors_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    let record = imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Each header with the column it was read as, in file order.
    let (headers, columns): (Vec<String>, Vec<Option<Column>>) = record
        .header_mapping
        .as_ref()
        .and_then(|m| m.as_array())
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    let header = c["header"].as_str().unwrap_or("").to_string();
                    (header, c["column"].as_str().and_then(Column::from_name))
                })
                .unzip()
        })
        .unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut title = vec![
        "line",
        "status",
        "problem_column",
        "problem_code",
        "problem_message",
    ];
    title.extend(headers.iter().map(String::as_str));
    let neutral: Vec<String> = title.iter().map(|t| report_cell(t)).collect();
    out.write_record(&neutral)
        .map_err(|_| ApiError::Internal("error report".into()))?;
    for status in [RowStatus::Invalid, RowStatus::Flagged] {
        let mut after = 0;
        loop {
            let page =
                rows::page(&state.pool, caller.tenant(), id, Some(status), after, 1000).await?;
            let Some(last) = page.last().map(|r| r.line) else {
                break;
            };
            for row in &page {
                let problems: Vec<super::views::ProblemView> =
                    serde_json::from_value(row.problems.clone()).unwrap_or_default();
                let raw = rows::fields(row, &columns);
                for p in &problems {
                    let mut cells = vec![
                        row.line.to_string(),
                        row.status.clone(),
                        p.column.clone(),
                        p.code.clone(),
                        p.message.clone(),
                    ];
                    cells.extend(raw.iter().cloned());
                    let cells: Vec<String> = cells.iter().map(|c| report_cell(c)).collect();
                    out.write_record(&cells)
                        .map_err(|_| ApiError::Internal("error report".into()))?;
                }
            }
            after = last;
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|_| ApiError::Internal("error report".into()))?;
    // Recorded before the rows leave: a download that is not recorded
    // does not happen.
    let entry = caller.audit(
        Action::ErrorReport,
        Some(id),
        serde_json::json!({ "bytes": bytes.len() }),
    );
    audit::record_alone(&state.pool, caller.tenant(), &entry).await?;
    let file = format!("attachment; filename=\"{}-errors.csv\"", id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ],
        bytes,
    ))
}

/// A cell that Excel would run as a formula gets a leading apostrophe.
pub fn report_cell(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}
