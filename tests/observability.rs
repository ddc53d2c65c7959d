//! Ops can follow one import as one trace, and no patient data is in any
//! of it: the real services export to a test OTLP receiver.

use bf_e2e::otlp::{CollectedSpan, Collector};
use bf_e2e::{Options, Stack};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const TENANT: &str = "practice-otel";

/// A small file whose every value is distinctive enough to search for.
fn file() -> (serde_json::Value, String, Vec<&'static str>) {
    let patients = json!([
        {"patient_id": "PX-4471", "patient_account_number": "AC-55501", "last_name": "Quillfeather", "first_name": "Zephyrine", "date_of_birth": "1961-04-23"},
        {"patient_id": "PX-4472", "patient_account_number": "AC-55502", "last_name": "Marchbanks", "first_name": "Ottoline", "date_of_birth": "1958-09-14"},
        {"patient_id": "PX-4473", "patient_account_number": "AC-55503", "last_name": "Thistlewood", "first_name": "Barnaby", "date_of_birth": "1972-12-30"}
    ]);
    let csv = "patient_account_number,last_name,first_name,date_of_birth,patient_balance,insurance_balance\n\
               AC-55501,Quillfeather,Zephyrine,1961-04-23,4321.77,188.19\n\
               AC-55502,Marchbanks,Ottilie,1958-09-14,612.43,\n\
               AC-55503,Thistlewood,Barnaby,1972-12-30,977.31,55.09\n\
               AC-55599,Pemberwick,Cosimo,1949-02-11,abc,\n"
        .to_string();
    let secrets = vec![
        "Quillfeather",
        "Zephyrine",
        "Marchbanks",
        "Ottilie",
        "Ottoline",
        "Thistlewood",
        "Barnaby",
        "Pemberwick",
        "Cosimo",
        "1961-04-23",
        "1958-09-14",
        "1972-12-30",
        "1949-02-11",
        "AC-55501",
        "AC-55502",
        "AC-55503",
        "AC-55599",
        "4321.77",
        "188.19",
        "612.43",
        "977.31",
        "55.09",
    ];
    (patients, csv, secrets)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_import_is_one_trace_through_every_stage_with_no_patient_data_in_it(
) -> anyhow::Result<()> {
    let collector = Collector::start().await?;
    let stack = Stack::start_with(Options {
        env: vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                collector.endpoint.clone(),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
            ("BF_LOG_FORMAT".into(), "json".into()),
        ],
    })
    .await?;
    let api = stack.billing_lead(TENANT);
    let (patients, csv, secrets) = file();
    api.load_patients(&patients).await?;
    let id = api.upload("otel.csv", &csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let save = api
        .post_json(
            &format!("/v1/imports/{id}/approve"),
            &json!({"accept_flagged": "all"}),
        )
        .await?;
    assert_eq!(save.status, StatusCode::ACCEPTED);
    api.wait_for(&id, &["completed"], Duration::from_secs(30))
        .await?;

    // The stages, in the order they happen.
    let stages = [
        "import.upload",
        "outbox.publish",
        "import.parse",
        "import.batch",
        "claims.call",
        "claims.rpc",
        "import.record",
        "import.approve",
        "import.claims",
        "claims.batch",
    ];
    let mut spans: Vec<CollectedSpan> = Vec::new();
    // Up to 30 s: the services export spans in batches, which on a loaded
    // CI machine once took longer than 10 s to arrive.
    for _ in 0..300 {
        spans = collector.spans();
        let trace = spans
            .iter()
            .find(|s| s.name == "import.upload")
            .map(|s| s.trace_id.clone());
        let complete = trace.as_ref().is_some_and(|t| {
            stages
                .iter()
                .all(|stage| spans.iter().any(|s| &s.trace_id == t && s.name == *stage))
                && spans.iter().any(|s| {
                    &s.trace_id == t
                        && s.name == "import.record"
                        && s.attr("event") == Some("completed")
                })
        });
        if complete {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let upload = spans
        .iter()
        .find(|s| s.name == "import.upload")
        .expect("an upload span");
    let trace = upload.trace_id.clone();
    let ours: Vec<&CollectedSpan> = spans.iter().filter(|s| s.trace_id == trace).collect();
    for stage in stages {
        assert!(
            ours.iter().any(|s| s.name == stage),
            "stage {stage} missing from the trace: {:?}",
            ours.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }
    // Every span about this import, from any service, is in the one trace.
    for s in spans
        .iter()
        .filter(|s| s.attr("import_id") == Some(id.as_str()))
    {
        assert_eq!(s.trace_id, trace, "{} is in another trace", s.name);
    }
    let services: std::collections::BTreeSet<&str> =
        ours.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(
        services,
        ["claims", "gateway", "validator"].into_iter().collect()
    );
    // The stages start in order.
    let first = |name: &str| {
        ours.iter()
            .filter(|s| s.name == name)
            .map(|s| s.start)
            .min()
            .unwrap_or(u64::MAX)
    };
    let order = [
        "import.upload",
        "import.parse",
        "import.approve",
        "import.claims",
        "claims.batch",
    ];
    for pair in order.windows(2) {
        assert!(
            first(pair[0]) <= first(pair[1]),
            "{} should start before {}",
            pair[0],
            pair[1]
        );
    }
    let batch = ours
        .iter()
        .find(|s| s.name == "import.batch")
        .expect("a batch span");
    assert_eq!(batch.attr("rows"), Some("4"));
    assert_eq!(
        ours.iter()
            .find(|s| s.name == "import.parse")
            .and_then(|s| s.attr("tenant")),
        Some(TENANT)
    );

    // No name, date of birth, account number or amount anywhere: spans
    // (every span exported, not only this trace's) or log lines.
    let exported: String = spans
        .iter()
        .map(CollectedSpan::all_text)
        .collect::<Vec<_>>()
        .join("\n");
    let logs = stack.logs();
    for secret in &secrets {
        assert!(
            !exported.contains(secret),
            "a span carries patient data ({secret})"
        );
        assert!(
            !logs.contains(secret),
            "a log line carries patient data ({secret})"
        );
    }
    // Log lines lead to the trace.
    assert!(
        logs.contains(&format!("\"trace_id\":\"{trace}\"")),
        "no log line names the import's trace"
    );
    Ok(())
}

/// The value of one Prometheus sample (`name{labels} value`), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(url: &str) -> anyhow::Result<String> {
    Ok(reqwest::get(url).await?.text().await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_exactly_what_the_import_did() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = bf_e2e::files::generate(200);
    let e = &file.expected;
    api.load_patients(&file.patients).await?;
    let id = api.upload("m.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    assert_eq!(
        api.post(&format!("/v1/imports/{id}/approve")).await?.status,
        StatusCode::ACCEPTED
    );
    api.wait_for(&id, &["completed"], Duration::from_secs(60))
        .await?;

    let gateway = scrape(&format!("{}/metrics", stack.gateway_url)).await?;
    for (outcome, n) in [
        ("valid", e.valid),
        ("flagged", e.flagged),
        ("invalid", e.invalid),
        ("skipped", e.skipped),
    ] {
        assert_eq!(
            sample(
                &gateway,
                &format!("bf_rows_recorded_total{{outcome=\"{outcome}\"}}")
            ),
            n as f64,
            "{outcome}"
        );
    }
    assert_eq!(
        sample(&gateway, "bf_claims_total{result=\"created\"}"),
        e.valid as f64
    );
    assert_eq!(sample(&gateway, "bf_imports{state=\"completed\"}"), 1.0);
    assert_eq!(sample(&gateway, "bf_outbox_backlog"), 0.0);
    assert!(
        gateway.contains("bf_queue_depth{queue=\"imports.parse.dlq\"} 0"),
        "queue depths are measured"
    );
    assert!(
        sample(
            &gateway,
            "bf_messages_total{outcome=\"done\",queue=\"imports.events\"}"
        ) >= 3.0
    );
    assert!(gateway.contains("bf_http_request_duration_seconds_count{route=\"/v1/imports/patient-balances\",status=\"202\"}"));

    let validator = scrape(&stack.validator_metrics_url).await?;
    let validated: f64 = ["valid", "flagged", "invalid", "skipped"]
        .iter()
        .map(|o| {
            sample(
                &validator,
                &format!("bf_rows_validated_total{{outcome=\"{o}\"}}"),
            )
        })
        .sum();
    assert_eq!(validated, e.total as f64, "every row is validated once");
    assert!(
        sample(
            &validator,
            "bf_grpc_client_duration_seconds_count{outcome=\"ok\",rpc=\"match_patients\"}"
        ) >= 1.0
    );
    let batches = sample(&validator, "bf_batch_seconds_count{stage=\"validate\"}");
    assert!(batches >= 1.0, "{validator}");
    assert_eq!(
        sample(&validator, "bf_batch_seconds_count{stage=\"publish\"}"),
        batches,
        "each batch's row event is timed as it is published"
    );

    let claims = scrape(&stack.claims_metrics_url).await?;
    assert!(sample(&claims, "bf_grpc_server_duration_seconds_count{code=\"0\",method=\"CreateBalanceForwardClaims\"}") >= 1.0, "{claims}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ops_view_shows_every_tenants_imports_and_reports_a_stalled_one() -> anyhow::Result<()>
{
    let collector = Collector::start().await?;
    let mut stack = Stack::start_with(Options {
        env: vec![
            ("BF_STALL_AFTER_SECS".into(), "1".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                collector.endpoint.clone(),
            ),
        ],
    })
    .await?;
    let a = stack.billing_lead("practice-ops-a");
    let file = bf_e2e::files::generate(20);
    a.load_patients(&file.patients).await?;
    let done = a.upload("a.csv", &file.csv).await?;
    a.wait_for(&done, &["ready_for_review"], Duration::from_secs(30))
        .await?;

    // With no validator, the next upload stays queued and is reported stalled.
    stack.kill("validator")?;
    let b = stack.billing_lead("practice-ops-b");
    let stuck = b.upload("b.csv", &file.csv).await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let ops = stack.client("operator", "ops@host", &[bf_auth::ROLE_OPS]);
    let view = ops.get("/v1/ops/imports").await?;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let imports = view.body["imports"].as_array().cloned().unwrap_or_default();
    let find = |id: &str| {
        imports
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find(&done)["tenant_id"], "practice-ops-a");
    assert_eq!(find(&done)["status"], "ready_for_review");
    assert_eq!(find(&done)["rows_done"], 20);
    assert_eq!(find(&done)["stalled"], false);
    assert!(find(&done)["trace_id"]
        .as_str()
        .is_some_and(|t| t.len() == 32));
    assert_eq!(find(&stuck)["tenant_id"], "practice-ops-b");
    assert_eq!(find(&stuck)["status"], "queued");
    assert_eq!(find(&stuck)["stalled"], true);
    // No patient data in the ops view.
    for word in ["Peña", "Nguyễn", "Zoë"] {
        assert!(!view.text.contains(word));
    }
    let metrics = scrape(&format!("{}/metrics", stack.gateway_url)).await?;
    assert_eq!(sample(&metrics, "bf_imports_stalled"), 1.0);
    // Not for a billing lead.
    assert_eq!(
        a.get("/v1/ops/imports").await?.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}
