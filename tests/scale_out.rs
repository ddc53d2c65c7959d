//! Two gateways and two validators against one broker and one database,
//! as replicas run in production: the work is shared between them, and
//! the results (counts, totals, claims) are exactly those of a single
//! instance of each importing the same files.

use anyhow::{bail, Result};
use bf_e2e::api::{self, Api};
use bf_e2e::files::generate;
use bf_e2e::{Instances, Options, Stack};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One file per practice, of different sizes.
const TENANTS: [(&str, usize); 4] = [
    ("practice-a", 400),
    ("practice-b", 700),
    ("practice-c", 1000),
    ("practice-d", 1300),
];

/// Rows per chunk when a file is split across validators.
const CHUNK_ROWS: usize = 500;

/// How many parse messages a file of `rows` rows takes. A file of more
/// than one chunk is planned (one message) and read as one message per
/// chunk (crates/validator/src/plan.rs). A smaller one is read whole: it
/// hands its job back after 10 batches of 100 rows, then after windows
/// that double (crates/validator/src/job.rs), and each piece is a handled
/// message.
fn parse_pieces(rows: usize) -> u32 {
    if rows > CHUNK_ROWS {
        return 1 + rows.div_ceil(CHUNK_ROWS) as u32;
    }
    let batches = rows.div_ceil(100);
    let mut pieces = 1;
    let mut checkpoint = 10;
    while checkpoint <= batches {
        pieces += 1;
        checkpoint *= 2;
    }
    pieces
}

fn options() -> Options {
    Options {
        env: vec![
            // One parse at a time per validator, so sharing shows.
            ("BF_VALIDATOR_WORKERS".into(), "1".into()),
            ("BF_ROW_BATCH_SIZE".into(), "100".into()),
            ("BF_PARSE_CHUNK_ROWS".into(), CHUNK_ROWS.to_string()),
            ("BF_CLAIMS_BATCH_SIZE".into(), "50".into()),
        ],
    }
}

/// What one practice's import came to: counts, totals, claims created,
/// and its ledger (line, patient, responsibility, charge).
type Outcome = (Value, Value, Value, Vec<(i32, String, String, String)>);

fn client(url: &str, tenant: &str) -> Api {
    Api::new(
        url,
        Some(api::token(tenant, "lead@example.test", &api::ALL_ROLES)),
    )
}

/// Waits until every instance consumes the work queues.
async fn wait_for_consumers(stack: &Stack, queues: &[(&str, u32)]) -> Result<()> {
    let conn = Connection::connect(&stack.amqp_url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    for (queue, wanted) in queues {
        let mut consumers = 0;
        for _ in 0..300 {
            let q = channel
                .queue_declare(
                    queue,
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            consumers = q.consumer_count();
            if consumers >= *wanted {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if consumers < *wanted {
            bail!("{queue} has {consumers} consumers, wanted {wanted}");
        }
    }
    conn.close(200, "done").await?;
    Ok(())
}

/// Imports every practice's file, spreading uploads, reads and Saves over
/// the stack's gateways; returns each practice's outcome.
async fn import_all(stack: &Stack) -> Result<BTreeMap<String, Outcome>> {
    let urls = &stack.gateway_urls;
    let mut ids = Vec::new();
    for (n, (tenant, rows)) in TENANTS.iter().enumerate() {
        let file = generate(*rows);
        let api = client(&urls[n % urls.len()], tenant);
        api.load_patients(&file.patients).await?;
        ids.push((tenant, api.upload("balances.csv", &file.csv).await?));
    }
    let mut outcomes = BTreeMap::new();
    for (n, (tenant, id)) in ids.iter().enumerate() {
        // Reviewed and saved through the other gateway.
        let api = client(&urls[(n + 1) % urls.len()], tenant);
        let reviewed = api
            .wait_for(id, &["ready_for_review"], Duration::from_secs(180))
            .await?;
        let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        let done = api
            .wait_for(id, &["completed"], Duration::from_secs(180))
            .await?;
        let ledger: Vec<(i32, String, String, String)> = sqlx::query_as(
            "SELECT c.import_line, c.patient_id, l.responsibility, l.charge::text
               FROM claims c JOIN claim_lines l ON l.claim_id = c.claim_id
              WHERE c.import_id = $1::uuid ORDER BY c.import_line, l.line_number",
        )
        .bind(id)
        .fetch_all(&stack.claims_db)
        .await?;
        outcomes.insert(
            tenant.to_string(),
            (
                reviewed["counts"].clone(),
                reviewed["totals"].clone(),
                done["claims_created"].clone(),
                ledger,
            ),
        );
    }
    Ok(outcomes)
}

/// A counter's value from Prometheus text, by its labels.
async fn messages_done(metrics_url: &str, queue: &str) -> Result<f64> {
    let text = reqwest::get(metrics_url).await?.text().await?;
    let wanted = format!("queue=\"{queue}\"");
    Ok(text
        .lines()
        .filter(|l| l.starts_with("bf_messages_total{"))
        .filter(|l| l.contains(&wanted) && l.contains("outcome=\"done\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gateways_and_two_validators_share_the_work_and_match_a_single_instance_exactly(
) -> Result<()> {
    let scaled = Stack::start_instances(
        options(),
        Instances {
            validators: 2,
            gateways: 2,
        },
    )
    .await?;
    wait_for_consumers(&scaled, &[("imports.parse", 2), ("imports.events", 2)]).await?;
    let shared = import_all(&scaled).await?;

    let mut parses = Vec::new();
    for url in &scaled.validator_metrics_urls {
        parses.push(messages_done(url, "imports.parse").await?);
    }
    let mut recorded = Vec::new();
    for url in &scaled.gateway_urls {
        recorded.push(messages_done(&format!("{url}/metrics"), "imports.events").await?);
    }
    eprintln!("parse jobs per validator {parses:?}, events recorded per gateway {recorded:?}");
    assert!(parses.iter().all(|n| *n > 0.0), "validators: {parses:?}");
    let pieces: u32 = TENANTS.iter().map(|(_, rows)| parse_pieces(*rows)).sum();
    assert_eq!(parses.iter().sum::<f64>(), f64::from(pieces));
    assert!(recorded.iter().all(|n| *n > 0.0), "gateways: {recorded:?}");
    drop(scaled);

    let single = Stack::start_with(options()).await?;
    let alone = import_all(&single).await?;
    assert_eq!(shared.len(), TENANTS.len());
    for (tenant, outcome) in &alone {
        assert!(!outcome.3.is_empty(), "{tenant} made no claims");
        assert_eq!(shared.get(tenant), Some(outcome), "{tenant} differs");
    }
    Ok(())
}
