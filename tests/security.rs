//! The gateway's defences, through HTTP against the real services: which
//! tokens it accepts.

use bf_e2e::api::{token, Api, ALL_ROLES, SECRET};
use bf_e2e::files::generate;
use bf_e2e::{Options, Stack};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Test-only keys, see crates/auth/testdata/README.md.
const RSA_PRIVATE: &[u8] = include_bytes!("../crates/auth/testdata/rsa-private.der");
const RSA_PUBLIC_PEM: &str = include_str!("../crates/auth/testdata/rsa-public.pem");
const JWKS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/auth/testdata/jwks.json"
);
const KID: &str = "test-rsa-1";

fn claims(tenant: &str) -> bf_auth::Claims {
    bf_auth::Claims {
        tenant: tenant.into(),
        sub: "lead".into(),
        roles: ALL_ROLES.iter().map(|r| r.to_string()).collect(),
        exp: bf_auth::expiry_in(Duration::from_secs(600)),
    }
}

fn party(issuer: &str, audience: &str) -> bf_auth::Party {
    bf_auth::Party {
        issuer: issuer.into(),
        audience: audience.into(),
    }
}

async fn stack_with(env: &[(&str, &str)]) -> anyhow::Result<Stack> {
    Stack::start_with(Options {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refused_token_is_the_same_401_that_says_nothing_about_why() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let local = bf_auth::Party::local();
    let mut expired = claims("practice-a");
    expired.exp = bf_auth::expiry_in(Duration::ZERO) - 3600;
    let refused = [
        ("expired", bf_auth::mint(&expired, &local, SECRET)?),
        (
            "another issuer",
            bf_auth::mint(
                &claims("practice-a"),
                &party("https://evil.example", bf_auth::LOCAL_AUDIENCE),
                SECRET,
            )?,
        ),
        (
            "another audience",
            bf_auth::mint(
                &claims("practice-a"),
                &party(bf_auth::LOCAL_ISSUER, "reports"),
                SECRET,
            )?,
        ),
        (
            "another secret",
            bf_auth::mint(&claims("practice-a"), &local, "guessed")?,
        ),
        (
            "RS256 when only a secret is configured",
            bf_auth::mint_rs256(&claims("practice-a"), &local, RSA_PRIVATE, KID)?,
        ),
        ("not a JWT", "not.a.jwt".to_string()),
    ];
    let mut bodies = Vec::new();
    for (why, token) in &refused {
        let answer = Api::new(&stack.gateway_url, Some(token.clone()))
            .get("/v1/imports")
            .await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{why}");
        bodies.push(answer.text);
    }
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "every reason answers alike: {bodies:?}"
    );
    let body: Value = serde_json::from_str(&bodies[0])?;
    assert_eq!(body["error"]["code"], "unauthorized");
    for word in ["issuer", "audience", "signature", "algorithm", "RS256"] {
        assert!(!bodies[0].contains(word), "the answer names {word}");
    }
    // The operator can tell why from the log, which never holds a token.
    let logs = stack.logs();
    assert!(logs.contains("token refused"));
    for (why, token) in &refused {
        assert!(
            !logs.contains(token.as_str()),
            "the log holds the {why} token"
        );
    }
    let good = Api::new(
        &stack.gateway_url,
        Some(token("practice-a", "lead", &ALL_ROLES)),
    );
    assert_eq!(good.get("/v1/imports").await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_jwks_file_only_rs256_tokens_from_the_provider_are_accepted() -> anyhow::Result<()> {
    let stack = stack_with(&[
        ("BF_JWT_JWKS", JWKS_FILE),
        ("BF_JWT_ISSUER", "https://ehr.example"),
        ("BF_JWT_AUDIENCE", "balance-import"),
    ])
    .await?;
    let provider = party("https://ehr.example", "balance-import");
    let signed = bf_auth::mint_rs256(&claims("practice-a"), &provider, RSA_PRIVATE, KID)?;
    let api = Api::new(&stack.gateway_url, Some(signed));
    assert_eq!(api.get("/v1/imports").await?.status, StatusCode::OK);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    api.upload("a.csv", &file.csv).await?;

    let refused = [
        (
            "HS256 with the shared secret",
            bf_auth::mint(&claims("practice-a"), &provider, SECRET)?,
        ),
        (
            "HS256 keyed with the public key",
            bf_auth::mint(&claims("practice-a"), &provider, RSA_PUBLIC_PEM)?,
        ),
        (
            "RS256 naming an unknown key",
            bf_auth::mint_rs256(&claims("practice-a"), &provider, RSA_PRIVATE, "other")?,
        ),
        (
            "RS256 for the local audience",
            bf_auth::mint_rs256(
                &claims("practice-a"),
                &bf_auth::Party::local(),
                RSA_PRIVATE,
                KID,
            )?,
        ),
    ];
    for (why, token) in refused {
        let answer = Api::new(&stack.gateway_url, Some(token))
            .get("/v1/imports")
            .await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{why}");
    }
    // Local tokens cannot work here, so the local sign-in is off.
    let signin = reqwest::Client::new()
        .post(format!("{}/signin", stack.gateway_url))
        .form(&[("tenant", "practice-a"), ("user", "me")])
        .send()
        .await?;
    assert_eq!(signin.status(), StatusCode::NOT_FOUND);
    Ok(())
}
