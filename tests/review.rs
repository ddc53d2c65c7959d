//! Review before Save: the user's choices decide exactly what is posted.

use bf_e2e::files::generate;
use bf_e2e::{Options, Stack};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const TENANT: &str = "practice-review";

#[tokio::test(flavor = "multi_thread")]
async fn accepting_listed_flagged_lines_posts_those_and_the_valid_rows_only() -> anyhow::Result<()>
{
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(40);
    api.load_patients(&file.patients).await?;
    let id = api.upload("b.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let flagged = api.rows(&id, "flagged").await?;
    let first = flagged[0]["line"].as_i64().unwrap_or(0);

    // A line that is not flagged is refused, and nothing changes.
    let valid_line = api.rows(&id, "valid").await?[0]["line"].clone();
    let refused = api
        .post_json(
            &format!("/v1/imports/{id}/approve"),
            &json!({"accept_flagged": [valid_line]}),
        )
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(api.import(&id).await?["status"], "ready_for_review");

    let preview = api
        .get(&format!("/v1/imports/{id}/posting?accept_flagged={first}"))
        .await?;
    assert_eq!(preview.body["before"]["claims"], json!(file.expected.valid));
    assert_eq!(
        preview.body["after"]["claims"],
        json!(file.expected.valid + 1)
    );

    let save = api
        .post_json(
            &format!("/v1/imports/{id}/approve"),
            &json!({"accept_flagged": [first]}),
        )
        .await?;
    assert_eq!(save.status, StatusCode::ACCEPTED, "{}", save.text);
    let done = api
        .wait_for(&id, &["completed"], Duration::from_secs(30))
        .await?;
    assert_eq!(done["claims_created"], json!(file.expected.valid + 1));
    assert_eq!(done["decisions"]["accept_flagged"], json!([first]));
    let lines: Vec<i32> = sqlx::query_scalar("SELECT import_line FROM claims ORDER BY import_line")
        .fetch_all(&stack.claims_db)
        .await?;
    let mut want: Vec<i32> = file.expected.claims.keys().copied().collect();
    want.push(first as i32);
    want.sort();
    assert_eq!(
        lines, want,
        "the valid lines and the one accepted flagged line"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_balance_above_the_tenants_ceiling_is_flagged() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let settings = api
        .put_json(
            "/v1/tenant/settings",
            &json!({"time_zone": "America/Chicago", "balance_ceiling": "100.00"}),
        )
        .await?;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text);
    assert_eq!(settings.body["balance_ceiling"], "100.00");
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    let csv = format!(
        "{}\n000000,,Peña0,Zoë0,1930-01-01,100.01,,,\n000001,,Nguyễn1,Zoë1,1931-02-02,100.00,,,\n",
        bf_e2e::files::HEADER
    );
    let id = api.upload("ceiling.csv", &csv).await?;
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(import["counts"]["flagged"], 1);
    assert_eq!(import["counts"]["valid"], 1);
    let flagged = api.rows(&id, "flagged").await?;
    assert_eq!(flagged[0]["problems"][0]["code"], "balance_above_ceiling");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_over_the_size_limit_is_refused_and_nothing_is_recorded() -> anyhow::Result<()> {
    let stack = Stack::start_with(Options {
        env: vec![("BF_MAX_UPLOAD_BYTES".into(), "200".into())],
    })
    .await?;
    let api = stack.billing_lead(TENANT);
    let big = generate(20).csv;
    let answer = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body(big)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = answer.json().await?;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("larger than the limit"));
    assert_eq!(api.get("/v1/imports").await?.body["imports"], json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_profile_reads_the_next_export_the_same_way() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    let saved = api
        .put_json(
            "/v1/import-profiles/old-ehr",
            &json!({"mapping": {"Amt Owed": "patient_balance", "Balance": ""}, "date_format": "day_month_year", "decimal_style": "comma"}),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let csv = "Acct;Last;First;DOB;Balance;Amt Owed\n000001;Nguyễn1;Zoë1;02/02/1931;999;1.234,50\n";
    let answer = bf_e2e::api::client()
        .post(format!(
            "{}/v1/imports/patient-balances?profile=old-ehr",
            stack.gateway_url
        ))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body(csv)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let id = answer.json::<serde_json::Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(import["counts"]["valid"], 1, "{import}");
    assert_eq!(import["options"]["decimal_style"], "comma");
    let row = &api.rows(&id, "valid").await?[0];
    assert_eq!(row["patient_balance"], "1234.50");
    let listed = api.get("/v1/import-profiles").await?;
    assert_eq!(listed.body[0]["name"], "old-ehr");
    let unknown = bf_e2e::api::client()
        .post(format!(
            "{}/v1/imports/patient-balances?profile=nope",
            stack.gateway_url
        ))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body("x")
        .send()
        .await?;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_old_systems_totals_are_shown_beside_the_files_with_the_difference(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    let csv = format!(
        "{}\n000000,,Peña0,Zoë0,1930-01-01,100.00,,,\n000001,,Nguyễn1,Zoë1,1931-02-02,-20.00,,,\n000002,,Nguyễn2,Zoë2,1932-03-03,abc,,,\n",
        bf_e2e::files::HEADER
    );
    let answer = bf_e2e::api::client()
        .post(format!(
            "{}/v1/imports/patient-balances?expected_patient_balance=90.00&expected_credit_total=-20.00&expected_patient_count=3",
            stack.gateway_url
        ))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body(csv)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let id = answer.json::<serde_json::Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let r = &import["reconciliation"];
    assert_eq!(r["expected"]["patient_balance"], "90.00");
    assert_eq!(r["file"]["patient_balance"], "80.00");
    assert_eq!(r["file"]["credit_total"], "-20.00");
    assert_eq!(r["file"]["patient_count"], 2);
    assert_eq!(
        r["difference"],
        json!({"patient_balance": "-10.00", "credit_total": "0.00", "patient_count": -1})
    );
    let bad = bf_e2e::api::client()
        .post(format!(
            "{}/v1/imports/patient-balances?expected_patient_count=many",
            stack.gateway_url
        ))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body("x")
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn aging_provider_and_location_travel_onto_the_bf_claim() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    let csv = "Acct,Last,First,DOB,Pt Bal,Ins Bal,NPI,Location,Oldest DOS,0-30,31-60,61-90,91-120,120+,Ref\n\
               000001,Nguyễn1,Zoë1,1931-02-02,100.00,50.00,1234567893,Main St,2025-06-14,10,20,30,40,50,old 1\n";
    let id = api.upload("aging.csv", csv).await?;
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(import["counts"]["valid"], 1, "{import}");
    assert_eq!(
        api.post(&format!("/v1/imports/{id}/approve")).await?.status,
        StatusCode::ACCEPTED
    );
    api.wait_for(&id, &["completed"], Duration::from_secs(30))
        .await?;
    let history = api.get("/v1/patients/P-00001/claims").await?;
    let claim = &history.body["claims"][0];
    assert_eq!(claim["provider_npi"], "1234567893", "{}", history.text);
    assert_eq!(claim["location"], "Main St");
    assert_eq!(claim["oldest_service_date"], "2025-06-14");
    assert_eq!(claim["reference"], "old 1");
    assert_eq!(
        claim["aging"],
        json!(["10.00", "20.00", "30.00", "40.00", "50.00"])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_review_search_finds_a_row_by_line_by_account_number_and_by_matched_patient(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(40);
    api.load_patients(&file.patients).await?;
    let id = api.upload("search.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let rows = api.rows(&id, "valid").await?;
    let row = &rows[rows.len() / 2];
    let line = row["line"].as_i64().unwrap_or_default();
    let account = row["values"]["patient_account_number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let patient = row["patient_id"].as_str().unwrap_or_default().to_string();
    assert!(!account.is_empty() && !patient.is_empty(), "{row}");
    let found = |page: &str| -> Vec<i64> {
        page.split("data-line=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect()
    };
    for query in [line.to_string(), account.clone(), patient.clone()] {
        let page = api.get(&format!("/imports/{id}?q={query}")).await?;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(
            found(&page.text).contains(&line),
            "searching {query:?} should find line {line}"
        );
    }
    let none = api.get(&format!("/imports/{id}?q=no-such-thing")).await?;
    assert_eq!(found(&none.text), Vec::<i64>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_recorded_one_per_line_before_an_upgrade_read_and_post_the_same_after_it(
) -> anyhow::Result<()> {
    use bf_domain::Column;
    let mut stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(40);
    api.load_patients(&file.patients).await?;
    let id = api.upload("legacy.csv", &file.csv).await?;
    let reviewed = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let before = api.rows(&id, "all").await?;
    assert_eq!(
        before.len() as i64,
        reviewed["counts"]["total"].as_i64().unwrap_or(-1)
    );

    // The import as a gateway before migration 0018 left it: one row per
    // line in import_rows (normalized values in full, the oldest form),
    // and no blocks.
    stack.kill("gateway")?;
    let db = &stack.gateway_db.clone();
    sqlx::query("DELETE FROM import_row_blocks WHERE import_id = $1::uuid")
        .bind(&id)
        .execute(db)
        .await?;
    for row in &before {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let cells: Vec<Option<String>> = Column::ALL
            .iter()
            .map(|c| text(&row["values"][c.name()]))
            .collect();
        let amount = |v: &serde_json::Value| {
            v.as_str()
                .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
        };
        sqlx::query(
            "INSERT INTO import_rows (import_id, tenant_id, line, status, cell_values, changed_values,
                                      patient_balance, insurance_balance, matched_patient_id,
                                      account_number, problems, raw, normalized, prior, accepted)
             VALUES ($1::uuid, $2, $3, $4, $5, NULL, $6, $7, $8, $5[1], $9, '[]', $10, $11, $12)",
        )
        .bind(&id)
        .bind(TENANT)
        .bind(row["line"].as_i64().unwrap_or(0) as i32)
        .bind(row["status"].as_str().unwrap_or(""))
        .bind(&cells)
        .bind(amount(&row["patient_balance"]))
        .bind(amount(&row["insurance_balance"]))
        .bind(text(&row["patient_id"]))
        .bind(&row["problems"])
        .bind(&row["normalized"])
        .bind(row.get("prior").filter(|p| !p.is_null()))
        .bind(row["accepted"].as_bool().unwrap_or(false))
        .execute(db)
        .await?;
    }

    stack.restart("gateway").await?;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM import_rows")
        .fetch_one(db)
        .await?;
    assert_eq!(left, 0, "every line was moved into blocks");
    assert_eq!(
        api.rows(&id, "all").await?,
        before,
        "every row reads as it did"
    );
    let flagged = api.rows(&id, "flagged").await?;
    assert_eq!(
        flagged.len() as i64,
        reviewed["counts"]["flagged"].as_i64().unwrap_or(-1)
    );

    let save = api
        .post_json(&format!("/v1/imports/{id}/approve"), &json!({}))
        .await?;
    assert_eq!(save.status, StatusCode::ACCEPTED, "{}", save.text);
    let done = api
        .wait_for(&id, &["completed"], Duration::from_secs(30))
        .await?;
    assert_eq!(done["claims_created"], json!(file.expected.valid));
    Ok(())
}

/// How an older gateway, or a worst case of the key, leaves the blocks of
/// an import: the body of a trigger run before each block is stored, and
/// whether each patient then has a key of its own.
const KEYS_AS_STORED: [(&str, Option<&str>, bool); 3] = [
    ("as recorded", None, true),
    // Recorded before migration 0019: no keys; finishing computes them.
    ("recorded without keys", Some("NEW.patient_keys := NULL;"), true),
    // Every matched patient's key the same: nothing but the ids tells
    // the patients apart.
    (
        "every key colliding",
        Some(
            "NEW.patient_keys := (SELECT array_agg(CASE WHEN k IS NULL THEN NULL ELSE 42 END ORDER BY o)
                                    FROM unnest(NEW.patient_keys) WITH ORDINALITY AS u(k, o));",
        ),
        false,
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn patients_named_twice_are_found_by_their_ids_whatever_their_stored_keys_say(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let db = &stack.gateway_db;
    for (k, (case, body, own_keys)) in KEYS_AS_STORED.iter().enumerate() {
        let file = bf_e2e::files::generate_numbered(60, 1000 * k);
        api.load_patients(&file.patients).await?;
        if let Some(body) = body {
            sqlx::query(&format!(
                "CREATE FUNCTION keys_as_stored() RETURNS trigger LANGUAGE plpgsql
                   AS $$ BEGIN {body} RETURN NEW; END $$"
            ))
            .execute(db)
            .await?;
            sqlx::query(
                "CREATE TRIGGER keys_as_stored BEFORE INSERT ON import_row_blocks
                   FOR EACH ROW EXECUTE FUNCTION keys_as_stored()",
            )
            .execute(db)
            .await?;
        }
        let id = api.upload(&format!("keys-{k}.csv"), &file.csv).await?;
        api.wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
            .await?;
        sqlx::query("DROP TRIGGER IF EXISTS keys_as_stored ON import_row_blocks")
            .execute(db)
            .await?;
        sqlx::query("DROP FUNCTION IF EXISTS keys_as_stored()")
            .execute(db)
            .await?;

        let mut statuses = std::collections::BTreeMap::new();
        for row in api.rows(&id, "all").await? {
            let status = row["status"].as_str().unwrap_or_default().to_string();
            statuses.insert(row["line"].as_i64().unwrap_or(0) as i32, status);
        }
        let expected: std::collections::BTreeMap<i32, String> = file
            .expected
            .statuses
            .iter()
            .map(|(line, s)| (*line, s.to_string()))
            .collect();
        assert_eq!(statuses, expected, "{case}: every line's status");
        let (counted, named): (serde_json::Value, i64) = sqlx::query_as(
            "SELECT i.file_totals -> 'patient_count',
                    (SELECT count(DISTINCT pid) FROM import_row_blocks b, unnest(b.patient_ids) AS pid
                      WHERE b.import_id = i.import_id)
               FROM imports i WHERE i.import_id = $1::uuid",
        )
        .bind(&id)
        .fetch_one(db)
        .await?;
        assert_eq!(counted, json!(named), "{case}: the patients counted");
        let keyless: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM import_row_blocks WHERE import_id = $1::uuid AND patient_keys IS NULL",
        )
        .bind(&id)
        .fetch_one(db)
        .await?;
        assert_eq!(keyless, 0, "{case}: finishing gave every block its keys");
        let keys: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT key) FROM import_row_blocks b, unnest(b.patient_keys) AS key
              WHERE b.import_id = $1::uuid",
        )
        .bind(&id)
        .fetch_one(db)
        .await?;
        let expected_keys = if *own_keys { named } else { 1 };
        assert_eq!(keys, expected_keys, "{case}: the keys as stored");
    }
    Ok(())
}
