//! One big file split into chunks that two validators read at once: every
//! line is recorded exactly as a single validator reading the whole file
//! records it (status, values, problems, line numbers), the counts and
//! totals are the file's, and Save creates the same claims.

use anyhow::Result;
use bf_e2e::files::generate;
use bf_e2e::{Instances, Options, Stack};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const ROWS: usize = 3000;
const CHUNK_ROWS: usize = 200;

fn options(chunk_rows: usize) -> Options {
    Options {
        env: vec![
            ("BF_VALIDATOR_WORKERS".into(), "1".into()),
            ("BF_ROW_BATCH_SIZE".into(), "100".into()),
            ("BF_PARSE_CHUNK_ROWS".into(), chunk_rows.to_string()),
            ("BF_CLAIMS_BATCH_SIZE".into(), "100".into()),
        ],
    }
}

/// The generated file (every kind of row) made awkward: CRLF line ends,
/// a reference cell with a line break inside quotes every ninth row (so
/// chunk boundaries fall right after multi-line cells), and blank lines
/// and all-empty records here and there.
/// Returns the file and the line number each data row starts on.
fn awkward(csv: &str) -> (String, Vec<i64>) {
    let mut out = String::new();
    let mut starts = Vec::new();
    let mut line = 1;
    for (n, record) in csv.lines().enumerate() {
        if n > 0 {
            starts.push(line);
        }
        if n > 0 && n % 9 == 4 {
            let (before, reference) = record.rsplit_once(',').unwrap_or((record, ""));
            out.push_str(&format!("{before},\"{reference}\r\nsecond line\"\r\n"));
            line += 2;
        } else {
            out.push_str(record);
            out.push_str("\r\n");
            line += 1;
        }
        if n > 0 && n % 97 == 0 {
            out.push_str("\r\n,,,,,,,,\r\n");
            line += 2;
        }
    }
    (out, starts)
}

/// What an import came to: its view's counts and totals, every row by
/// line, and its claims ledger.
struct Outcome {
    counts: Value,
    totals: Value,
    claims_created: Value,
    rows: BTreeMap<i64, Value>,
    ledger: Vec<(i32, String, String, String)>,
}

async fn import(stack: &Stack, csv: &str, patients: &Value) -> Result<Outcome> {
    let api = stack.billing_lead("practice-split");
    api.load_patients(patients).await?;
    let id = api.upload("balances.csv", csv).await?;
    let reviewed = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(180))
        .await?;
    let mut rows = BTreeMap::new();
    for status in ["valid", "flagged", "invalid", "skipped"] {
        for row in api.rows(&id, status).await? {
            let line = row["line"].as_i64().unwrap_or(-1);
            assert!(rows.insert(line, row).is_none(), "line {line} twice");
        }
    }
    let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let done = api
        .wait_for(&id, &["completed"], Duration::from_secs(180))
        .await?;
    let ledger = sqlx::query_as(
        "SELECT c.import_line, c.patient_id, l.responsibility, l.charge::text
           FROM claims c JOIN claim_lines l ON l.claim_id = c.claim_id
          WHERE c.import_id = $1::uuid ORDER BY c.import_line, l.line_number",
    )
    .bind(&id)
    .fetch_all(&stack.claims_db)
    .await?;
    Ok(Outcome {
        counts: reviewed["counts"].clone(),
        totals: reviewed["totals"].clone(),
        claims_created: done["claims_created"].clone(),
        rows,
        ledger,
    })
}

/// A counter's value from a Prometheus text page, by one label.
async fn counter(metrics_url: &str, name: &str, label: &str) -> Result<f64> {
    let text = reqwest::get(metrics_url).await?.text().await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_split_across_two_validators_records_every_line_as_one_validator_reading_it_whole(
) -> Result<()> {
    let file = generate(ROWS);
    let (csv, lines) = awkward(&file.csv);

    let split = Stack::start_instances(
        options(CHUNK_ROWS),
        Instances {
            validators: 2,
            gateways: 1,
        },
    )
    .await?;
    let shared = import(&split, &csv, &file.patients).await?;
    let mut chunks = Vec::new();
    let mut plans = 0.0;
    for url in &split.validator_metrics_urls {
        chunks.push(counter(url, "bf_parse_pieces_total", "kind=\"chunk\"").await?);
        plans += counter(url, "bf_parse_pieces_total", "kind=\"plan\"").await?;
    }
    eprintln!("chunks per validator {chunks:?}");
    assert_eq!(plans, 1.0, "one plan");
    assert_eq!(
        chunks.iter().sum::<f64>(),
        ROWS.div_ceil(CHUNK_ROWS) as f64,
        "one delivery per chunk"
    );
    assert!(
        chunks.iter().all(|n| *n > 0.0),
        "both read chunks: {chunks:?}"
    );
    drop(split);

    let single = Stack::start_with(options(10 * ROWS)).await?;
    let whole = import(&single, &csv, &file.patients).await?;
    let url = &single.validator_metrics_url;
    let pieces = counter(url, "bf_parse_pieces_total", "kind=\"plan\"").await?
        + counter(url, "bf_parse_pieces_total", "kind=\"chunk\"").await?;
    assert_eq!(pieces, 0.0, "the reference run read the file whole");

    let e = &file.expected;
    assert_eq!(whole.counts["total"], e.total, "{}", whole.counts);
    assert_eq!(whole.counts["valid"], e.valid);
    assert_eq!(whole.counts["flagged"], e.flagged);
    assert_eq!(whole.counts["invalid"], e.invalid);
    assert_eq!(whole.counts["skipped"], e.skipped);
    assert_eq!(whole.rows.keys().copied().collect::<Vec<_>>(), lines);
    assert_eq!(whole.claims_created, serde_json::json!(e.valid));
    // The same lines, numbered the same way, with the same results.
    assert_eq!(
        shared.rows.keys().collect::<Vec<_>>(),
        whole.rows.keys().collect::<Vec<_>>()
    );
    for (line, row) in &whole.rows {
        assert_eq!(shared.rows.get(line), Some(row), "line {line}");
    }
    assert_eq!(shared.counts, whole.counts);
    assert_eq!(shared.totals, whole.totals);
    assert_eq!(shared.claims_created, whole.claims_created);
    assert_eq!(shared.ledger, whole.ledger);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_file_that_changes_encoding_near_its_end_fails_before_any_chunk_is_queued(
) -> Result<()> {
    let stack = Stack::start_with(options(CHUNK_ROWS)).await?;
    let api = stack.billing_lead("practice-split");
    let file = generate(ROWS);
    api.load_patients(&file.patients).await?;
    // UTF-8 (with accented names) for far longer than encoding detection
    // looks, then one Windows-1252 byte on the last line.
    let mut bytes = file.csv.into_bytes();
    bytes.extend_from_slice(b"099999,,Pe\xf1a,Jo,1980-01-02,1.00,,,ref\n");
    let last_line = ROWS + 2;
    let id = api.upload_bytes("balances.csv", bytes).await?;
    let failed = api
        .wait_for(&id, &["failed"], Duration::from_secs(60))
        .await?;
    let failed = failed["failure"].as_str().unwrap_or_default();
    assert!(
        failed.contains(&format!("Line {last_line} is not valid UTF-8")),
        "{failed}"
    );
    let url = &stack.validator_metrics_url;
    let queued = counter(url, "bf_parse_pieces_total", "kind=\"plan\"").await?
        + counter(url, "bf_parse_pieces_total", "kind=\"chunk\"").await?;
    assert_eq!(queued, 0.0, "no chunk was queued");
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM import_lines WHERE import_id = $1::uuid")
            .bind(&id)
            .fetch_one(&stack.gateway_db)
            .await?;
    assert_eq!(recorded, 0, "nothing half-written");
    Ok(())
}
