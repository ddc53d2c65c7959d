//! Bearer tokens. The gateway verifies them, `bfctl` and the tests mint
//! them; one definition of the claims keeps the two in step.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// May upload files and read imports.
pub const ROLE_IMPORTS_WRITE: &str = "imports:write";
/// May approve (Save) and void imports, and change tenant settings.
pub const ROLE_IMPORTS_APPROVE: &str = "imports:approve";
/// May load the patient directory.
pub const ROLE_PATIENTS_WRITE: &str = "patients:write";
/// A practice's administrator: may read the practice's audit trail.
pub const ROLE_TENANT_ADMIN: &str = "tenant:admin";
/// May watch every tenant's imports (ids, states and counts only).
pub const ROLE_OPS: &str = "ops";

/// The secret local tokens are signed with when none is configured. Never
/// use it outside a developer's machine.
pub const DEV_SECRET: &str = "bf-local-dev-secret";

/// What a token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Tenant (practice) id; every query is scoped to it.
    pub tenant: String,
    /// User id, recorded on every state change.
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

impl Claims {
    /// Whether the bearer holds a role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Why a token was refused. Never carries the token itself.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid: {0}")]
    Invalid(String),
    #[error("token has an empty tenant or user")]
    MissingIdentity,
}

/// Signs claims with HS256.
pub fn mint(claims: &Claims, secret: &str) -> Result<String, TokenError> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| TokenError::Invalid(e.to_string()))
}

/// Verifies an HS256 token's signature and expiry.
pub fn verify(token: &str, secret: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    let data = decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| TokenError::Invalid(e.kind_description()))?;
    if data.claims.tenant.trim().is_empty() || data.claims.sub.trim().is_empty() {
        return Err(TokenError::MissingIdentity);
    }
    Ok(data.claims)
}

/// Seconds since the epoch, `ttl` from now: the `exp` of a fresh token.
pub fn expiry_in(ttl: std::time::Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + ttl).as_secs()
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for jsonwebtoken::errors::Error {
    fn kind_description(&self) -> String {
        format!("{:?}", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            tenant: "t1".into(),
            sub: "u1".into(),
            roles: vec![ROLE_IMPORTS_WRITE.into()],
            exp: expiry_in(std::time::Duration::from_secs(60)),
        }
    }

    #[test]
    fn a_minted_token_verifies() {
        let t = mint(&claims(), "s").unwrap();
        assert_eq!(verify(&t, "s").unwrap(), claims());
    }

    #[test]
    fn a_wrong_secret_or_expired_token_is_refused() {
        let t = mint(&claims(), "s").unwrap();
        assert!(verify(&t, "other").is_err());
        let mut old = claims();
        old.exp = 1;
        assert!(verify(&mint(&old, "s").unwrap(), "s").is_err());
    }

    #[test]
    fn an_empty_tenant_is_refused() {
        let mut c = claims();
        c.tenant = " ".into();
        assert!(matches!(
            verify(&mint(&c, "s").unwrap(), "s"),
            Err(TokenError::MissingIdentity)
        ));
    }
}
