//! Load: 20 practices upload 50 files at once (1,000 to 50,000 rows each),
//! Save each as soon as it is ready while others still parse, and every
//! import ends exactly right. Prints throughput, p50/p99 time to
//! `ready_for_review`, errors, and fairness: the practice with the two
//! biggest files, uploaded first, must not hold back everyone else.
//!
//! Bounded: `BF_LOAD_IMPORTS` (default 50), `BF_LOAD_SEED` to replay the
//! sizes, and a deadline. Timings are printed, not asserted, except the
//! fairness order, which does not depend on the machine's speed.

use anyhow::{bail, Result};
use bf_e2e::api::Api;
use bf_e2e::files::{generate_numbered, Generated};
use bf_e2e::Stack;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TENANTS: usize = 20;
const BIG_ROWS: usize = 50_000;
const DEADLINE: Duration = Duration::from_secs(1500);

/// One planned import.
struct Planned {
    tenant: String,
    file: Generated,
    rows: usize,
    id: String,
}

/// A small seeded generator: the sizes of a run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Log-uniform in [lo, hi]: many small files, a few large.
    fn size(&mut self, lo: usize, hi: usize) -> usize {
        let unit = (self.next() % 10_000) as f64 / 10_000.0;
        let (lo, hi) = (lo as f64, hi as f64);
        (lo * (hi / lo).powf(unit)) as usize
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Practice 0 gets the two 50,000-row files; the others share the rest,
/// sizes drawn log-uniformly from 1,000 to 50,000.
fn plan(imports: usize, seed: u64) -> Vec<Planned> {
    let mut rng = Rng(seed.max(1));
    let mut next_patient: HashMap<String, usize> = HashMap::new();
    (0..imports)
        .map(|i| {
            let (tenant, rows) = if i < 2 {
                ("practice-00".to_string(), BIG_ROWS)
            } else {
                (
                    format!("practice-{:02}", 1 + (i - 2) % (TENANTS - 1)),
                    rng.size(1_000, BIG_ROWS),
                )
            };
            let first = next_patient.entry(tenant.clone()).or_insert(0);
            let file = generate_numbered(rows, *first);
            *first += rows;
            Planned {
                tenant,
                file,
                rows,
                id: String::new(),
            }
        })
        .collect()
}

/// Uploads, retrying while the practice is at its limit of running
/// imports (429 is the product's answer to a burst, not an error).
async fn upload(api: &Api, name: &str, csv: &str, throttled: &mut u32) -> Result<String> {
    for _ in 0..600 {
        match api.upload(name, csv).await {
            Ok(id) => return Ok(id),
            Err(e) if e.to_string().contains("429") => {
                *throttled += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
    bail!("still throttled after 5 minutes")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_practices_importing_at_once_all_finish_exactly_and_fairly() -> Result<()> {
    let imports = setting("BF_LOAD_IMPORTS", 50).max(3) as usize;
    let seed = setting("BF_LOAD_SEED", 20_261_127);
    println!("load: seed {seed} (replay with BF_LOAD_SEED={seed}), {imports} imports, {TENANTS} practices");
    let mut planned = plan(imports, seed);
    let total_rows: usize = planned.iter().map(|p| p.rows).sum();
    let stack = Stack::start().await?;
    let clients: HashMap<String, Api> = planned
        .iter()
        .map(|p| (p.tenant.clone(), stack.billing_lead(&p.tenant)))
        .collect();
    for p in &planned {
        clients[&p.tenant].load_patients(&p.file.patients).await?;
    }

    // The big practice first, then everyone else at once.
    let started = Instant::now();
    let mut throttled = 0;
    for p in planned.iter_mut().take(2) {
        p.id = upload(&clients[&p.tenant], "big.csv", &p.file.csv, &mut throttled).await?;
    }
    let uploads = planned.iter().skip(2).map(|p| {
        let api = clients[&p.tenant].clone();
        let csv = p.file.csv.clone();
        tokio::spawn(async move {
            let mut throttled = 0;
            let id = upload(&api, "balances.csv", &csv, &mut throttled).await;
            (id, throttled)
        })
    });
    let uploaded = futures::future::join_all(uploads).await;
    for (p, done) in planned.iter_mut().skip(2).zip(uploaded) {
        let (id, t) = done?;
        p.id = id?;
        throttled += t;
    }
    let upload_seconds = started.elapsed().as_secs_f64();

    // Save each import as soon as it is ready, while others still parse.
    let mut saved: HashMap<String, bool> = HashMap::new();
    let mut errors = Vec::new();
    loop {
        let mut finished = 0;
        for p in &planned {
            let status = clients[&p.tenant].import(&p.id).await?["status"]
                .as_str()
                .unwrap_or("")
                .to_string();
            match status.as_str() {
                "ready_for_review" if !saved.contains_key(&p.id) => {
                    let answer = clients[&p.tenant]
                        .post(&format!("/v1/imports/{}/approve", p.id))
                        .await?;
                    if answer.status != StatusCode::ACCEPTED {
                        errors.push(format!("{}: Save answered {}", p.id, answer.status));
                    }
                    saved.insert(p.id.clone(), true);
                }
                "completed" => finished += 1,
                "failed" | "voided" => {
                    errors.push(format!("{}: ended {status}", p.id));
                    finished += 1;
                }
                _ => {}
            }
        }
        if finished == planned.len() {
            break;
        }
        if started.elapsed() > DEADLINE {
            bail!(
                "only {finished} of {} imports finished in time",
                planned.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all_seconds = started.elapsed().as_secs_f64();

    // Exactness: counts and one claim per postable row, for every import.
    for p in &planned {
        let got = clients[&p.tenant].import(&p.id).await?;
        let e = &p.file.expected;
        let counts = &got["counts"];
        if counts["total"] != e.total
            || counts["valid"] != e.valid
            || counts["invalid"] != e.invalid
        {
            errors.push(format!("{}: counts {counts} differ from the file's", p.id));
        }
        let claims = stack.claim_count(&p.id).await?;
        if claims != e.claims.len() as i64 {
            errors.push(format!(
                "{}: {claims} claims for {} valid rows",
                p.id,
                e.claims.len()
            ));
        }
    }
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM claims GROUP BY tenant_id, import_id, import_line
                                HAVING count(*) > 1) d",
    )
    .fetch_one(&stack.claims_db)
    .await?;

    // Latency from the recorded transitions, to the millisecond.
    let ready: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT i.import_id::text, i.uploaded_at, t.at FROM imports i
           JOIN import_transitions t ON t.import_id = i.import_id AND t.to_status = 'ready_for_review'",
    )
    .fetch_all(&stack.gateway_db)
    .await?;
    let seconds: HashMap<String, f64> = ready
        .iter()
        .map(|(id, up, at)| (id.clone(), (*at - *up).num_milliseconds() as f64 / 1000.0))
        .collect();
    let ready_at: HashMap<String, DateTime<Utc>> =
        ready.iter().map(|(id, _, at)| (id.clone(), *at)).collect();
    let mut all: Vec<f64> = seconds.values().copied().collect();
    all.sort_by(f64::total_cmp);
    let big: Vec<f64> = planned[..2]
        .iter()
        .filter_map(|p| seconds.get(&p.id).copied())
        .collect();
    let mut others: Vec<f64> = planned[2..]
        .iter()
        .filter_map(|p| seconds.get(&p.id).copied())
        .collect();
    others.sort_by(f64::total_cmp);
    // Each practice's wait for its first result: the worst-served one
    // shows whether anyone was starved.
    let mut first_ready: HashMap<&str, f64> = HashMap::new();
    for p in &planned {
        if let Some(secs) = seconds.get(&p.id) {
            let e = first_ready.entry(p.tenant.as_str()).or_insert(f64::MAX);
            *e = e.min(*secs);
        }
    }
    let worst_first = first_ready
        .iter()
        .filter(|(t, _)| **t != "practice-00")
        .map(|(_, s)| *s)
        .fold(0.0, f64::max);
    let first_big = planned[..2]
        .iter()
        .filter_map(|p| ready_at.get(&p.id))
        .min();
    let first_other = planned[2..]
        .iter()
        .filter_map(|p| ready_at.get(&p.id))
        .min();

    println!(
        "load: {} imports, {total_rows} rows, {TENANTS} practices; uploads took {upload_seconds:.1} s ({throttled} answered 429 and were retried)",
        planned.len()
    );
    println!(
        "load: all ready and saved in {all_seconds:.1} s: {:.0} rows/s end to end",
        total_rows as f64 / all_seconds
    );
    println!(
        "load: time to ready_for_review p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or(0.0)
    );
    println!(
        "load: fairness: the big practice's two {BIG_ROWS}-row files took {big:.2?} s; the other 19 practices' imports p50 {:.2} s, p99 {:.2} s",
        percentile(&others, 50.0),
        percentile(&others, 99.0)
    );
    println!(
        "load: fairness: every other practice had its first import ready within {worst_first:.2} s of uploading it; the big practice's first took {:.2} s",
        big.iter().copied().fold(f64::MAX, f64::min)
    );
    println!("load: errors {}, doubled claims {doubled}", errors.len());
    assert!(errors.is_empty(), "errors: {errors:#?}");
    assert_eq!(doubled, 0, "no line has two claims");
    assert_eq!(seconds.len(), planned.len(), "every import reached review");
    assert!(
        first_other < first_big,
        "another practice's import is ready before the big practice's files, uploaded first, are"
    );
    Ok(())
}
