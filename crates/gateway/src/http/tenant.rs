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
    let settings = tenants::settings(&state.pool, caller.tenant()).await?;
    Ok(Json(TenantSettings {
        tenant_id: caller.tenant().to_string(),
        time_zone: settings.time_zone,
        balance_ceiling: Some(bf_domain::money::normalize(settings.balance_ceiling).to_string()),
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
    if let Some(text) = settings.balance_ceiling.as_deref() {
        let ceiling = bf_domain::money::parse_plain(text)
            .ok()
            .filter(|c| c.is_sign_positive())
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "balance_ceiling must be a positive amount such as 100000.00".into(),
                )
            })?;
        tenants::set_balance_ceiling(&state.pool, caller.tenant(), ceiling).await?;
    }
    get_settings(State(state), caller).await
}
