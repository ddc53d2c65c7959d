//! Poison messages: work that keeps failing is dead-lettered after a
//! bounded number of attempts, its import shows `failed` with a plain
//! reason instead of hanging, and an operator who fixed the cause requeues
//! it with `bfctl dead-letters requeue`: the import resumes from where it
//! failed and finishes with exact counts and one claim per row.

use anyhow::{bail, Result};
use bf_e2e::api::{self, Api};
use bf_e2e::files::{generate, Generated};
use bf_e2e::Stack;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions};
use lapin::BasicProperties;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TENANT: &str = "practice-dlq";

fn ops(stack: &Stack) -> (Api, String) {
    let token = api::token("ops-team", "operator@example.test", &[bf_auth::ROLE_OPS]);
    (Api::new(&stack.gateway_url, Some(token.clone())), token)
}

/// The stored upload of an import (its key ends with the import id).
fn stored_file(stack: &Stack, id: &str) -> Result<PathBuf> {
    fn walk(dir: &Path, id: &str) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if let Some(found) = walk(&path, id) {
                    return Some(found);
                }
            } else if path.to_string_lossy().contains(id) {
                return Some(path);
            }
        }
        None
    }
    walk(&stack.objects_dir(), id).ok_or_else(|| anyhow::anyhow!("no stored file for {id}"))
}

/// The parked dead letters the ops endpoint lists for one import.
async fn dead_letters_of(ops: &Api, id: &str) -> Result<Vec<Value>> {
    let answer = ops.get("/v1/ops/dead-letters").await?;
    if answer.status != StatusCode::OK {
        bail!("dead letters answered {}: {}", answer.status, answer.text);
    }
    Ok(answer.body["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|g| g["import_id"] == id)
        .collect())
}

async fn wait_for_dead_letters(ops: &Api, id: &str) -> Result<Vec<Value>> {
    for _ in 0..300 {
        let found = dead_letters_of(ops, id).await?;
        if !found.is_empty() {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no dead letter was parked for {id}")
}

/// The import's audit trail: (from, to, actor).
async fn transitions(stack: &Stack, id: &str) -> Result<Vec<(Option<String>, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT from_status, to_status, actor FROM import_transitions
          WHERE import_id = $1::uuid ORDER BY id",
    )
    .bind(id)
    .fetch_all(&stack.gateway_db)
    .await?)
}

/// No patient value from the file appears in a text shown to operators.
fn assert_no_phi(file: &Generated, text: &str) {
    for p in file.patients.as_array().into_iter().flatten() {
        for field in ["last_name", "first_name", "patient_account_number"] {
            let value = p[field].as_str().unwrap_or_default();
            assert!(
                value.is_empty() || !text.contains(value),
                "{field} leaked into: {text}"
            );
        }
    }
}

/// After a requeue: the review has the file's exact counts, and Save makes
/// one claim per valid row.
async fn assert_finishes_exactly(
    stack: &Stack,
    api: &Api,
    file: &Generated,
    id: &str,
) -> Result<()> {
    let e = &file.expected;
    let reviewed = api
        .wait_for(id, &["ready_for_review"], Duration::from_secs(90))
        .await?;
    assert_eq!(
        reviewed["counts"],
        json!({"total": e.total, "valid": e.valid, "flagged": e.flagged,
               "invalid": e.invalid, "skipped": e.skipped})
    );
    assert_eq!(reviewed["failure"], Value::Null);
    let approve = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    let done = api
        .wait_for(id, &["completed"], Duration::from_secs(90))
        .await?;
    assert_eq!(done["claims_created"], json!(e.valid));
    let (claims, lines): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT import_line) FROM claims WHERE import_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!((claims, lines), (e.valid, e.valid));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_missing_from_storage_fails_its_import_after_bounded_retries_and_finishes_once_restored_and_requeued(
) -> Result<()> {
    let mut stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let (ops, ops_token) = ops(&stack);
    let file = generate(120);
    api.load_patients(&file.patients).await?;

    // The file leaves storage before any validator can read it.
    stack.kill("validator")?;
    let id = api.upload("balances.csv", &file.csv).await?;
    let stored = stored_file(&stack, &id)?;
    let aside = stored.with_extension("aside");
    std::fs::rename(&stored, &aside)?;
    let started = Instant::now();
    stack.restart("validator").await?;

    let failed = api
        .wait_for(&id, &["failed"], Duration::from_secs(60))
        .await?;
    let took = started.elapsed();
    eprintln!("missing file: failed after {took:?}");
    let reason = failed["failure"].as_str().unwrap_or_default().to_string();
    assert!(
        reason.contains("could not be processed after several attempts"),
        "{reason}"
    );
    assert_no_phi(&file, &reason);
    // Five attempts with back-off between them, then no more.
    assert!(took >= Duration::from_secs(5), "gave up too soon: {took:?}");

    let parked = wait_for_dead_letters(&ops, &id).await?;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0]["queue"], "imports.parse");
    assert_eq!(parked[0]["tenant_id"], TENANT);
    assert_eq!(parked[0]["count"], 1);
    assert_eq!(parked[0]["death"], "rejected");
    let listed = stack.bfctl(&ops_token, &["dead-letters"])?;
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        listed.contains(&id) && listed.contains("imports.parse"),
        "{listed}"
    );
    assert_no_phi(&file, &listed);

    // Only operators requeue; the billing lead's token is refused.
    let refused = api
        .post_json("/v1/ops/dead-letters/requeue", &json!({"import_id": id}))
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    std::fs::rename(&aside, &stored)?;
    let requeued = stack.bfctl(&ops_token, &["dead-letters", "requeue", "--import", &id])?;
    let said = String::from_utf8_lossy(&requeued.stdout).to_string();
    assert!(requeued.status.success(), "{said}");
    assert!(said.contains("Requeued 1 dead letters"), "{said}");
    assert_finishes_exactly(&stack, &api, &file, &id).await?;

    let trail = transitions(&stack, &id).await?;
    assert!(
        trail.contains(&(
            Some("failed".into()),
            "queued".into(),
            "ops:operator@example.test".into()
        )),
        "{trail:?}"
    );
    assert!(dead_letters_of(&ops, &id).await?.is_empty());
    let again = ops
        .post_json("/v1/ops/dead-letters/requeue", &json!({"all": true}))
        .await?;
    assert_eq!(again.body["requeued"], 0, "{}", again.text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn work_the_broker_dead_letters_without_its_handler_giving_up_still_fails_the_import_and_can_be_requeued(
) -> Result<()> {
    let mut stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let (ops, _) = ops(&stack);
    let file = generate(60);
    api.load_patients(&file.patients).await?;

    // A validator that crashes on a job never runs its last attempt: the
    // broker dead-letters the job at the delivery limit. Do what the
    // broker does: take the job off its queue, send it to the dead-letter
    // exchange under the work queue's name.
    stack.kill("validator")?;
    let id = api.upload("balances.csv", &file.csv).await?;
    let (conn, channel) = stack.broker().await?;
    let job = loop {
        if let Some(m) = channel
            .basic_get("imports.parse", BasicGetOptions::default())
            .await?
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    channel
        .basic_publish(
            "bf.imports.dlx",
            "imports.parse",
            BasicPublishOptions::default(),
            &job.delivery.data,
            job.delivery.properties.clone(),
        )
        .await?
        .await?;
    job.delivery.ack(BasicAckOptions::default()).await?;

    let failed = api
        .wait_for(&id, &["failed"], Duration::from_secs(30))
        .await?;
    let reason = failed["failure"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Processing stopped while reading the file"),
        "{reason}"
    );
    let trail = transitions(&stack, &id).await?;
    assert_eq!(
        trail.last(),
        Some(&(
            Some("queued".into()),
            "failed".into(),
            "system:dead-letters".into()
        ))
    );
    // A redelivered dead letter is parked once.
    channel
        .basic_publish(
            "bf.imports.dlx",
            "imports.parse",
            BasicPublishOptions::default(),
            &job.delivery.data,
            BasicProperties::default().with_message_id(
                job.delivery
                    .properties
                    .message_id()
                    .clone()
                    .unwrap_or_default(),
            ),
        )
        .await?
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let parked = wait_for_dead_letters(&ops, &id).await?;
    assert_eq!(parked[0]["count"], 1, "{parked:?}");
    assert_eq!(transitions(&stack, &id).await?.len(), trail.len());

    let openapi = ops.get("/v1/openapi.json").await?;
    assert!(openapi.body["paths"]["/v1/ops/dead-letters/requeue"]["post"].is_object());
    assert!(openapi.body["paths"]["/v1/ops/dead-letters"]["get"].is_object());

    stack.restart("validator").await?;
    let requeued = ops
        .post_json("/v1/ops/dead-letters/requeue", &json!({"import_id": id}))
        .await?;
    assert_eq!(requeued.status, StatusCode::OK, "{}", requeued.text);
    assert_eq!(requeued.body["requeued"], 1);
    assert_eq!(requeued.body["imports"], json!([id]));
    assert_finishes_exactly(&stack, &api, &file, &id).await?;
    conn.close(200, "done").await?;
    Ok(())
}
