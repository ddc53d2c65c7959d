//! Tenant settings.

use super::views::TenantSettings;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::tenants;
use axum::extract::State;
use axum::Json;
use bf_auth::ROLE_IMPORTS_APPROVE;

/// The tenant's settings.
#[utoipa::path(
    get, path = "/v1/tenant/settings", tag = "tenant",
    responses((status = 200, body = TenantSettings), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TenantSettings>, ApiError> {
    Ok(Json(TenantSettings {
        tenant_id: caller.tenant().to_string(),
        time_zone: tenants::time_zone(&state.pool, caller.tenant()).await?,
    }))
}

/// Change the tenant's settings (role `imports:approve`: the time zone
/// decides the Date of Service of every BF claim).
#[utoipa::path(
    put, path = "/v1/tenant/settings", tag = "tenant",
    request_body = TenantSettings,
    responses((status = 200, body = TenantSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Json(settings): Json<TenantSettings>,
) -> Result<Json<TenantSettings>, ApiError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let zone = settings.time_zone.trim();
    if bf_domain::date::parse_time_zone(zone).is_none() {
        return Err(ApiError::BadRequest(
            "time_zone must be an IANA time zone name such as America/Chicago".into(),
        ));
    }
    tenants::set_time_zone(&state.pool, caller.tenant(), zone).await?;
    get_settings(State(state), caller).await
}
