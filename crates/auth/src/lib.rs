//! Bearer tokens. The gateway verifies them, `bfctl` and the tests mint
//! them; one definition of the claims keeps the two in step.
//!
//! Production tokens come from the host EHR, signed RS256 or ES256 with a
//! key published as a JWKS ([`Verifier::from_jwks`]). A developer's
//! machine signs HS256 with a shared secret ([`Verifier::from_secret`]).
//! A verifier accepts exactly one of the two, so a token can never choose
//! how it is checked.

mod error;
mod mint;
mod verify;

pub use error::TokenError;
pub use mint::{expiry_in, mint, mint_rs256};
pub use verify::{Verifier, LEEWAY_SECS};

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

/// The `iss` of locally minted tokens, and the gateway's default.
pub const LOCAL_ISSUER: &str = "bf-local";

/// The `aud` of locally minted tokens, and the gateway's default.
pub const LOCAL_AUDIENCE: &str = "bf-gateway";

/// What a token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Tenant (practice) id; every query is scoped to it.
    pub tenant: String,
    /// User id, recorded on every state change.
    pub sub: String,
    /// What the bearer may do beyond reading their own tenant's data.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Expiry, seconds since the epoch. Defaulted only so that a token
    /// without one is reported as missing it; verification requires it.
    #[serde(default)]
    pub exp: u64,
}

impl Claims {
    /// Whether the bearer holds a role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Who issues tokens (`iss`) and for whom (`aud`). A token from another
/// issuer, or meant for another service of the same issuer, is refused
/// even when its signature is good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The expected `iss`.
    pub issuer: String,
    /// The expected `aud`.
    pub audience: String,
}

impl Party {
    /// The issuer and audience of a developer's machine.
    pub fn local() -> Party {
        Party {
            issuer: LOCAL_ISSUER.to_string(),
            audience: LOCAL_AUDIENCE.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
