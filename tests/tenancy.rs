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
    let no_write = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-a", "viewer", &[]))
        .body("x")
        .send()
        .await?;
    assert_eq!(no_write.status(), StatusCode::FORBIDDEN);
    assert_eq!(lead.import(&id).await?["status"], "ready_for_review");
    Ok(())
}

/// Every role the gateway knows.
const EVERY_ROLE: [&str; 4] = [
    bf_auth::ROLE_IMPORTS_WRITE,
    bf_auth::ROLE_IMPORTS_APPROVE,
    bf_auth::ROLE_PATIENTS_WRITE,
    bf_auth::ROLE_OPS,
];

/// A client holding only `role`, and one holding every role but it.
fn with_and_without(stack: &Stack, role: &str) -> (Api, Api) {
    let others: Vec<&str> = EVERY_ROLE.into_iter().filter(|r| *r != role).collect();
    (
        stack.client("practice-a", "with", &[role]),
        stack.client("practice-a", "without", &others),
    )
}

/// An import of practice-a, read and ready for review.
async fn ready_import(stack: &Stack) -> anyhow::Result<String> {
    let lead = stack.billing_lead("practice-a");
    let file = generate(20);
    lead.load_patients(&file.patients).await?;
    let id = lead.upload("a.csv", &file.csv).await?;
    lead.wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    Ok(id)
}

#[tokio::test(flavor = "multi_thread")]
async fn uploading_and_saving_profiles_need_imports_write() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (with, without) = with_and_without(&stack, bf_auth::ROLE_IMPORTS_WRITE);
    let csv = generate(5).csv;
    let profile = serde_json::json!({"mapping": {"Acct": "patient_account_number"}});

    let refused = without.upload("a.csv", &csv).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("403")));
    let answer = without
        .put_json("/v1/import-profiles/mine", &profile)
        .await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["error"]["code"], "forbidden");
    assert_eq!(
        without.get("/v1/imports").await?.body["imports"],
        serde_json::json!([])
    );

    with.upload("a.csv", &csv).await?;
    let saved = with.put_json("/v1/import-profiles/mine", &profile).await?;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn saving_voiding_and_settings_need_imports_approve() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let id = ready_import(&stack).await?;
    let (with, without) = with_and_without(&stack, bf_auth::ROLE_IMPORTS_APPROVE);
    let zone = serde_json::json!({"time_zone": "America/Chicago"});

    for answer in [
        without.post(&format!("/v1/imports/{id}/approve")).await?,
        without.post(&format!("/v1/imports/{id}/void")).await?,
        without.put_json("/v1/tenant/settings", &zone).await?,
    ] {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    }
    assert_eq!(with.import(&id).await?["status"], "ready_for_review");

    let approve = with.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    with.wait_for(&id, &["completed"], Duration::from_secs(60))
        .await?;
    let void = with.post(&format!("/v1/imports/{id}/void")).await?;
    assert_eq!(void.status, StatusCode::OK, "{}", void.text);
    assert_eq!(void.body["status"], "voided");
    let settings = with.put_json("/v1/tenant/settings", &zone).await?;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_the_patient_directory_needs_patients_write() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (with, without) = with_and_without(&stack, bf_auth::ROLE_PATIENTS_WRITE);
    let patients = generate(5).patients;

    let refused = without.post_json("/v1/patients", &patients).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let patient = patients[0]["patient_id"].as_str().unwrap_or_default();
    assert_eq!(
        with.get(&format!("/v1/patients/{patient}/claims"))
            .await?
            .status,
        StatusCode::NOT_FOUND,
        "the refused load stored nothing"
    );

    with.load_patients(&patients).await?;
    assert_eq!(
        with.get(&format!("/v1/patients/{patient}/claims"))
            .await?
            .status,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ops_view_needs_ops() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let id = ready_import(&stack).await?;
    let (with, without) = with_and_without(&stack, bf_auth::ROLE_OPS);

    let refused = without.get("/v1/ops/imports").await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.text.contains(&id));

    let view = with.get("/v1/ops/imports").await?;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert!(view.text.contains(&id));
    Ok(())
}

/// What practice A has that practice B must never see.
struct Owned {
    import_id: String,
    profile: &'static str,
    patient_id: String,
    secrets: Vec<String>,
}

/// Practice A: a directory, a saved profile and a completed import.
async fn practice_a(stack: &Stack) -> anyhow::Result<Owned> {
    let a = stack.billing_lead("practice-a");
    let file = generate(20);
    a.load_patients(&file.patients).await?;
    let profile = "a-secret-profile";
    let saved = a
        .put_json(
            &format!("/v1/import-profiles/{profile}"),
            &serde_json::json!({"mapping": {"Acct": "patient_account_number"}}),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let import_id = a.upload("a-secret-export.csv", &file.csv).await?;
    a.wait_for(&import_id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    let approve = a.post(&format!("/v1/imports/{import_id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED);
    a.wait_for(&import_id, &["completed"], Duration::from_secs(60))
        .await?;
    let patient_id = file
        .expected
        .claims
        .values()
        .next()
        .expect("a valid row")
        .patient_id
        .clone();
    let mut secrets = vec![
        import_id.clone(),
        profile.to_string(),
        "a-secret-export.csv".to_string(),
    ];
    for p in file.patients.as_array().into_iter().flatten() {
        for field in ["patient_id", "last_name", "first_name"] {
            secrets.extend(p[field].as_str().map(str::to_string));
        }
    }
    Ok(Owned {
        import_id,
        profile,
        patient_id,
        secrets,
    })
}

/// Writes that create the caller's own resource of that name, so another
/// tenant's call succeeds on its own data: A's must stay as it was.
const OWN_NAMESPACE_WRITES: [(&str, &str); 1] = [("put", "/v1/import-profiles/{name}")];

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_another_tenant_with_404_or_only_its_own_data() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let owned = practice_a(&stack).await?;
    let a = stack.billing_lead("practice-a");
    let a_profiles = a.get("/v1/import-profiles").await?.body;
    let b_token = token("practice-b", "lead-b", &ALL_ROLES);
    let a_token = token("practice-a", "lead@example.test", &ALL_ROLES);
    // Redirects are answers too: none is followed.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // The document lists every route the gateway serves, pages included.
    let document: serde_json::Value = http
        .get(format!("{}/v1/openapi.json", stack.gateway_url))
        .send()
        .await?
        .json()
        .await?;
    let paths = document["paths"].as_object().expect("paths").clone();
    assert!(
        paths.contains_key("/imports/{id}/save"),
        "pages are in the walk"
    );
    let mut walked = 0;
    for (template, item) in &paths {
        // Deletes before puts, so B's delete cannot find a profile B made.
        for method in ["get", "post", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            let path = template
                .replace("{id}", &owned.import_id)
                .replace("{name}", owned.profile)
                .replace("{patient_id}", &owned.patient_id);
            assert!(
                !path.contains('{'),
                "{template}: a new path parameter; give the walk practice A's value for it"
            );
            let url = format!("{}{path}", stack.gateway_url);
            let request = match method {
                "get" => http.get(&url),
                "delete" => http.delete(&url),
                "put" => http.put(&url).json(&serde_json::json!({})),
                _ if path.starts_with("/v1/") => http.post(&url),
                // Pages take forms; B's form is well formed.
                _ => http.post(&url).form(&[
                    ("accept_flagged", "none"),
                    ("existing_balance_forward", "skip"),
                ]),
            };
            let response = request.bearer_auth(&b_token).send().await?;
            let status = response.status();
            let body = response.text().await?;
            walked += 1;
            let what = format!("{} {template} answered {status}", method.to_uppercase());
            assert!(!status.is_server_error(), "{what}: {body}");
            if OWN_NAMESPACE_WRITES.contains(&(method, template.as_str())) {
                continue;
            }
            if template.contains('{') {
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
                if method == "get" {
                    // Control: the same ids do open A's own resource.
                    let own = http.get(&url).bearer_auth(&a_token).send().await?;
                    assert!(
                        own.status().is_success(),
                        "GET {template} as A: {}",
                        own.status()
                    );
                }
            }
            for secret in &owned.secrets {
                assert!(!body.contains(secret.as_str()), "{what} shows A's {secret}");
            }
        }
    }
    assert!(walked >= 30, "walked only {walked} routes");
    println!("walked {walked} routes as another tenant");

    // The walk's own upload is all B lists.
    let b = stack.billing_lead("practice-b");
    let listed = b.get("/v1/imports").await?.body["imports"].clone();
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().all(|i| i["uploaded_by"] == "lead-b")),
        "{listed}"
    );
    let profiles = b.get("/v1/import-profiles").await?.body;
    assert!(
        profiles
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["name"] == owned.profile)),
        "B lists at most the profile it made itself: {profiles}"
    );
    // A's data is as it was.
    assert_eq!(a.import(&owned.import_id).await?["status"], "completed");
    assert_eq!(a.get("/v1/import-profiles").await?.body, a_profiles);
    assert_eq!(a_profiles[0]["name"], owned.profile);
    Ok(())
}
