//! The whole path of one import, on the real services: template, upload,
//! review, Save, claim history, void.

use bf_e2e::files::{generate, TEMPLATE_HEADER};
use bf_e2e::Stack;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

const TENANT: &str = "practice-a";
/// UTC+14: its calendar day is often not UTC's, so a DOS computed in the
/// wrong zone shows.
const ZONE: &str = "Pacific/Kiritimati";

fn dec(v: &serde_json::Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or("x")).unwrap_or(Decimal::MIN)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2000_row_file_reaches_review_with_exact_counts_and_each_valid_row_gets_one_bf_claim(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(2000);
    let e = &file.expected;
    api.load_patients(&file.patients).await?;
    let settings = api
        .put_json("/v1/tenant/settings", &json!({"time_zone": ZONE}))
        .await?;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text);

    let started = Instant::now();
    let id = api.upload("balances.csv", &file.csv).await?;
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(120))
        .await?;
    let to_review = started.elapsed();

    assert_eq!(
        import["counts"],
        json!({
            "total": e.total, "valid": e.valid, "flagged": e.flagged, "invalid": e.invalid, "skipped": e.skipped
        })
    );
    assert_eq!(dec(&import["totals"]["patient_balance"]), e.patient_balance);
    assert_eq!(
        dec(&import["totals"]["insurance_balance"]),
        e.insurance_balance
    );
    assert_eq!(import["progress"], json!(1.0));
    assert_eq!(import["uploaded_by"], "lead@example.test");
    assert_eq!(import["size_bytes"], json!(file.csv.len()));

    // Every line has exactly the status the generator intended.
    let mut seen = BTreeMap::new();
    for status in ["valid", "flagged", "invalid", "skipped"] {
        for row in api.rows(&id, status).await? {
            assert_eq!(row["status"], status);
            seen.insert(row["line"].as_i64().unwrap_or(0) as i32, status);
            if status != "valid" {
                assert!(
                    !row["problems"]
                        .as_array()
                        .map(Vec::is_empty)
                        .unwrap_or(true),
                    "{row}"
                );
            }
        }
    }
    assert_eq!(seen, e.statuses);

    let saved_at = chrono::Utc::now();
    let approve = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    let done = api
        .wait_for(&id, &["completed"], Duration::from_secs(120))
        .await?;
    let end_to_end = started.elapsed();
    eprintln!("2000 rows: upload to review {to_review:?}, upload to completed {end_to_end:?}");
    assert_eq!(done["claims_created"], json!(e.valid));

    // The ledger holds exactly one BF claim per valid line, nothing else.
    let tz = bf_domain::date::parse_time_zone(ZONE).expect("zone");
    let days = [
        bf_domain::date::local_date(saved_at, tz),
        bf_domain::date::local_date(chrono::Utc::now(), tz),
    ];
    let claims: Vec<(i32, String, chrono::NaiveDate, String, String)> = sqlx::query_as(
        "SELECT import_line, patient_id, date_of_service, kind, status FROM claims ORDER BY import_line",
    )
    .fetch_all(&stack.claims_db)
    .await?;
    assert_eq!(claims.len(), e.claims.len());
    for (line, patient, dos, kind, status) in &claims {
        let want = &e.claims[line];
        assert_eq!(patient, &want.patient_id);
        assert!(
            days.contains(dos),
            "DOS {dos} is not the approval day in {ZONE}"
        );
        assert_eq!(
            (kind.as_str(), status.as_str()),
            ("balance_forward", "active")
        );
    }
    let lines: Vec<(i32, String, Decimal, String)> = sqlx::query_as(
        "SELECT c.import_line, l.service_code, l.charge, l.responsibility
           FROM claim_lines l JOIN claims c USING (claim_id) ORDER BY c.import_line, l.line_number",
    )
    .fetch_all(&stack.claims_db)
    .await?;
    let mut by_line: BTreeMap<i32, Vec<(Decimal, String)>> = BTreeMap::new();
    for (line, code, charge, responsibility) in lines {
        assert_eq!(code, "BF");
        by_line
            .entry(line)
            .or_default()
            .push((charge, responsibility));
    }
    for (line, want) in &e.claims {
        let mut expected = Vec::new();
        if !want.patient.is_zero() {
            expected.push((want.patient, "patient".to_string()));
        }
        if !want.insurance.is_zero() {
            expected.push((want.insurance, "insurance".to_string()));
        }
        assert_eq!(by_line.get(line), Some(&expected), "line {line}");
    }

    // The claim history shows it, with its import and line.
    let (line, want) = e
        .claims
        .iter()
        .find(|(_, c)| !c.insurance.is_zero() && !c.patient.is_zero())
        .expect("a two-line claim");
    let history = api
        .get(&format!("/v1/patients/{}/claims", want.patient_id))
        .await?;
    assert_eq!(history.status, StatusCode::OK);
    let entries = history.body["claims"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", history.text);
    assert_eq!(entries[0]["service_code"], "BF");
    assert_eq!(entries[0]["import_id"], json!(id));
    assert_eq!(entries[0]["line"], json!(line));
    assert_eq!(dec(&entries[0]["amount"]), want.patient);
    assert_eq!(entries[1]["responsibility"], "insurance");
    assert_eq!(
        entries[0]["date_of_service"],
        json!(claims[0].2.to_string())
    );

    // Void: every claim voided, and voiding twice changes nothing.
    let void = api.post(&format!("/v1/imports/{id}/void")).await?;
    assert_eq!(void.status, StatusCode::OK, "{}", void.text);
    assert_eq!(void.body["status"], "voided");
    let again = api.post(&format!("/v1/imports/{id}/void")).await?;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["voided_at"], void.body["voided_at"]);
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM claims WHERE status = 'active'")
        .fetch_one(&stack.claims_db)
        .await?;
    assert_eq!(active, 0);
    assert_eq!(stack.claim_count(&id).await?, e.valid);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_missing_patient_balance_fails_naming_it_and_nothing_is_claimed(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(40);
    api.load_patients(&file.patients).await?;
    let csv = "patient_account_number,last_name,first_name,date_of_birth,insurance_balance\n000001,Nguyễn1,Zoë1,1931-02-02,10.00\n";
    let id = api.upload("no-balance.csv", csv).await?;
    let import = loop {
        let import = api.import(&id).await?;
        if import["status"] == "failed" {
            break import;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = import["failure"].as_str().unwrap_or_default();
    assert!(reason.contains("patient_balance"), "{reason}");
    assert_eq!(import["counts"]["total"], 0);
    let approve = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::CONFLICT);
    assert!(api.rows(&id, "valid").await?.is_empty());
    assert_eq!(stack.claim_count(&id).await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_and_its_column_guide_name_every_column_in_order() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let template = api.get("/v1/imports/patient-balances/template").await?;
    assert_eq!(template.status, StatusCode::OK);
    assert_eq!(template.text.trim_end(), TEMPLATE_HEADER);
    let guide = api
        .get("/v1/imports/patient-balances/template/columns")
        .await?;
    let columns = guide.body["columns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = columns.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names.join(","), TEMPLATE_HEADER);
    assert_eq!(columns[5]["required"], true);
    assert_eq!(
        columns[5]["format"],
        "decimal, at most 2 places; negative = credit owed to the patient"
    );
    assert!(columns
        .iter()
        .all(|c| c["example"].as_str().is_some_and(|e| !e.is_empty())));
    let openapi = api.get("/v1/openapi.json").await?;
    assert!(openapi.body["paths"]["/v1/imports/{id}/approve"]["post"].is_object());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_accepted_as_multipart_with_location_size_and_sha256() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(20);
    api.load_patients(&file.patients).await?;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text(file.csv.clone()).file_name("export.csv"),
    );
    let response = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str()?.to_string();
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["status"], "queued");
    let id = body["id"].as_str().unwrap_or_default();
    assert_eq!(location, format!("/v1/imports/{id}"));
    let import = api
        .wait_for(id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    assert_eq!(import["file_name"], "export.csv");
    assert_eq!(import["counts"]["total"], 20);
    let sha = {
        use std::fmt::Write;
        let digest = <sha2_digest::Sha256 as sha2_digest::Digest>::digest(file.csv.as_bytes());
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert_eq!(import["sha256"], json!(sha));
    let listed = api.get("/v1/imports").await?;
    assert_eq!(listed.body["imports"][0]["id"], json!(id));
    Ok(())
}

mod sha2_digest {
    pub use sha2::{Digest, Sha256};
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_directory_load_and_save_refresh_the_planners_statistics() -> anyhow::Result<()> {
    // Statistics taken while the tables were nearly empty made matching
    // and Save scan all of a practice's rows on every batch.
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(6000);
    api.load_patients(&file.patients).await?;
    let analysed = |table: &'static str| {
        let db = stack.claims_db.clone();
        async move {
            let at: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
                "SELECT greatest(last_analyze, last_autoanalyze) FROM pg_stat_user_tables
                  WHERE relname = $1",
            )
            .bind(table)
            .fetch_one(&db)
            .await?;
            anyhow::Ok(at.is_some())
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !analysed("patients").await? {
        anyhow::ensure!(Instant::now() < deadline, "patients never analysed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let id = api.upload("balances.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(120))
        .await?;
    let approve = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    api.wait_for(&id, &["completed"], Duration::from_secs(120))
        .await?;
    while !analysed("claims").await? {
        anyhow::ensure!(
            Instant::now() < deadline + Duration::from_secs(60),
            "claims never analysed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
