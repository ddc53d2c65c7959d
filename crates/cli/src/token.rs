//! `bfctl token`: mint a bearer token locally, for development and for
//! ops holding the signing secret. No network.

use std::io::IsTerminal;
use std::time::Duration;

use bf_auth::{
    Claims, ROLE_IMPORTS_APPROVE, ROLE_IMPORTS_WRITE, ROLE_OPS, ROLE_PATIENTS_WRITE,
    ROLE_TENANT_ADMIN,
};

use crate::error::CliError;

/// Roles the gateway knows; anything else is probably a typo.
pub const KNOWN_ROLES: [&str; 5] = [
    ROLE_IMPORTS_WRITE,
    ROLE_IMPORTS_APPROVE,
    ROLE_PATIENTS_WRITE,
    ROLE_OPS,
    ROLE_TENANT_ADMIN,
];

/// What to put in the token.
pub struct Request {
    /// Tenant (practice) id.
    pub tenant: String,
    /// User id.
    pub user: String,
    /// Granted roles.
    pub roles: Vec<String>,
    /// Lifetime in hours.
    pub ttl_hours: u64,
    /// Signing secret; `None` means the development secret.
    pub secret: Option<String>,
    /// Issuer and audience the gateway expects.
    pub party: bf_auth::Party,
}

/// Build the claims, warning (on stderr) about unknown roles rather than
/// refusing them, since the gateway may know roles this build does not.
pub fn claims(req: &Request) -> Result<Claims, CliError> {
    let tenant = req.tenant.trim();
    let user = req.user.trim();
    if tenant.is_empty() || user.is_empty() {
        return Err(CliError::Input(
            "--tenant and --user must not be empty (the gateway refuses such tokens)".to_owned(),
        ));
    }
    let roles: Vec<String> = req
        .roles
        .iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    for role in &roles {
        if !KNOWN_ROLES.contains(&role.as_str()) {
            eprintln!(
                "warning: unknown role `{role}` (known: {})",
                KNOWN_ROLES.join(", ")
            );
        }
    }
    let ttl = Duration::from_secs(req.ttl_hours.saturating_mul(3600));
    Ok(Claims {
        tenant: tenant.to_owned(),
        sub: user.to_owned(),
        roles,
        exp: bf_auth::expiry_in(ttl),
    })
}

/// Mint the token. Uses the development secret when none is given, and
/// says so on an interactive terminal so nobody mistakes it for a real one.
pub fn mint(req: &Request) -> Result<String, CliError> {
    let claims = claims(req)?;
    let secret = match req.secret.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => {
            if std::io::stderr().is_terminal() {
                eprintln!("note: signed with the development secret (set BF_JWT_SECRET for a real gateway)");
            }
            bf_auth::DEV_SECRET
        }
    };
    bf_auth::mint(&claims, &req.party, secret).map_err(|e| CliError::Input(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            tenant: "t1".into(),
            user: "alice".into(),
            roles: vec![
                "imports:write".into(),
                " imports:approve ".into(),
                String::new(),
            ],
            ttl_hours: 12,
            secret: Some("s3cret".into()),
            party: bf_auth::Party::local(),
        }
    }

    fn verifier(secret: &str) -> bf_auth::Verifier {
        bf_auth::Verifier::from_secret(secret, bf_auth::Party::local())
    }

    #[test]
    fn a_minted_token_verifies_with_the_same_secret_and_roles() {
        let token = mint(&req()).unwrap();
        let claims = verifier("s3cret").verify(&token).unwrap();
        assert_eq!(claims.tenant, "t1");
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.roles, vec!["imports:write", "imports:approve"]);
        assert!(verifier(bf_auth::DEV_SECRET).verify(&token).is_err());
    }

    #[test]
    fn no_secret_means_the_dev_secret() {
        let mut r = req();
        r.secret = None;
        let token = mint(&r).unwrap();
        assert!(verifier(bf_auth::DEV_SECRET).verify(&token).is_ok());
    }

    #[test]
    fn a_token_for_another_issuer_does_not_verify_locally() {
        let mut r = req();
        r.party.issuer = "https://ehr.example".into();
        let token = mint(&r).unwrap();
        assert_eq!(
            verifier("s3cret").verify(&token),
            Err(bf_auth::TokenError::Issuer)
        );
    }

    #[test]
    fn the_ops_role_is_known() {
        assert!(KNOWN_ROLES.contains(&"ops"));
    }

    #[test]
    fn an_empty_tenant_is_refused() {
        let mut r = req();
        r.tenant = " ".into();
        assert!(claims(&r).is_err());
    }
}
