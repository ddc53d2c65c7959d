//! Import profiles: a tenant's saved way of reading its old system's
//! export, reusable at upload with `profile=NAME`.

use super::upload_options::{parse_date_format, parse_mapping};
use super::views::ImportProfile;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::profiles;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bf_auth::ROLE_IMPORTS_WRITE;
use bf_domain::money::DecimalStyle;
use bf_domain::options::ParseOptions;

fn view(name: String, options: serde_json::Value) -> ImportProfile {
    let o: ParseOptions = serde_json::from_value(options).unwrap_or_default();
    ImportProfile {
        name,
        mapping: o.mapping,
        date_format: o
            .date_format
            .and_then(|f| serde_json::to_value(f).ok())
            .and_then(|v| v.as_str().map(str::to_string)),
        decimal_style: serde_json::to_value(o.decimal_style)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
    }
}

/// The tenant's import profiles.
#[utoipa::path(
    get, path = "/v1/import-profiles", tag = "imports",
    responses((status = 200, body = Vec<ImportProfile>), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ImportProfile>>, ApiError> {
    let found = profiles::list(&state.pool, caller.tenant()).await?;
    Ok(Json(found.into_iter().map(|(n, o)| view(n, o)).collect()))
}

/// Saves (or replaces) a profile.
#[utoipa::path(
    put, path = "/v1/import-profiles/{name}", tag = "imports",
    params(("name" = String, Path, description = "Profile name")),
    request_body = ImportProfile,
    responses((status = 200, body = ImportProfile), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<ImportProfile>,
) -> Result<Json<ImportProfile>, ApiError> {
    caller.require(ROLE_IMPORTS_WRITE)?;
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::BadRequest(
            "a profile name is 1 to 100 characters".into(),
        ));
    }
    let mapping_text = serde_json::to_string(&body.mapping).unwrap_or_default();
    let options = ParseOptions {
        mapping: parse_mapping(&mapping_text)?,
        date_format: body
            .date_format
            .as_deref()
            .map(parse_date_format)
            .transpose()?,
        decimal_style: match body.decimal_style.as_deref() {
            None | Some("dot") => DecimalStyle::Dot,
            Some("comma") => DecimalStyle::Comma,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "decimal_style must be dot or comma".into(),
                ))
            }
        },
        ..ParseOptions::default()
    };
    profiles::save(&state.pool, caller.tenant(), &name, &options, caller.user()).await?;
    let stored = serde_json::to_value(&options).unwrap_or_default();
    Ok(Json(view(name, stored)))
}

/// Deletes a profile.
#[utoipa::path(
    delete, path = "/v1/import-profiles/{name}", tag = "imports",
    params(("name" = String, Path, description = "Profile name")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ROLE_IMPORTS_WRITE)?;
    if profiles::delete(&state.pool, caller.tenant(), name.trim()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
