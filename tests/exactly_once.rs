//! At-least-once delivery, exactly-once effects: repeats, redeliveries and
//! a crash in the middle of Save never make a second claim.

use bf_e2e::files::generate;
use bf_e2e::{Instances, Options, Stack};
use bf_proto::claims::{BalanceForward, CreateBalanceForwardClaimsRequest};
use bf_proto::ClaimsClient;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::BasicProperties;
use reqwest::StatusCode;
use std::time::Duration;

const TENANT: &str = "practice-x";

/// Every line has one claim and the ledger has nothing else.
async fn assert_one_claim_per_valid_line(
    stack: &Stack,
    id: &str,
    valid: i64,
    lines: i64,
) -> anyhow::Result<()> {
    let (claims, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT import_line) FROM claims WHERE import_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!((claims, distinct), (valid, valid));
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM claims")
        .fetch_one(&stack.claims_db)
        .await?;
    assert_eq!(all, valid);
    let claim_lines: i64 = sqlx::query_scalar("SELECT count(*) FROM claim_lines")
        .fetch_one(&stack.claims_db)
        .await?;
    assert_eq!(claim_lines, lines);
    Ok(())
}

fn expected_lines(file: &bf_e2e::files::Generated) -> i64 {
    file.expected
        .claims
        .values()
        .map(|c| i64::from(!c.patient.is_zero()) + i64::from(!c.insurance.is_zero()))
        .sum()
}

async fn queue_depth(channel: &lapin::Channel, name: &str) -> anyhow::Result<u32> {
    let q = channel
        .queue_declare(
            name,
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(q.message_count())
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_twice_and_redelivering_every_event_and_approval_still_makes_one_claim_per_row(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(400);
    api.load_patients(&file.patients).await?;

    // A tap on the exchange keeps a copy of every row event and approval.
    let (conn, channel) = stack.broker().await?;
    channel
        .queue_declare(
            "test.tap",
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    for key in ["events", "approve"] {
        channel
            .queue_bind(
                "test.tap",
                "bf.imports",
                key,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }

    let id = api.upload("b.csv", &file.csv).await?;
    let reviewed = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    for _ in 0..2 {
        let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    }
    let done = api
        .wait_for(&id, &["completed"], Duration::from_secs(60))
        .await?;
    let again = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["status"], "completed");
    let lines = expected_lines(&file);
    assert_one_claim_per_valid_line(&stack, &id, file.expected.valid, lines).await?;

    // Redeliver every message the tap saw (after closing the tap, so the
    // copies are not tapped again).
    let mut consumer = channel
        .basic_consume(
            "test.tap",
            "tap",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut seen = Vec::new();
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(2), consumer.next()).await
    {
        let delivery = delivery?;
        seen.push((
            delivery.routing_key.as_str().to_string(),
            delivery.data.clone(),
        ));
        delivery.ack(BasicAckOptions::default()).await?;
    }
    channel
        .queue_delete("test.tap", QueueDeleteOptions::default())
        .await?;
    let approvals = seen.iter().filter(|(key, _)| key == "approve").count();
    for (key, data) in &seen {
        channel
            .basic_publish(
                "bf.imports",
                key,
                BasicPublishOptions::default(),
                data,
                BasicProperties::default(),
            )
            .await?
            .await?;
    }
    let republished = seen.len();
    // started + 1 batch per 500 rows + completed, and one approval.
    assert_eq!(republished, 3 + approvals);
    assert_eq!(approvals, 1, "approving twice must queue one job");

    // Let the consumers work through the copies.
    for queue in ["imports.events", "imports.approve"] {
        for _ in 0..100 {
            if queue_depth(&channel, queue).await? == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let after = api.import(&id).await?;
    assert_eq!(after["status"], "completed");
    assert_eq!(after["counts"], reviewed["counts"]);
    assert_eq!(after["totals"], reviewed["totals"]);
    assert_eq!(after["claims_created"], done["claims_created"]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM import_lines")
        .fetch_one(&stack.gateway_db)
        .await?;
    assert_eq!(rows, 400);
    assert_one_claim_per_valid_line(&stack, &id, file.expected.valid, lines).await?;
    conn.close(200, "done").await?;
    Ok(())
}

/// Starts a long Save (600 rows, 5 claims per call) and kills `service`
/// once some claims, but not all, exist. Returns the caller, the import and
/// its file, for the test to restart the service and check the outcome.
async fn kill_in_the_middle_of_save(
    service: &'static str,
) -> anyhow::Result<(Stack, bf_e2e::api::Api, String, bf_e2e::files::Generated)> {
    let mut stack = Stack::start_with(Options {
        env: vec![("BF_CLAIMS_BATCH_SIZE".into(), "5".into())],
    })
    .await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(600);
    api.load_patients(&file.patients).await?;
    let id = api.upload("b.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(answer.status, StatusCode::ACCEPTED);

    let valid = file.expected.valid;
    let mut at_kill = 0;
    for _ in 0..2000 {
        at_kill = stack.claim_count(&id).await?;
        if at_kill > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stack.kill(service)?;
    assert!(
        at_kill > 0 && at_kill < valid,
        "killed at {at_kill} of {valid}"
    );
    Ok((stack, api, id, file))
}

/// The Save completes with exactly one claim per valid line.
async fn assert_save_completes_once(
    stack: &Stack,
    api: &bf_e2e::api::Api,
    id: &str,
    file: &bf_e2e::files::Generated,
) -> anyhow::Result<()> {
    let valid = file.expected.valid;
    let done = api
        .wait_for(id, &["completed"], Duration::from_secs(120))
        .await?;
    assert_eq!(done["claims_created"], serde_json::json!(valid));
    assert_one_claim_per_valid_line(stack, id, valid, expected_lines(file)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_claims_service_in_the_middle_of_save_still_makes_one_claim_per_row(
) -> anyhow::Result<()> {
    let (mut stack, api, id, file) = kill_in_the_middle_of_save("claims").await?;
    let during = api.import(&id).await?;
    assert_eq!(during["status"], "approving");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.restart("claims").await?;
    assert_save_completes_once(&stack, &api, &id, &file).await
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_gateway_in_the_middle_of_save_resumes_and_completes_a_long_save(
) -> anyhow::Result<()> {
    // The redelivered approval job posts a batch, then hands itself back
    // through the outbox as a fresh job (its checkpoint); with 5 claims per
    // call there are far more batches left than the delivery limit allows
    // redeliveries, so only a working checkpoint completes the Save.
    let (mut stack, api, id, file) = kill_in_the_middle_of_save("gateway").await?;
    stack.restart("gateway").await?;
    assert_save_completes_once(&stack, &api, &id, &file).await?;
    assert!(
        stack
            .logs()
            .contains("approval checkpointed after a redelivery"),
        "the redelivered job did not checkpoint"
    );
    // The fresh job is the practice's, like every message it queues.
    let strays: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE tenant_id IS DISTINCT FROM $1")
            .bind(TENANT)
            .fetch_one(&stack.gateway_db)
            .await?;
    assert_eq!(strays, 0, "outbox messages without the practice");
    Ok(())
}

/// A batch of BF claims of 10.00, one per patient, on lines from `first_line`,
/// as the gateway's submitter sends it.
fn bf_batch(
    import: uuid::Uuid,
    first_line: usize,
    patients: &[String],
) -> CreateBalanceForwardClaimsRequest {
    CreateBalanceForwardClaimsRequest {
        tenant_id: TENANT.into(),
        import_id: import.to_string(),
        date_of_service: "2026-11-01".into(),
        claims: patients
            .iter()
            .enumerate()
            .map(|(i, patient)| BalanceForward {
                line: (first_line + i) as u32,
                patient_id: patient.clone(),
                patient_balance: "10.00".into(),
                ..Default::default()
            })
            .collect(),
    }
}

/// Two imports' batches of the same patients reach the claims service at
/// the same moment, round after round: one of each pair waits for the
/// other to commit, sees its claims and is refused, so no patient ever
/// gets two BF claims and every line is either posted or refused.
#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_batches_of_two_imports_never_post_a_patient_twice() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(200);
    api.load_patients(&file.patients).await?;
    let patients: Vec<String> = file
        .patients
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["patient_id"].as_str().map(str::to_string))
        .collect();
    let claims = ClaimsClient::connect_lazy(&stack.claims_url, Duration::from_secs(30))?;
    let imports = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    for (n, round) in patients.chunks(10).enumerate() {
        let first_line = 1 + n * 10;
        let (a, b) = tokio::join!(
            claims.create_balance_forward_claims(bf_batch(imports[0], first_line, round)),
            claims.create_balance_forward_claims(bf_batch(imports[1], first_line, round)),
        );
        let (a, b) = (a?, b?);
        assert_eq!(
            (
                a.created + b.created,
                a.refused_lines.len() + b.refused_lines.len()
            ),
            (round.len() as u32, round.len()),
            "round {n}: each patient posted by one import, refused in the other"
        );
    }
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT patient_id FROM claims WHERE status = 'active'
                                GROUP BY patient_id HAVING count(*) > 1) d",
    )
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!(doubled, 0);
    Ok(())
}

/// A claim names a patient of the directory: a batch with one unknown
/// patient is refused as a whole, creates nothing, and a retry of it
/// changes nothing either.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_naming_an_unknown_patient_creates_no_claim() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    let mut patients: Vec<String> = file
        .patients
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["patient_id"].as_str().map(str::to_string))
        .collect();
    patients.push("NOT-IN-THE-DIRECTORY".into());
    let claims = ClaimsClient::connect_lazy(&stack.claims_url, Duration::from_secs(5))?;
    for _ in 0..2 {
        let refused = claims
            .create_balance_forward_claims(bf_batch(uuid::Uuid::now_v7(), 1, &patients))
            .await
            .expect_err("a batch with an unknown patient");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    }
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM claims")
        .fetch_one(&stack.claims_db)
        .await?;
    assert_eq!(created, 0);
    Ok(())
}

/// What the dropped foreign key from claims to patients also guaranteed:
/// a patient a claim names stays. The service's role may update a
/// patient's details but neither delete a patient nor change its key.
#[tokio::test(flavor = "multi_thread")]
async fn the_claims_service_can_neither_delete_a_patient_nor_change_its_key() -> anyhow::Result<()>
{
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(3);
    api.load_patients(&file.patients).await?;
    for (statement, allowed) in [
        ("UPDATE patients SET last_name = last_name", true),
        ("DELETE FROM patients", false),
        ("UPDATE patients SET patient_id = patient_id || '-2'", false),
        ("UPDATE patients SET tenant_id = 'other'", false),
    ] {
        let mut tx = stack.claims_db.begin().await?;
        sqlx::query("SET LOCAL ROLE bf_app")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT set_config('bf.tenant_id', $1, true)")
            .bind(TENANT)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(statement).execute(&mut *tx).await;
        tx.rollback().await?;
        match done {
            Ok(_) => assert!(allowed, "{statement} was allowed"),
            Err(e) => {
                let code = e.as_database_error().and_then(|d| d.code());
                assert!(!allowed, "{statement}: {e}");
                assert_eq!(code.as_deref(), Some("42501"), "{statement}: {e}");
            }
        }
    }
    Ok(())
}

/// Two Saves of the same patients, each in many small batches (on two
/// gateways, as one gateway gives a practice one Save worker, so they may
/// run side by side): every patient is posted by exactly one import, and
/// in the other every refused line is counted and marked, batch after
/// batch, though the submitter records a batch while posting the next.
#[tokio::test(flavor = "multi_thread")]
async fn two_saves_of_the_same_patients_in_small_batches_post_each_patient_once(
) -> anyhow::Result<()> {
    let options = Options {
        env: vec![("BF_CLAIMS_BATCH_SIZE".into(), "7".into())],
    };
    let instances = Instances {
        validators: 1,
        gateways: 2,
    };
    let stack = Stack::start_instances(options, instances).await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(150);
    api.load_patients(&file.patients).await?;
    let first = api.upload("a.csv", &file.csv).await?;
    let second = api.upload("a-again.csv", &file.csv).await?;
    for id in [&first, &second] {
        api.wait_for(id, &["ready_for_review"], Duration::from_secs(60))
            .await?;
    }
    let (approve_first, approve_second) = (
        format!("/v1/imports/{first}/approve"),
        format!("/v1/imports/{second}/approve"),
    );
    let (a, b) = tokio::join!(api.post(&approve_first), api.post(&approve_second));
    assert_eq!(
        (a?.status, b?.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    let a = api
        .wait_for(&first, &["completed"], Duration::from_secs(120))
        .await?;
    let b = api
        .wait_for(&second, &["completed"], Duration::from_secs(120))
        .await?;
    let valid = file.expected.valid;
    let count = |v: &serde_json::Value, key: &str| v[key].as_i64().unwrap_or(0);
    assert_eq!(
        (
            count(&a, "claims_created") + count(&b, "claims_created"),
            count(&a, "claims_refused") + count(&b, "claims_refused"),
        ),
        (valid, valid),
        "each patient posted once, the repeat refused"
    );
    let (active, patients): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT patient_id) FROM claims WHERE status = 'active'",
    )
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!((active, patients), (valid, valid));
    let marked = [
        api.rows(&first, "valid").await?,
        api.rows(&second, "valid").await?,
    ]
    .concat()
    .into_iter()
    .filter(|r| r["not_posted"].is_string())
    .count();
    assert_eq!(marked as i64, valid, "every refused line says why");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_file_uploaded_and_saved_twice_never_doubles_a_balance() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(100);
    api.load_patients(&file.patients).await?;
    // Both are reviewed before either is saved, so neither sees the other's claims.
    let first = api.upload("a.csv", &file.csv).await?;
    let second = api.upload("a-again.csv", &file.csv).await?;
    for id in [&first, &second] {
        api.wait_for(id, &["ready_for_review"], Duration::from_secs(60))
            .await?;
    }
    for id in [&first, &second] {
        let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    let a = api
        .wait_for(&first, &["completed"], Duration::from_secs(60))
        .await?;
    let b = api
        .wait_for(&second, &["completed"], Duration::from_secs(60))
        .await?;
    let valid = file.expected.valid;
    let created =
        a["claims_created"].as_i64().unwrap_or(0) + b["claims_created"].as_i64().unwrap_or(0);
    let refused =
        a["claims_refused"].as_i64().unwrap_or(0) + b["claims_refused"].as_i64().unwrap_or(0);
    assert_eq!(
        (created, refused),
        (valid, valid),
        "each patient posted once, the repeat refused"
    );
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT patient_id FROM claims WHERE status = 'active'
                                GROUP BY patient_id HAVING count(*) > 1) d",
    )
    .fetch_one(&stack.claims_db)
    .await?;
    assert_eq!(doubled, 0);
    let refused_rows: Vec<serde_json::Value> = [
        api.rows(&first, "valid").await?,
        api.rows(&second, "valid").await?,
    ]
    .concat()
    .into_iter()
    .filter(|r| r["not_posted"].is_string())
    .collect();
    assert_eq!(refused_rows.len() as i64, valid);
    Ok(())
}

/// An import event as a validator publishes it.
fn import_event(import_id: &str, event: bf_proto::imports::import_event::Event) -> Vec<u8> {
    use prost::Message as _;
    bf_proto::imports::ImportEvent {
        tenant_id: TENANT.into(),
        import_id: import_id.into(),
        event: Some(event),
    }
    .encode_to_vec()
}

/// A batch of `lines` with the given patient balance, numbered `seq`
/// within the parse.
fn row_batch(import_id: &str, seq: u32, lines: &[u32], balance: &str) -> Vec<u8> {
    use bf_proto::imports::{import_event::Event, RowBatch, RowResult, RowStatus};
    let rows = lines
        .iter()
        .map(|&line| RowResult {
            line,
            status: RowStatus::Valid as i32,
            patient_balance: balance.into(),
            // The account number and the patient balance, packed by column.
            cell_columns: 1 | 1 << 5,
            cells: vec![format!("A-{line}"), balance.into()],
            ..Default::default()
        })
        .collect();
    let batch = RowBatch {
        seq,
        bytes_read: 0,
        rows,
    };
    import_event(import_id, Event::Batch(batch))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_that_repeats_recorded_lines_under_another_number_records_each_line_once(
) -> anyhow::Result<()> {
    use bf_proto::imports::{import_event::Event, ParseCompleted};
    let mut stack = Stack::start().await?;
    // No validator: this test plays it, so the import stays queued until
    // its events arrive.
    stack.kill("validator")?;
    let api = stack.billing_lead(TENANT);
    let id = api.upload("b.csv", &generate(3).csv).await?;

    let (conn, channel) = stack.broker().await?;
    let completed = import_event(
        &id,
        Event::Completed(ParseCompleted {
            batches: 2,
            rows: 4,
        }),
    );
    // Line 3 comes again in a batch of another number, as from a plan
    // redone with other chunk sizes; it is recorded once.
    for event in [
        row_batch(&id, 0, &[2, 3], "10.00"),
        row_batch(&id, 1, &[3, 4], "99.00"),
        completed,
    ] {
        channel
            .basic_publish(
                "bf.imports",
                "events",
                BasicPublishOptions::default(),
                &event,
                BasicProperties::default(),
            )
            .await?
            .await?;
    }
    let reviewed = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(60))
        .await?;
    assert_eq!(reviewed["counts"]["total"], 3, "{reviewed}");
    let lines: Vec<(i32, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT line, patient_balance FROM import_lines WHERE import_id = $1::uuid ORDER BY line",
    )
    .bind(&id)
    .fetch_all(&stack.gateway_db)
    .await?;
    let ten = rust_decimal::Decimal::new(1000, 2);
    let ninety_nine = rust_decimal::Decimal::new(9900, 2);
    // Batches are recorded side by side: either may have come first.
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], (2, ten));
    assert!(
        lines[1] == (3, ten) || lines[1] == (3, ninety_nine),
        "{lines:?}"
    );
    assert_eq!(lines[2], (4, ninety_nine));
    assert!(
        stack.logs().contains("batch repeats recorded lines"),
        "the repeated line did not take the careful insert"
    );
    conn.close(200, "done").await?;
    Ok(())
}
