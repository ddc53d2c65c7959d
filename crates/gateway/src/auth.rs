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
    /// Where the request came from, for the audit trail: the peer address,
    /// and what an `X-Forwarded-For` header claimed (unverified).
    pub remote_addr: Option<String>,
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

    /// An audit entry of this caller's action.
    pub fn audit(
        &self,
        action: crate::store::audit::Action,
        import_id: Option<uuid::Uuid>,
        details: serde_json::Value,
    ) -> crate::store::audit::Entry<'_> {
        crate::store::audit::Entry {
            actor: self.user(),
            action,
            import_id,
            remote_addr: self.remote_addr.as_deref(),
            details,
        }
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
        authenticate(parts, state, false).await
    }
}

/// Verifies the request's token. `page_form` is for the pages' own form
/// posts, which the caller has checked come from this site (Origin), so
/// they need no script-set header.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
    page_form: bool,
) -> Result<Caller, ApiError> {
    {
        let (token, from_cookie) = token(parts)?;
        if from_cookie
            && !page_form
            && !parts.method.is_safe()
            && !parts.headers.contains_key(CSRF_HEADER)
        {
            // A cookie rides along with any site's request; a custom header
            // cannot, so a change made with the cookie must carry one.
            return Err(ApiError::CrossSite);
        }
        let claims = state.tokens.verify(token.trim()).await?;
        ensure_tenant(state, &claims.tenant).await?;
        Ok(Caller {
            claims,
            remote_addr: remote_addr(parts),
        })
    }
}

/// The cookie that carries a browser session's token.
pub const SESSION_COOKIE: &str = "bf_session";

/// The peer's address and, when a proxy in front set one, the
/// `X-Forwarded-For` it passed on (kept as a claim, not trusted).
fn remote_addr(parts: &Parts) -> Option<String> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>());
    match (peer, forwarded) {
        (Some(p), Some(f)) => Some(format!("{p} (forwarded for {f})")),
        (Some(p), None) => Some(p),
        (None, f) => f.map(|f| format!("unknown (forwarded for {f})")),
    }
}

/// The header the pages' script sends with changes made through the API.
pub const CSRF_HEADER: &str = "x-requested-by";

/// The bearer token of a request, from the Authorization header or else
/// the session cookie; true when it came from the cookie.
pub fn token(parts: &Parts) -> Result<(String, bool), ApiError> {
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
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
        return Ok((token.to_string(), false));
    }
    session_cookie(parts).map(|t| (t, true)).ok_or_else(|| {
        ApiError::Unauthorized("sign in first: the request has no bearer token".into())
    })
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
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
