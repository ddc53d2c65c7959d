//! Fault injection for the randomized fault suite (`tests/faults.rs`):
//! seeded schedules of faults, and the means to cause each one to a real
//! stack: SIGKILL of a service, closing a vhost's broker connections,
//! restarting the broker, terminating PostgreSQL backends, and replaying
//! captured deliveries duplicated and out of order.

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use sqlx::postgres::PgPoolOptions;
use std::collections::HashSet;
use std::fmt;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{RwLock, RwLockReadGuard};

/// A small seeded PRNG (splitmix64 seeding, xorshift64* steps): the
/// suite must be replayable from a printed seed, and needs no crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one (seed, stream) pair, so schedule `i` of a seed
    /// is the same whatever the number of schedules run.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(z.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.range(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// One way of breaking a running import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL the validator (parsing), then start it again.
    KillValidator,
    /// SIGKILL the gateway (recording or approval), then start it again.
    KillGateway,
    /// SIGKILL the claims service (claim creation), then start it again.
    KillClaims,
    /// Close every connection of the stack's vhost.
    DropConnections,
    /// `stop_app` / `start_app` of the shared broker.
    RestartBroker,
    /// Terminate every backend of the gateway's database.
    TerminateGatewayDb,
    /// Terminate every backend of the claims database.
    TerminateClaimsDb,
    /// Republish the deliveries captured so far, duplicated and shuffled.
    Duplicate,
}

impl FaultKind {
    /// Every kind, for the per-kind summary.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::KillValidator,
        FaultKind::KillGateway,
        FaultKind::KillClaims,
        FaultKind::DropConnections,
        FaultKind::RestartBroker,
        FaultKind::TerminateGatewayDb,
        FaultKind::TerminateClaimsDb,
        FaultKind::Duplicate,
    ];

    /// The phases in which the fault hits work in progress.
    fn phases(self) -> &'static [Phase] {
        match self {
            FaultKind::KillValidator => &[Phase::Parsing],
            FaultKind::KillClaims => &[Phase::Approving],
            _ => &[Phase::Parsing, Phase::Approving],
        }
    }
}

/// The part of an import a fault lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Upload to ready_for_review: the validator parses, the gateway records.
    Parsing,
    /// Approve to completed: the submitter creates claims.
    Approving,
}

/// A fault and when it strikes: once `percent` of the phase's work is
/// done (rows recorded, or claims created).
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub kind: FaultKind,
    pub phase: Phase,
    pub percent: u64,
    /// How long a killed service or a stopped broker stays down.
    pub down_ms: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}@{:?}{}%(down {}ms)",
            self.kind, self.phase, self.percent, self.down_ms
        )
    }
}

/// The faults of one import, in the order they strike.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub index: u64,
    pub rows: usize,
    pub faults: Vec<Fault>,
}

impl Schedule {
    /// Schedule `index` of `seed`: 1 to 4 faults at random moments. Only
    /// every tenth schedule restarts the broker, because the broker is
    /// shared by every stack on the machine. Every tenth schedule, offset
    /// by five, is a storm: one service killed again and again while the
    /// same long job (a parse or an approval) is in hand, more times than
    /// the queues' delivery limit.
    pub fn generate(seed: u64, index: u64) -> Schedule {
        let mut rng = Rng::new(seed, index);
        let rows = rng.range(2000, 4000) as usize;
        if index % 10 == 5 {
            return storm(rng, index, rows);
        }
        let count = rng.range(1, 4);
        let mut faults = Vec::new();
        let restart_broker = index.is_multiple_of(10);
        if restart_broker {
            faults.push(fault(&mut rng, FaultKind::RestartBroker));
        }
        while (faults.len() as u64) < count {
            let kind = FaultKind::ALL[rng.range(0, FaultKind::ALL.len() as u64 - 1) as usize];
            let next = fault(&mut rng, kind);
            let same_phase = faults.iter().filter(|f| f.phase == next.phase).count();
            // A phase is one long job (a parse, an approval), and the
            // product treats a job interrupted a fifth time between two
            // checkpoints as poison (it fails the import with a reason):
            // random schedules stay within that; storms go past it with
            // spaced faults, which checkpoints must absorb.
            if kind != FaultKind::RestartBroker && same_phase < 3 {
                faults.push(next);
            }
        }
        faults.sort_by_key(|f| (f.phase == Phase::Approving, f.percent));
        Schedule {
            index,
            rows,
            faults,
        }
    }
}

/// Six kills of the service holding the phase's one long job.
fn storm(mut rng: Rng, index: u64, rows: usize) -> Schedule {
    let (kind, phase) = if rng.range(0, 1) == 0 {
        (FaultKind::KillValidator, Phase::Parsing)
    } else {
        (FaultKind::KillGateway, Phase::Approving)
    };
    let faults = (0..6)
        .map(|i| Fault {
            kind,
            phase,
            percent: 5 + i * 12 + rng.range(0, 8),
            down_ms: rng.range(0, 300),
        })
        .collect();
    Schedule {
        index,
        rows,
        faults,
    }
}

fn fault(rng: &mut Rng, kind: FaultKind) -> Fault {
    let phases = kind.phases();
    Fault {
        kind,
        phase: phases[rng.range(0, phases.len() as u64 - 1) as usize],
        percent: rng.range(5, 85),
        down_ms: rng.range(0, 1500),
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<String> = self.faults.iter().map(Fault::to_string).collect();
        write!(
            f,
            "schedule {} ({} rows): {}",
            self.index,
            self.rows,
            faults.join(", ")
        )
    }
}

/// The run's settings: `BF_FAULT_SEED` (default: from the clock),
/// `BF_FAULT_SCHEDULES` (default 20), `BF_FAULT_CONCURRENCY` (default 4),
/// and `BF_FAULT_ONLY` (one schedule's index, to replay just that one).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub seed: u64,
    pub schedules: u64,
    pub concurrency: usize,
    pub only: Option<u64>,
}

impl Settings {
    /// The indexes of the schedules this run plays.
    pub fn indexes(&self) -> Vec<u64> {
        match self.only {
            Some(i) => vec![i],
            None => (0..self.schedules).collect(),
        }
    }
}

impl Settings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<Settings> {
        let number = |name: &str| -> Result<Option<u64>> {
            match std::env::var(name) {
                Ok(v) => Ok(Some(
                    v.trim().parse().with_context(|| format!("{name}={v}"))?,
                )),
                Err(_) => Ok(None),
            }
        };
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Ok(Settings {
            seed: number("BF_FAULT_SEED")?.unwrap_or(clock),
            schedules: number("BF_FAULT_SCHEDULES")?.unwrap_or(20),
            concurrency: number("BF_FAULT_CONCURRENCY")?.unwrap_or(4).max(1) as usize,
            only: number("BF_FAULT_ONLY")?,
        })
    }
}

/// Serialises broker restarts against everything that needs the broker's
/// management commands (vhost creation and deletion, closing connections):
/// those hold a read guard, a restart holds the write guard.
fn broker_gate() -> &'static RwLock<()> {
    static GATE: OnceLock<RwLock<()>> = OnceLock::new();
    GATE.get_or_init(|| RwLock::new(()))
}

/// Holds the broker up (no restart starts) while the guard lives.
pub async fn broker_up() -> RwLockReadGuard<'static, ()> {
    broker_gate().read().await
}

fn rabbitmqctl(args: &[&str]) -> Result<String> {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("running rabbitmqctl")?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts the broker application again when dropped, so a failing or
/// panicking test never leaves the shared broker stopped.
struct BrokerStopped;

impl Drop for BrokerStopped {
    fn drop(&mut self) {
        for _ in 0..5 {
            if rabbitmqctl(&["start_app"]).is_ok() {
                let _ = rabbitmqctl(&["await_startup"]);
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        eprintln!("could not start RabbitMQ again: run `rabbitmqctl start_app`");
    }
}

/// Stops the broker application for `down`, then starts it again and
/// waits until it serves.
pub async fn restart_broker(down: Duration) -> Result<()> {
    let _exclusive = broker_gate().write().await;
    tokio::task::spawn_blocking(move || {
        rabbitmqctl(&["stop_app"])?;
        let stopped = BrokerStopped;
        std::thread::sleep(down);
        drop(stopped);
        Ok::<(), anyhow::Error>(())
    })
    .await?
}

/// Closes every client connection of `vhost` (the services', and the
/// tap's), as a network blip or a broker-side close would.
pub async fn drop_connections(vhost: &str) -> Result<()> {
    let _up = broker_up().await;
    let vhost = vhost.to_string();
    tokio::task::spawn_blocking(move || {
        rabbitmqctl(&[
            "close_all_connections",
            "--vhost",
            &vhost,
            "--limit",
            "1000",
            "fault injection",
        ])
    })
    .await??;
    Ok(())
}

/// Terminates every client backend of `database` (in a transaction or
/// not); returns how many were terminated and how many were inside a
/// transaction.
pub async fn terminate_backends(database: &str) -> Result<(i64, i64)> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&crate::admin_database_url())
        .await?;
    let killed: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)),
                count(*) FILTER (WHERE state LIKE 'idle in transaction%' OR xact_start IS NOT NULL)
           FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .bind(database)
    .fetch_one(&admin)
    .await?;
    admin.close().await;
    Ok(killed)
}

/// The work queues' routing keys, as the tap binds them.
const TAPPED: [&str; 3] = ["parse", "events", "approve"];
const TAP_QUEUE: &str = "faults.tap";

/// Distinct (routing key, payload) pairs, in the order first seen.
type Captured = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A copy of every distinct message published on the stack's exchange,
/// kept by a durable tap queue (so closed connections and a broker
/// restart lose nothing) and a consumer that reconnects.
pub struct Tap {
    url: String,
    seen: Captured,
    task: tokio::task::JoinHandle<()>,
}

impl Tap {
    /// Declares and binds the tap queue, then consumes it in the background.
    pub async fn open(url: &str) -> Result<Tap> {
        let conn = Connection::connect(url, ConnectionProperties::default()).await?;
        declare_tap(&conn).await?;
        let _ = conn.close(200, "tap declared").await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(keep_tapping(url.to_string(), Arc::clone(&seen)));
        Ok(Tap {
            url: url.to_string(),
            seen,
            task,
        })
    }

    /// How many distinct messages were captured.
    pub fn captured(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Republishes the captured messages with routing keys in `keys`, each
    /// one to three times, in shuffled order; returns how many were sent.
    pub async fn replay(&self, rng: &mut Rng, keys: &[&str]) -> Result<usize> {
        let mut copies = Vec::new();
        for (key, data) in self.seen.lock().map(|s| s.clone()).unwrap_or_default() {
            if keys.contains(&key.as_str()) {
                for _ in 0..rng.range(1, 3) {
                    copies.push((key.clone(), data.clone()));
                }
            }
        }
        rng.shuffle(&mut copies);
        let mut last = None;
        for _ in 0..20 {
            match publish_all(&self.url, &copies).await {
                Ok(()) => return Ok(copies.len()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("replay failed")))
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn declare_tap(conn: &Connection) -> Result<()> {
    let channel = conn.create_channel().await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(TAP_QUEUE, durable, FieldTable::default())
        .await?;
    for key in TAPPED {
        channel
            .queue_bind(
                TAP_QUEUE,
                "bf.imports",
                key,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

async fn keep_tapping(url: String, seen: Captured) {
    let mut distinct = HashSet::new();
    loop {
        if let Err(e) = tap_once(&url, &seen, &mut distinct).await {
            note_reconnect(&e);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A dropped tap connection is expected under these faults; it is only
/// worth a line when debugging the suite itself.
fn note_reconnect(e: &anyhow::Error) {
    if std::env::var_os("BF_FAULT_VERBOSE").is_some() {
        eprintln!("tap reconnecting: {e}");
    }
}

async fn tap_once(
    url: &str,
    seen: &Mutex<Vec<(String, Vec<u8>)>>,
    distinct: &mut HashSet<(String, Vec<u8>)>,
) -> Result<()> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    let mut consumer = channel
        .basic_consume(
            TAP_QUEUE,
            "tap",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let entry = (
            delivery.routing_key.as_str().to_string(),
            delivery.data.clone(),
        );
        if distinct.insert(entry.clone()) {
            if let Ok(mut s) = seen.lock() {
                s.push(entry);
            }
        }
        delivery.ack(BasicAckOptions::default()).await?;
    }
    bail!("tap consumer ended")
}

async fn publish_all(url: &str, copies: &[(String, Vec<u8>)]) -> Result<()> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    for (key, data) in copies {
        channel
            .basic_publish(
                "bf.imports",
                key,
                BasicPublishOptions::default(),
                data,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
    }
    // Closing waits for the publishes to be written out.
    conn.close(200, "replayed").await?;
    Ok(())
}

/// Ready messages in the stack's work queues (0 once everything was
/// delivered), or `None` while the broker cannot be asked.
pub async fn queued(url: &str) -> Option<u32> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .ok()?;
    let channel = conn.create_channel().await.ok()?;
    let mut total = 0;
    for queue in ["imports.parse", "imports.events", "imports.approve"] {
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let q = channel
            .queue_declare(queue, passive, FieldTable::default())
            .await
            .ok()?;
        total += q.message_count();
    }
    let _ = conn.close(200, "asked").await;
    Some(total)
}
