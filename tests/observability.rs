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
    for _ in 0..100 {
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
