//! The randomized fault suite: each schedule runs one import (upload →
//! ready_for_review → approve → completed) on its own stack and breaks it
//! on purpose while it works — SIGKILL of the validator, the gateway or
//! the claims service, the vhost's broker connections closed, the broker
//! restarted, PostgreSQL backends terminated mid-transaction, deliveries
//! duplicated and reordered — then checks that nothing was lost or
//! doubled. Replay a run with `BF_FAULT_SEED=<seed>`; `BF_FAULT_SCHEDULES`
//! sets how many schedules run, `BF_FAULT_CONCURRENCY` how many at once,
//! `BF_FAULT_ONLY=<index>` replays one schedule of the seed.

use anyhow::{bail, Result};
use bf_e2e::api::Api;
use bf_e2e::faults::{
    broker_up, drop_connections, queued, restart_broker, terminate_backends, FaultKind, Phase, Rng,
    Schedule, Settings, Tap,
};
use bf_e2e::files::{generate, Generated};
use bf_e2e::{Options, Stack};
use futures::StreamExt;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;
use std::time::Duration;

const TENANT: &str = "practice-faults";
/// How long a phase may take, faults included, before the import counts
/// as hung.
const PHASE_LIMIT: Duration = Duration::from_secs(180);

/// What one schedule did and what it found.
#[derive(Debug, Default)]
struct Report {
    index: u64,
    /// Each fault injected, and whether it struck while the phase's work
    /// was still in progress.
    injected: Vec<(FaultKind, bool)>,
    completed: bool,
    duplicate_claims: i64,
    lost_rows: i64,
    problems: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imports_hit_by_random_crashes_broker_and_database_faults_and_duplicate_deliveries_complete_with_one_claim_per_row(
) -> Result<()> {
    let settings = Settings::from_env()?;
    eprintln!(
        "fault suite: BF_FAULT_SEED={} BF_FAULT_SCHEDULES={} BF_FAULT_CONCURRENCY={}",
        settings.seed, settings.schedules, settings.concurrency
    );
    let schedules: Vec<Schedule> = settings
        .indexes()
        .into_iter()
        .map(|i| Schedule::generate(settings.seed, i))
        .collect();
    for schedule in &schedules {
        eprintln!("{schedule}");
    }
    let seed = settings.seed;
    let reports: Vec<Report> = futures::stream::iter(schedules)
        .map(|schedule| async move {
            let index = schedule.index;
            match tokio::spawn(run(schedule, seed)).await {
                Ok(report) => report,
                Err(e) => Report {
                    index,
                    problems: vec![format!("schedule task panicked: {e}")],
                    ..Default::default()
                },
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    summarise(&settings, &reports);
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| format!("schedule {}: {}", r.index, r.problems.join("; ")))
        .collect();
    assert!(
        failed.is_empty(),
        "replay with BF_FAULT_SEED={seed}:\n{}",
        failed.join("\n")
    );
    Ok(())
}

/// Regression: a handler killed on its last delivery cannot mark its
/// import failed, and the broker dead-letters the message; the import used
/// to stay `parsing` for ever. The gateway's dead-letter watcher now fails
/// it with a reason. Matching is made to hang (claims is down) so every
/// delivery of the parse job dies before it makes any progress.
#[tokio::test(flavor = "multi_thread")]
async fn a_parse_job_whose_validator_dies_on_every_delivery_fails_with_a_reason_instead_of_hanging(
) -> Result<()> {
    let mut stack = {
        let _up = broker_up().await;
        Stack::start().await?
    };
    let api = stack.billing_lead(TENANT);
    let file = generate(200);
    api.load_patients(&file.patients).await?;
    stack.kill("claims")?;
    let id = api.upload("poison.csv", &file.csv).await?;
    let mut kills = 0;
    let mut import = api.import(&id).await?;
    // Five deliveries suffice; on a loaded machine a restarted validator
    // may not have taken the job before the next kill, which then does not
    // count, so there are kills to spare.
    while import["status"] != "failed" && kills < 20 {
        // Long enough for the restarted validator to take the job and
        // block in patient matching, on an idle machine.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stack.kill("validator")?;
        kills += 1;
        stack.restart("validator").await?;
        import = api.import(&id).await?;
    }
    for _ in 0..100 {
        if import["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        import = api.import(&id).await?;
    }
    assert_eq!(import["status"], "failed", "after {kills} kills: {import}");
    // The handler's last attempt or, when it died on that one too, the
    // gateway's dead-letter watcher gives the reason.
    let failure = import["failure"].to_string();
    assert!(
        failure.contains("could not be processed after several attempts")
            || failure.contains("failed several times in a row"),
        "{import}"
    );
    let _up = broker_up().await;
    tokio::task::spawn_blocking(move || drop(stack)).await?;
    Ok(())
}

fn summarise(settings: &Settings, reports: &[Report]) {
    let mut by_kind: BTreeMap<FaultKind, (usize, usize)> = BTreeMap::new();
    for (kind, mid) in reports.iter().flat_map(|r| r.injected.iter()) {
        let entry = by_kind.entry(*kind).or_default();
        entry.0 += 1;
        entry.1 += usize::from(*mid);
    }
    let kinds: Vec<String> = by_kind
        .iter()
        .map(|(k, (n, mid))| format!("{k:?}={n} ({mid} mid-work)"))
        .collect();
    eprintln!(
        "fault suite summary: seed {}, schedules run {}, faults injected {} [{}], imports completed {}, duplicate claims {}, lost rows {}",
        settings.seed,
        reports.len(),
        by_kind.values().map(|(n, _)| n).sum::<usize>(),
        kinds.join(", "),
        reports.iter().filter(|r| r.completed).count(),
        reports.iter().map(|r| r.duplicate_claims).sum::<i64>(),
        reports.iter().map(|r| r.lost_rows).sum::<i64>(),
    );
}

/// Runs one schedule on a stack of its own.
async fn run(schedule: Schedule, seed: u64) -> Report {
    let mut report = Report {
        index: schedule.index,
        ..Default::default()
    };
    let started = {
        let _up = broker_up().await;
        Stack::start_with(Options {
            env: vec![
                ("BF_CLAIMS_BATCH_SIZE".into(), "10".into()),
                ("BF_ROW_BATCH_SIZE".into(), "50".into()),
            ],
        })
        .await
    };
    let mut stack = match started {
        Ok(stack) => stack,
        Err(e) => {
            report.problems.push(format!("stack did not start: {e:#}"));
            return report;
        }
    };
    let t0 = std::time::Instant::now();
    if let Err(e) = exercise(&mut stack, &schedule, seed, &mut report).await {
        report.problems.push(format!("{e:#}"));
    }
    eprintln!(
        "schedule {} done in {:?}: {}",
        schedule.index,
        t0.elapsed(),
        if report.problems.is_empty() {
            "ok".to_string()
        } else {
            report.problems.join("; ")
        }
    );
    if !report.problems.is_empty() {
        let logs = stack.logs();
        let tail: Vec<&str> = logs.lines().rev().take(40).collect();
        eprintln!(
            "---- schedule {} logs (last lines) ----\n{}",
            schedule.index,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    // Dropping deletes the vhost with rabbitmqctl: not while it restarts.
    let _up = broker_up().await;
    let _ = tokio::task::spawn_blocking(move || drop(stack)).await;
    report
}

/// The import of one schedule, its faults, and the checks.
async fn exercise(
    stack: &mut Stack,
    schedule: &Schedule,
    seed: u64,
    report: &mut Report,
) -> Result<()> {
    let mut rng = Rng::new(seed ^ 0xFA57, schedule.index);
    let api = stack.billing_lead(TENANT);
    let file = generate(schedule.rows);
    api.load_patients(&file.patients).await?;
    let tap = eventually("opening the tap", || Tap::open(&stack.amqp_url)).await?;
    let id = eventually("uploading", || api.upload("faults.csv", &file.csv)).await?;
    let mut pending: VecDeque<_> = schedule.faults.iter().copied().collect();
    let mut phase = PhaseRun {
        id: &id,
        tap: &tap,
        rng: &mut rng,
        pending: &mut pending,
        report,
    };
    phase
        .run(stack, Phase::Parsing, file.expected.total)
        .await?;
    eventually("approving", || approve(&api, &id)).await?;
    phase
        .run(stack, Phase::Approving, file.expected.valid)
        .await?;
    report.completed = true;
    check(stack, &api, &id, &file, report, "after completion").await?;

    // Every row event and approval once more, duplicated and shuffled:
    // a completed import must not move.
    let sent = tap.replay(&mut rng, &["events", "approve"]).await?;
    drain(&stack.amqp_url).await;
    check(
        stack,
        &api,
        &id,
        &file,
        report,
        &format!("after replaying {sent} deliveries"),
    )
    .await
}

/// Drives one phase to its end, injecting the phase's faults when their
/// share of the work is done.
struct PhaseRun<'a> {
    id: &'a str,
    tap: &'a Tap,
    rng: &'a mut Rng,
    pending: &'a mut VecDeque<bf_e2e::faults::Fault>,
    report: &'a mut Report,
}

impl PhaseRun<'_> {
    async fn run(&mut self, stack: &mut Stack, phase: Phase, work: i64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + PHASE_LIMIT;
        loop {
            let Ok((status, done)) = progress(stack, self.id, phase).await else {
                // The test's own connections may have been terminated.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let finished = match phase {
                Phase::Parsing => !matches!(status.as_str(), "queued" | "parsing"),
                Phase::Approving => status != "approving",
            };
            while let Some(fault) = self.pending.front().copied() {
                let due = fault.phase == phase
                    && (finished || done * 100 >= fault.percent as i64 * work.max(1));
                if !due {
                    break;
                }
                self.pending.pop_front();
                inject(stack, &fault, self.tap, self.rng).await?;
                self.report.injected.push((fault.kind, !finished));
            }
            if finished {
                return match status.as_str() {
                    "ready_for_review" if phase == Phase::Parsing => Ok(()),
                    "completed" if phase == Phase::Approving => Ok(()),
                    other => bail!("{phase:?} ended {other}: {}", failure(stack, self.id).await),
                };
            }
            if tokio::time::Instant::now() > deadline {
                bail!("import hangs: still {status} after {PHASE_LIMIT:?} ({done} of {work} done)");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The import's status, and the work of `phase` done so far (rows
/// recorded, or claims created).
async fn progress(stack: &Stack, id: &str, phase: Phase) -> Result<(String, i64)> {
    let (status, rows): (String, i64) = sqlx::query_as(
        "SELECT status, (SELECT count(*) FROM import_lines WHERE import_id = $1::uuid)
           FROM imports WHERE import_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&stack.gateway_db)
    .await?;
    let done = match phase {
        Phase::Parsing => rows,
        Phase::Approving => stack.claim_count(id).await?,
    };
    Ok((status, done))
}

async fn failure(stack: &Stack, id: &str) -> String {
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT reason FROM import_transitions WHERE import_id = $1::uuid ORDER BY at DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&stack.gateway_db)
    .await
    .ok()
    .flatten()
    .unwrap_or_default()
}

/// Causes one fault, and repairs what a real operator would (a killed
/// service is started again; a stopped broker too).
async fn inject(
    stack: &mut Stack,
    fault: &bf_e2e::faults::Fault,
    tap: &Tap,
    rng: &mut Rng,
) -> Result<()> {
    let down = Duration::from_millis(fault.down_ms);
    match fault.kind {
        FaultKind::KillValidator => crash(stack, "validator", down).await?,
        FaultKind::KillGateway => crash(stack, "gateway", down).await?,
        FaultKind::KillClaims => crash(stack, "claims", down).await?,
        FaultKind::DropConnections => drop_connections(&stack.name).await?,
        FaultKind::RestartBroker => restart_broker(down).await?,
        FaultKind::TerminateGatewayDb => {
            terminate_backends(&format!("{}_gw", stack.name)).await?;
        }
        FaultKind::TerminateClaimsDb => {
            terminate_backends(&format!("{}_cl", stack.name)).await?;
        }
        FaultKind::Duplicate => {
            tap.replay(rng, &["parse", "events", "approve"]).await?;
        }
    }
    Ok(())
}

/// SIGKILL, a pause, and a restart with the same settings.
async fn crash(stack: &mut Stack, service: &'static str, down: Duration) -> Result<()> {
    stack.kill(service)?;
    tokio::time::sleep(down).await;
    stack.restart(service).await
}

async fn approve(api: &Api, id: &str) -> Result<()> {
    let answer = api.post(&format!("/v1/imports/{id}/approve")).await?;
    if answer.status != StatusCode::ACCEPTED {
        bail!("approve answered {}: {}", answer.status, answer.text);
    }
    Ok(())
}

/// Retries `op` for up to a minute: the gateway or the broker may be
/// coming back from a fault.
async fn eventually<T, F, Fut>(what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut last = None;
    for _ in 0..120 {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "{what} kept failing: {:#}",
        last.unwrap_or_else(|| anyhow::anyhow!("?"))
    )
}

/// Waits until the work queues are empty, then gives the consumers time
/// to finish what they hold.
async fn drain(url: &str) {
    let mut empty = 0;
    for _ in 0..300 {
        if queued(url).await == Some(0) {
            empty += 1;
            if empty == 3 {
                break;
            }
        } else {
            empty = 0;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// The invariants: completed; one claim per valid line with the file's
/// amounts and none for any other line; every line recorded with its
/// status; counts and totals as in the file; the outbox fully published.
async fn check(
    stack: &Stack,
    api: &Api,
    id: &str,
    file: &Generated,
    report: &mut Report,
    when: &str,
) -> Result<()> {
    let e = &file.expected;
    let mut problems = Vec::new();
    let import = eventually("reading the import", || api.import(id)).await?;
    if import["status"] != "completed" {
        problems.push(format!("status {}", import["status"]));
    }
    let counts = serde_json::json!({
        "total": e.total, "valid": e.valid, "flagged": e.flagged,
        "invalid": e.invalid, "skipped": e.skipped
    });
    if import["counts"] != counts {
        problems.push(format!("counts {} (file: {counts})", import["counts"]));
    }
    let total = |key: &str| {
        import["totals"][key]
            .as_str()
            .and_then(|s| Decimal::from_str(s).ok())
    };
    if total("patient_balance") != Some(e.patient_balance)
        || total("insurance_balance") != Some(e.insurance_balance)
    {
        problems.push(format!(
            "totals {} differ from the file's",
            import["totals"]
        ));
    }
    if import["claims_created"] != serde_json::json!(e.valid) {
        problems.push(format!(
            "claims_created {} of {}",
            import["claims_created"], e.valid
        ));
    }

    // The ledger: one claim per valid line, with its amounts.
    let claims: Vec<(i32, i64, Decimal, Decimal)> = sqlx::query_as(
        "SELECT c.import_line, count(DISTINCT c.claim_id),
                coalesce(sum(l.charge) FILTER (WHERE l.responsibility = 'patient'), 0),
                coalesce(sum(l.charge) FILTER (WHERE l.responsibility = 'insurance'), 0)
           FROM claims c LEFT JOIN claim_lines l USING (claim_id)
          WHERE c.import_id = $1::uuid GROUP BY c.import_line",
    )
    .bind(id)
    .fetch_all(&stack.claims_db)
    .await?;
    let mut seen = BTreeMap::new();
    for (line, n, patient, insurance) in claims {
        report.duplicate_claims += (n - 1).max(0);
        if n > 1 {
            problems.push(format!("line {line} has {n} claims"));
        }
        match e.claims.get(&line) {
            None => problems.push(format!("line {line} got a claim it should not have")),
            Some(want) if (want.patient, want.insurance) != (patient, insurance) => {
                problems.push(format!("line {line}'s claim amounts differ from the file"))
            }
            Some(_) => {}
        }
        seen.insert(line, ());
    }
    let unclaimed = e.claims.keys().filter(|l| !seen.contains_key(l)).count();
    if unclaimed > 0 {
        problems.push(format!("{unclaimed} valid lines have no claim"));
    }
    let elsewhere: i64 =
        sqlx::query_scalar("SELECT count(*) FROM claims WHERE import_id IS DISTINCT FROM $1::uuid")
            .bind(id)
            .fetch_one(&stack.claims_db)
            .await?;
    if elsewhere > 0 {
        problems.push(format!(
            "{elsewhere} claims belong to no import of this test"
        ));
    }

    // The recorded rows: exactly the file's lines, each with its status.
    let rows: Vec<(i32, String)> =
        sqlx::query_as("SELECT line, status FROM import_lines WHERE import_id = $1::uuid")
            .bind(id)
            .fetch_all(&stack.gateway_db)
            .await?;
    let recorded: BTreeMap<i32, String> = rows.into_iter().collect();
    let lost = e
        .statuses
        .keys()
        .filter(|l| !recorded.contains_key(l))
        .count();
    report.lost_rows += lost as i64;
    if lost > 0 {
        problems.push(format!("{lost} lines of the file were not recorded"));
    }
    let wrong = e
        .statuses
        .iter()
        .filter(|(l, s)| recorded.get(l).is_some_and(|r| r != *s))
        .count();
    let extra = recorded.len() + lost - e.statuses.len();
    if wrong > 0 || extra > 0 {
        problems.push(format!(
            "{wrong} lines with another status, {extra} lines not in the file"
        ));
    }

    // Every outbox message published (the relay may still be on its way).
    let mut unpublished = 0;
    for _ in 0..50 {
        unpublished =
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&stack.gateway_db)
                .await
                .unwrap_or(-1);
        if unpublished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if unpublished != 0 {
        problems.push(format!("{unpublished} outbox messages never published"));
    }
    for p in problems {
        report.problems.push(format!("{when}: {p}"));
    }
    Ok(())
}
