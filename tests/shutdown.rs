//! SIGTERM, as an orchestrator sends it on every deploy: each service
//! finishes or hands back the work in hand, acks nothing it has not
//! committed, and exits 0 within the grace; after a restart the import
//! finishes with exact counts and exactly one claim per approved row.

use anyhow::{bail, Result};
use bf_e2e::api::Api;
use bf_e2e::files::{generate, Generated};
use bf_e2e::{Options, Stack};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TENANT: &str = "practice-term";
/// The messaging crate's SHUTDOWN_GRACE (10 s) plus time to close.
const GRACE: Duration = Duration::from_secs(15);

fn options(row_batch: &str, claims_batch: &str) -> Options {
    Options {
        env: vec![
            ("BF_ROW_BATCH_SIZE".into(), row_batch.into()),
            ("BF_CLAIMS_BATCH_SIZE".into(), claims_batch.into()),
        ],
    }
}

/// Polls the import until `ready` says so; returns what it saw.
async fn until(api: &Api, id: &str, ready: impl Fn(&Value) -> bool) -> Result<Value> {
    for _ in 0..3000 {
        let import = api.import(id).await?;
        if ready(&import) {
            return Ok(import);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("import {id} never reached the expected point")
}

fn parsing_part_way(total: i64) -> impl Fn(&Value) -> bool {
    move |i: &Value| {
        let done = i["rows_processed"].as_i64().unwrap_or(0);
        i["status"] == "parsing" && done > 0 && done < total
    }
}

/// Terminates a service, checks it exited 0 within the grace, restarts it.
async fn terminate_and_restart(stack: &mut Stack, service: &'static str) -> Result<()> {
    let asked = Instant::now();
    let status = stack.terminate(service, GRACE)?;
    eprintln!(
        "{service}: exited {status} {:?} after SIGTERM",
        asked.elapsed()
    );
    assert!(status.success(), "{service} exited {status}");
    stack.restart(service).await
}

async fn assert_reviewed_exactly(
    stack: &Stack,
    api: &Api,
    file: &Generated,
    id: &str,
) -> Result<()> {
    let e = &file.expected;
    let reviewed = api
        .wait_for(id, &["ready_for_review"], Duration::from_secs(180))
        .await?;
    assert_eq!(
        reviewed["counts"],
        json!({"total": e.total, "valid": e.valid, "flagged": e.flagged,
               "invalid": e.invalid, "skipped": e.skipped})
    );
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM import_lines WHERE import_id = $1::uuid")
            .bind(id)
            .fetch_one(&stack.gateway_db)
            .await?;
    assert_eq!(rows, e.total);
    Ok(())
}

async fn assert_one_claim_per_valid_row(
    stack: &Stack,
    api: &Api,
    file: &Generated,
    id: &str,
) -> Result<()> {
    let done = api
        .wait_for(id, &["completed"], Duration::from_secs(180))
        .await?;
    let valid = file.expected.valid;
    assert_eq!(done["claims_created"], json!(valid));
    let (claims, lines): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT import_line) FROM claims WHERE import_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!((claims, lines), (valid, valid));
    Ok(())
}

/// Waits until Save has created some of the import's claims but not all,
/// the moment to stop a service.
async fn until_save_part_way(stack: &Stack, id: &str, valid: i64) -> Result<()> {
    let mut created = 0;
    for _ in 0..3000 {
        created = stack.claim_count(id).await?;
        if created > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        created > 0 && created < valid,
        "terminated at {created} of {valid}"
    );
    Ok(())
}

async fn approve(api: &Api, id: &str) -> Result<()> {
    let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validator_terminated_mid_parse_exits_0_and_the_import_finishes_with_exact_counts(
) -> Result<()> {
    let mut stack = Stack::start_with(options("25", "500")).await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(3000);
    api.load_patients(&file.patients).await?;
    let id = api.upload("balances.csv", &file.csv).await?;
    until(&api, &id, parsing_part_way(file.expected.total)).await?;
    terminate_and_restart(&mut stack, "validator").await?;
    assert_reviewed_exactly(&stack, &api, &file, &id).await?;
    approve(&api, &id).await?;
    assert_one_claim_per_valid_row(&stack, &api, &file, &id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_terminated_mid_recording_and_mid_approval_exits_0_and_makes_one_claim_per_row(
) -> Result<()> {
    let mut stack = Stack::start_with(options("25", "5")).await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(3000);
    api.load_patients(&file.patients).await?;
    let id = api.upload("balances.csv", &file.csv).await?;
    until(&api, &id, parsing_part_way(file.expected.total)).await?;
    terminate_and_restart(&mut stack, "gateway").await?;
    assert_reviewed_exactly(&stack, &api, &file, &id).await?;

    approve(&api, &id).await?;
    until_save_part_way(&stack, &id, file.expected.valid).await?;
    terminate_and_restart(&mut stack, "gateway").await?;
    assert_one_claim_per_valid_row(&stack, &api, &file, &id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_claims_service_terminated_mid_claim_creation_exits_0_and_makes_one_claim_per_row(
) -> Result<()> {
    let mut stack = Stack::start_with(options("500", "5")).await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(1500);
    api.load_patients(&file.patients).await?;
    let id = api.upload("balances.csv", &file.csv).await?;
    assert_reviewed_exactly(&stack, &api, &file, &id).await?;
    approve(&api, &id).await?;
    until_save_part_way(&stack, &id, file.expected.valid).await?;
    terminate_and_restart(&mut stack, "claims").await?;
    assert_one_claim_per_valid_row(&stack, &api, &file, &id).await
}
