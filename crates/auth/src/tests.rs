//! One test per reason a token is refused, and the two key kinds accepted.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::Duration;

/// Test-only RSA key pair (see testdata/README.md).
const RSA_PRIVATE: &[u8] = include_bytes!("../testdata/rsa-private.der");
const RSA_PUBLIC: &[u8] = include_bytes!("../testdata/rsa-public.pem");
const JWKS: &str = include_str!("../testdata/jwks.json");
const KID: &str = "test-rsa-1";

fn claims() -> Claims {
    Claims {
        tenant: "t1".into(),
        sub: "u1".into(),
        roles: vec![ROLE_IMPORTS_WRITE.into()],
        exp: expiry_in(Duration::from_secs(60)),
    }
}

fn now() -> i64 {
    expiry_in(Duration::ZERO) as i64
}

/// A full claim set as JSON, to be altered by a test.
fn raw_claims() -> Value {
    json!({
        "tenant": "t1", "sub": "u1", "roles": [],
        "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE,
        "iat": now(), "nbf": now(), "exp": now() + 60,
    })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn local() -> Verifier {
    Verifier::from_secret("s", Party::local())
}

fn jwks() -> Verifier {
    Verifier::from_jwks(JWKS, Party::local()).unwrap()
}

#[test]
fn a_minted_token_verifies() {
    let t = mint(&claims(), &Party::local(), "s").unwrap();
    assert_eq!(local().verify(&t).unwrap(), claims());
}

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    let t = mint(&claims(), &Party::local(), "other").unwrap();
    assert_eq!(local().verify(&t), Err(TokenError::Signature));
}

#[test]
fn a_tampered_token_is_refused() {
    let t = mint(&claims(), &Party::local(), "s").unwrap();
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    let mut c = raw_claims();
    c["tenant"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
    assert_eq!(local().verify(&parts.join(".")), Err(TokenError::Signature));
}

#[test]
fn an_expired_token_is_refused() {
    let mut c = raw_claims();
    c["exp"] = json!(now() - 2 * LEEWAY_SECS as i64);
    assert_eq!(local().verify(&hs256(&c, b"s")), Err(TokenError::Expired));
}

#[test]
fn a_token_expired_within_the_leeway_still_verifies() {
    let mut c = raw_claims();
    c["exp"] = json!(now() - 5);
    assert!(local().verify(&hs256(&c, b"s")).is_ok());
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    let mut c = raw_claims();
    c["nbf"] = json!(now() + 2 * LEEWAY_SECS as i64);
    assert_eq!(
        local().verify(&hs256(&c, b"s")),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn a_token_from_another_issuer_is_refused() {
    let mut c = raw_claims();
    c["iss"] = json!("https://evil.example");
    assert_eq!(local().verify(&hs256(&c, b"s")), Err(TokenError::Issuer));
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let mut c = raw_claims();
    c["aud"] = json!(["billing-reports"]);
    assert_eq!(local().verify(&hs256(&c, b"s")), Err(TokenError::Audience));
}

#[test]
fn a_token_with_its_audience_in_a_list_verifies() {
    let mut c = raw_claims();
    c["aud"] = json!(["billing-reports", LOCAL_AUDIENCE]);
    assert!(local().verify(&hs256(&c, b"s")).is_ok());
}

#[test]
fn a_token_without_issuer_audience_or_expiry_is_refused() {
    for claim in ["iss", "aud", "exp"] {
        let mut c = raw_claims();
        c.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            local().verify(&hs256(&c, b"s")),
            Err(TokenError::MissingClaim(claim.to_string())),
            "{claim}"
        );
    }
}

#[test]
fn an_unsigned_alg_none_token_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(raw_claims().to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_eq!(local().verify(&token), Err(TokenError::Malformed));
        assert_eq!(jwks().verify(&token), Err(TokenError::Malformed));
    }
}

#[test]
fn an_empty_tenant_is_refused() {
    let mut c = claims();
    c.tenant = " ".into();
    let t = mint(&c, &Party::local(), "s").unwrap();
    assert_eq!(local().verify(&t), Err(TokenError::MissingIdentity));
}

#[test]
fn an_rs256_token_verifies_against_the_jwks_file() {
    let t = mint_rs256(&claims(), &Party::local(), RSA_PRIVATE, KID).unwrap();
    assert_eq!(jwks().verify(&t).unwrap(), claims());
}

#[test]
fn an_rs256_token_is_refused_when_only_a_secret_is_configured() {
    let t = mint_rs256(&claims(), &Party::local(), RSA_PRIVATE, KID).unwrap();
    assert_eq!(local().verify(&t), Err(TokenError::Algorithm));
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_is_refused_when_keys_are_configured() {
    // The classic confusion: the public key, which anyone has, used as an
    // HMAC secret; naming the real key id does not help.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_string());
    let forged = encode(
        &header,
        &raw_claims(),
        &EncodingKey::from_secret(RSA_PUBLIC),
    )
    .unwrap();
    assert_eq!(jwks().verify(&forged), Err(TokenError::Algorithm));
    let no_kid = hs256(&raw_claims(), RSA_PUBLIC);
    assert_eq!(jwks().verify(&no_kid), Err(TokenError::Algorithm));
    let with_secret = mint(&claims(), &Party::local(), DEV_SECRET).unwrap();
    assert_eq!(jwks().verify(&with_secret), Err(TokenError::Algorithm));
}

#[test]
fn a_token_naming_an_unknown_key_is_refused() {
    let t = mint_rs256(&claims(), &Party::local(), RSA_PRIVATE, "rotated-away").unwrap();
    assert_eq!(jwks().verify(&t), Err(TokenError::UnknownKey));
}

#[test]
fn an_rs256_token_from_another_issuer_is_refused_even_with_a_good_signature() {
    let other = Party {
        issuer: "https://other-ehr.example".into(),
        audience: LOCAL_AUDIENCE.into(),
    };
    let t = mint_rs256(&claims(), &other, RSA_PRIVATE, KID).unwrap();
    assert_eq!(jwks().verify(&t), Err(TokenError::Issuer));
}

#[test]
fn a_jwks_with_only_symmetric_keys_is_refused() {
    let set = json!({"keys": [{"kty": "oct", "kid": "k", "k": URL_SAFE_NO_PAD.encode("secret")}]});
    assert!(matches!(
        Verifier::from_jwks(&set.to_string(), Party::local()),
        Err(TokenError::KeySet(_))
    ));
    assert!(matches!(
        Verifier::from_jwks("not json", Party::local()),
        Err(TokenError::KeySet(_))
    ));
}

#[test]
fn an_es256_token_verifies_against_a_p256_key() {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // An uncompressed point: 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    let set = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let verifier = Verifier::from_jwks(&set.to_string(), Party::local()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-1".into());
    let t = encode(
        &header,
        &raw_claims(),
        &EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
    .unwrap();
    assert_eq!(verifier.verify(&t).unwrap().tenant, "t1");
    let mut wrong = Header::new(Algorithm::RS256);
    wrong.kid = Some("ec-1".into());
    let t = encode(
        &wrong,
        &raw_claims(),
        &EncodingKey::from_rsa_der(RSA_PRIVATE),
    )
    .unwrap();
    assert_eq!(verifier.verify(&t), Err(TokenError::Algorithm));
}
