//! Who is calling: every `/v1` request carries a bearer JWT naming its
//! tenant, user and roles. Handlers take a [`Caller`] and so cannot forget
//! to authenticate or to scope by tenant.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use bf_auth::Claims;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Claims,
}

impl Caller {
    /// The tenant every query of this request is scoped to.
    pub fn tenant(&self) -> &str {
        &self.claims.tenant
    }

    /// The user, recorded on every change they make.
    pub fn user(&self) -> &str {
        &self.claims.sub
    }

    /// Refuses the request (403) unless the caller holds `role`.
    pub fn require(&self, role: &'static str) -> Result<(), ApiError> {
        if self.claims.has_role(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(role))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("sign in first: the request has no bearer token".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
            })?;
        let claims = bf_auth::verify(token.trim(), &state.config.jwt_secret).map_err(|_| {
            ApiError::Unauthorized("the sign-in token is invalid or expired".into())
        })?;
        ensure_tenant(state, &claims.tenant).await?;
        Ok(Caller { claims })
    }
}

/// A tenant comes into being with its first authenticated call.
async fn ensure_tenant(state: &AppState, tenant: &str) -> Result<(), ApiError> {
    let known = state
        .known_tenants
        .lock()
        .map(|set| set.contains(tenant))
        .unwrap_or(false);
    if known {
        return Ok(());
    }
    crate::store::tenants::ensure(&state.pool, tenant).await?;
    if let Ok(mut set) = state.known_tenants.lock() {
        set.insert(tenant.to_string());
    }
    Ok(())
}
