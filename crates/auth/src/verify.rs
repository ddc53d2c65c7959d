//! Verification with a pinned algorithm: the verifier's keys decide how a
//! token is checked, never the token's own header.

use crate::{Claims, Party, TokenError};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

/// Clock difference tolerated on `exp` and `nbf`, in seconds: enough for
/// hosts whose clocks drift a little, small enough to keep expiry meaningful.
pub const LEEWAY_SECS: u64 = 30;

/// Checks tokens against one kind of key: a shared HS256 secret or a set
/// of public keys. Holding only one kind is what makes algorithm confusion
/// (an HS256 token "signed" with a public key) impossible.
pub struct Verifier {
    keys: Keys,
    party: Party,
}

enum Keys {
    Secret(DecodingKey),
    Public(Vec<PublicKey>),
}

struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl Verifier {
    /// HS256 with a shared secret: a developer's machine and the tests.
    pub fn from_secret(secret: &str, party: Party) -> Verifier {
        Verifier {
            keys: Keys::Secret(DecodingKey::from_secret(secret.as_bytes())),
            party,
        }
    }

    /// RS256 and ES256 (P-256) public keys from a JWKS document. Keys of
    /// other kinds, for encryption, or symmetric (`oct`) are ignored: a
    /// symmetric key in a published set would let anyone sign.
    pub fn from_jwks(json: &str, party: Party) -> Result<Verifier, TokenError> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|_| TokenError::KeySet("it is not a JWKS document"))?;
        let keys: Vec<PublicKey> = set.keys.iter().filter_map(public_key).collect();
        if keys.is_empty() {
            return Err(TokenError::KeySet("it has no RS256 or ES256 signing key"));
        }
        Ok(Verifier {
            keys: Keys::Public(keys),
            party,
        })
    }

    /// Whether this verifier accepts tokens signed with the shared secret,
    /// i.e. whether local minting can work against it.
    pub fn uses_secret(&self) -> bool {
        matches!(self.keys, Keys::Secret(_))
    }

    /// The token's claims, if its signature, algorithm, key, issuer,
    /// audience, expiry and not-before all check out.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let (algorithm, key) = self.key_for(header.alg, header.kid.as_deref())?;
        let data = decode::<Claims>(token, key, &self.validation(algorithm))?;
        if data.claims.tenant.trim().is_empty() || data.claims.sub.trim().is_empty() {
            return Err(TokenError::MissingIdentity);
        }
        Ok(data.claims)
    }

    /// The key a token must be checked with, and the only algorithm that
    /// key may be used with; the header's algorithm must match it.
    fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<(Algorithm, &DecodingKey), TokenError> {
        let (algorithm, key) = match &self.keys {
            Keys::Secret(key) => (Algorithm::HS256, key),
            Keys::Public(keys) => {
                let found = match kid {
                    Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
                    None if keys.len() == 1 => keys.first(),
                    None => None,
                };
                let found = found.ok_or(TokenError::UnknownKey)?;
                (found.algorithm, &found.key)
            }
        };
        if alg != algorithm {
            return Err(TokenError::Algorithm);
        }
        Ok((algorithm, key))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.party.issuer]);
        validation.set_audience(&[&self.party.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation
    }
}

/// A JWK usable for verifying signatures, with the one algorithm it is for.
fn public_key(jwk: &jsonwebtoken::jwk::Jwk) -> Option<PublicKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let declared = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) if matches!(declared, None | Some(KeyAlgorithm::RS256)) => {
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec)
            if ec.curve == EllipticCurve::P256
                && matches!(declared, None | Some(KeyAlgorithm::ES256)) =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    Some(PublicKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}
