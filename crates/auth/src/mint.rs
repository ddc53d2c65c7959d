//! Minting: `bfctl token`, the local sign-in page and the tests.

use crate::{Claims, Party, TokenError};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The claims as signed: the bearer's plus who issued them, for whom and
/// from when.
#[derive(Serialize)]
struct Signed<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
}

impl<'a> Signed<'a> {
    fn new(claims: &'a Claims, party: &'a Party) -> Signed<'a> {
        let now = now_secs();
        Signed {
            claims,
            iss: &party.issuer,
            aud: &party.audience,
            iat: now,
            nbf: now,
        }
    }
}

/// Signs claims with HS256 and a shared secret: a developer's machine.
pub fn mint(claims: &Claims, party: &Party, secret: &str) -> Result<String, TokenError> {
    encode(
        &Header::new(Algorithm::HS256),
        &Signed::new(claims, party),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|_| TokenError::Signing)
}

/// Signs claims with RS256 and a PKCS#1 DER private key, naming the key
/// `kid`: what an identity provider does, for tests and tools that stand in
/// for one.
pub fn mint_rs256(
    claims: &Claims,
    party: &Party,
    private_der: &[u8],
    kid: &str,
) -> Result<String, TokenError> {
    let key = EncodingKey::from_rsa_der(private_der);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(&header, &Signed::new(claims, party), &key).map_err(|_| TokenError::Signing)
}

/// Seconds since the epoch, `ttl` from now: the `exp` of a fresh token.
pub fn expiry_in(ttl: std::time::Duration) -> u64 {
    now_secs() + ttl.as_secs()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
