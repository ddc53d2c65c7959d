//! No practice can see or touch another's data, and every call is
//! authenticated and authorised.

use bf_e2e::api::{token, Api, ALL_ROLES};
use bf_e2e::files::generate;
use bf_e2e::Stack;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_gets_404_on_the_import_its_rows_approve_void_and_claims(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let a = stack.billing_lead("practice-a");
    let b = stack.billing_lead("practice-b");
    let file = generate(40);
    a.load_patients(&file.patients).await?;
    let id = a.upload("a.csv", &file.csv).await?;
    a.wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;

    assert_eq!(
        b.get(&format!("/v1/imports/{id}")).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get(&format!("/v1/imports/{id}/rows?status=valid"))
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.post(&format!("/v1/imports/{id}/approve")).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.import(&id).await?["status"],
        "ready_for_review",
        "B's approve must not touch A's import"
    );

    let approve = a.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED);
    a.wait_for(&id, &["completed"], Duration::from_secs(60))
        .await?;
    let patient = &file
        .expected
        .claims
        .values()
        .next()
        .expect("a valid row")
        .patient_id;
    assert_eq!(
        a.get(&format!("/v1/patients/{patient}/claims"))
            .await?
            .status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&format!("/v1/patients/{patient}/claims"))
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.post(&format!("/v1/imports/{id}/void")).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(a.import(&id).await?["status"], "completed");
    assert_eq!(
        b.get("/v1/imports").await?.body["imports"],
        serde_json::json!([])
    );

    // B's own directory may reuse A's ids without seeing A's claims.
    b.load_patients(&file.patients).await?;
    let history = b.get(&format!("/v1/patients/{patient}/claims")).await?;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.body["claims"], serde_json::json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_bad_token_is_401_and_a_missing_role_is_403() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let anonymous = Api::new(&stack.gateway_url, None);
    for path in [
        "/v1/imports",
        "/v1/imports/patient-balances/template",
        "/v1/tenant/settings",
    ] {
        let answer = anonymous.get(path).await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.body["error"]["code"], "unauthorized");
    }
    let forged = Api::new(
        &stack.gateway_url,
        Some(token("practice-a", "u", &ALL_ROLES) + "x"),
    );
    assert_eq!(
        forged.get("/v1/imports").await?.status,
        StatusCode::UNAUTHORIZED
    );
    let other_secret = bf_auth::mint(
        &bf_auth::Claims {
            tenant: "practice-a".into(),
            sub: "u".into(),
            roles: vec![],
            exp: bf_auth::expiry_in(Duration::from_secs(60)),
        },
        &bf_auth::Party::local(),
        "not-the-secret",
    )?;
    let wrong = Api::new(&stack.gateway_url, Some(other_secret));
    assert_eq!(
        wrong.get("/v1/imports").await?.status,
        StatusCode::UNAUTHORIZED
    );

    let lead = stack.billing_lead("practice-a");
    let file = generate(20);
    lead.load_patients(&file.patients).await?;
    let id = lead.upload("a.csv", &file.csv).await?;
    lead.wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;

    let reader = stack.client("practice-a", "viewer", &[]);
    assert_eq!(
        reader.get(&format!("/v1/imports/{id}")).await?.status,
        StatusCode::OK
    );
    let refused = [
        reader.post(&format!("/v1/imports/{id}/approve")).await?,
        reader.post(&format!("/v1/imports/{id}/void")).await?,
        reader
            .post_json("/v1/patients", &serde_json::json!([]))
            .await?,
        reader
            .put_json(
                "/v1/tenant/settings",
                &serde_json::json!({"time_zone": "UTC"}),
            )
            .await?,
    ];
    for answer in refused {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    }
    let uploader = stack.client("practice-a", "clerk", &[bf_auth::ROLE_IMPORTS_WRITE]);
    assert_eq!(
        uploader
            .post(&format!("/v1/imports/{id}/approve"))
            .await?
            .status,
        StatusCode::FORBIDDEN
    );
    let no_write = reqwest::Client::new()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-a", "viewer", &[]))
        .body("x")
        .send()
        .await?;
    assert_eq!(no_write.status(), StatusCode::FORBIDDEN);
    assert_eq!(lead.import(&id).await?["status"], "ready_for_review");
    Ok(())
}
