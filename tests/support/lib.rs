//! The end-to-end test harness: each test gets its own PostgreSQL
//! databases, its own RabbitMQ vhost, its own upload directory and the
//! three real service binaries on free ports, so tests run in parallel
//! and leave nothing behind.

pub mod api;
pub mod browser;
pub mod faults;
pub mod files;
pub mod otlp;
pub mod ports;
pub mod xlsx;

use anyhow::{bail, Context, Result};
use ports::free_port;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The PostgreSQL server the tests use (trust or password auth).
pub fn admin_database_url() -> String {
    std::env::var("BF_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_string())
}

fn database_url(name: &str) -> String {
    let admin = admin_database_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

/// Builds the service binaries once per test process (a no-op when they
/// are fresh), so `cargo test` alone always tests the current code.
fn binaries() -> Result<PathBuf> {
    static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "--bins",
                "-p",
                "bf-gateway",
                "-p",
                "bf-validator",
                "-p",
                "bf-claims",
                "-p",
                "bf-cli",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cargo build of the services failed".into());
        }
        // target/debug/deps/<test> -> target/debug
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        exe.parent()
            .and_then(|d| d.parent())
            .map(PathBuf::from)
            .ok_or_else(|| "cannot locate target directory".into())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

fn rabbitmqctl(args: &[&str]) -> Result<()> {
    let mut out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("running rabbitmqctl (is RabbitMQ installed? see deploy/local/up)")?;
    // The fault suite restarts the broker application; a test starting
    // meanwhile waits for it instead of failing.
    for _ in 0..120 {
        if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("start_app") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        out = Command::new("rabbitmqctl").args(args).output()?;
    }
    if !out.status.success() {
        bail!(
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Settings a test may change.
#[derive(Default, Clone)]
pub struct Options {
    /// Extra `BF_*` variables for every service.
    pub env: Vec<(String, String)>,
}

/// How many processes of the scalable services a stack runs. Every
/// instance shares the broker, the databases and the upload directory,
/// as replicas in production do; each has its own ports and log.
#[derive(Debug, Clone, Copy)]
pub struct Instances {
    pub validators: usize,
    pub gateways: usize,
}

impl Default for Instances {
    fn default() -> Self {
        Instances {
            validators: 1,
            gateways: 1,
        }
    }
}

/// The three services of one test, and the resources they own.
pub struct Stack {
    pub name: String,
    /// The first gateway's URL.
    pub gateway_url: String,
    /// Every gateway's URL, the first one first.
    pub gateway_urls: Vec<String>,
    pub amqp_url: String,
    /// The first validator's and the claims service's `/metrics` servers.
    pub validator_metrics_url: String,
    /// Every validator's `/metrics` server, the first one first.
    pub validator_metrics_urls: Vec<String>,
    pub claims_metrics_url: String,
    /// The claims service's gRPC address, for tests that speak to it as
    /// the gateway does.
    pub claims_url: String,
    /// The claims service's database, for assertions on the ledger.
    pub claims_db: PgPool,
    /// The gateway's database, for assertions on imports.
    pub gateway_db: PgPool,
    dir: PathBuf,
    env: HashMap<String, String>,
    /// Settings of one instance that differ from the shared ones (ports).
    own_env: HashMap<String, Vec<(String, String)>>,
    /// Running processes by instance name: `gateway`, `gateway-2`, …
    children: HashMap<String, Child>,
}

/// The binary an instance runs: `validator-2` runs `validator`.
fn binary_of(instance: &str) -> &str {
    instance.split_once('-').map_or(instance, |(b, _)| b)
}

/// The place of an instance among its service's: `gateway-2` is 1.
fn instance_index(instance: &str) -> usize {
    instance
        .split_once('-')
        .and_then(|(_, n)| n.parse::<usize>().ok())
        .map_or(0, |n| n - 1)
}

/// How often an instance that lost its port at start is started again.
const PORT_ATTEMPTS: usize = 5;

/// The instance names of a service: `validator`, `validator-2`, …
fn instance_names(service: &str, count: usize) -> Vec<String> {
    (1..=count.max(1))
        .map(|n| match n {
            1 => service.to_string(),
            n => format!("{service}-{n}"),
        })
        .collect()
}

impl Stack {
    /// Starts a stack with default settings.
    pub async fn start() -> Result<Stack> {
        Stack::start_with(Options::default()).await
    }

    /// Creates the databases and vhost, then starts claims, gateway and
    /// validator, and waits until the gateway is ready.
    pub async fn start_with(options: Options) -> Result<Stack> {
        Stack::start_instances(options, Instances::default()).await
    }

    /// Like [`Stack::start_with`], with several gateways and validators
    /// sharing one broker and one database; kill, restart and terminate
    /// name them `gateway`, `gateway-2`, `validator`, `validator-2`, ….
    pub async fn start_instances(options: Options, instances: Instances) -> Result<Stack> {
        let bins = binaries()?;
        let name = format!(
            "bf_t_{}",
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..12)
                .unwrap_or("x")
        );
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin_database_url())
            .await?;
        for db in ["gw", "cl"] {
            sqlx::query(&format!("CREATE DATABASE {name}_{db}"))
                .execute(&admin)
                .await?;
        }
        admin.close().await;
        rabbitmqctl(&["add_vhost", &name])?;
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"])?;

        let dir = bins.join("e2e").join(&name);
        std::fs::create_dir_all(&dir)?;
        let grpc_port = free_port()?;
        let gateways = instance_names("gateway", instances.gateways);
        let validators = instance_names("validator", instances.validators);
        let mut own_env: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let mut gateway_urls = Vec::new();
        for g in &gateways {
            let port = free_port()?;
            own_env.insert(
                g.clone(),
                vec![("BF_HTTP_ADDR".into(), format!("127.0.0.1:{port}"))],
            );
            gateway_urls.push(format!("http://127.0.0.1:{port}"));
        }
        let mut validator_metrics_urls = Vec::new();
        for v in &validators {
            let port = free_port()?;
            own_env.insert(
                v.clone(),
                vec![(
                    "BF_VALIDATOR_METRICS_ADDR".into(),
                    format!("127.0.0.1:{port}"),
                )],
            );
            validator_metrics_urls.push(format!("http://127.0.0.1:{port}/metrics"));
        }
        let claims_metrics = free_port()?;
        let amqp_url = format!("amqp://guest:guest@127.0.0.1:5672/{name}");
        let mut env: HashMap<String, String> = [
            (
                "BF_GATEWAY_DATABASE_URL",
                database_url(&format!("{name}_gw")),
            ),
            (
                "BF_CLAIMS_DATABASE_URL",
                database_url(&format!("{name}_cl")),
            ),
            ("BF_AMQP_URL", amqp_url.clone()),
            ("BF_OBJECT_STORE", dir.join("objects").display().to_string()),
            ("BF_GRPC_ADDR", format!("127.0.0.1:{grpc_port}")),
            ("BF_CLAIMS_URL", format!("http://127.0.0.1:{grpc_port}")),
            (
                "BF_CLAIMS_METRICS_ADDR",
                format!("127.0.0.1:{claims_metrics}"),
            ),
            ("BF_JWT_SECRET", api::SECRET.to_string()),
            ("BF_LOG", "info".to_string()),
            ("BF_GATEWAY_DB_MAX_CONNECTIONS", "5".to_string()),
            ("BF_CLAIMS_DB_MAX_CONNECTIONS", "5".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(options.env);
        let mut stack = Stack {
            gateway_url: gateway_urls[0].clone(),
            gateway_urls,
            validator_metrics_url: validator_metrics_urls[0].clone(),
            validator_metrics_urls,
            claims_metrics_url: format!("http://127.0.0.1:{claims_metrics}/metrics"),
            claims_url: format!("http://127.0.0.1:{grpc_port}"),
            claims_db: PgPoolOptions::new()
                .max_connections(2)
                .connect(&database_url(&format!("{name}_cl")))
                .await?,
            gateway_db: PgPoolOptions::new()
                .max_connections(2)
                .connect(&database_url(&format!("{name}_gw")))
                .await?,
            name,
            amqp_url,
            dir,
            env,
            own_env,
            children: HashMap::new(),
        };
        stack.start_serving("claims", true).await?;
        for instance in gateways.iter().chain(&validators) {
            stack.start_serving(instance, true).await?;
        }
        Ok(stack)
    }

    /// Starts an instance and waits until it serves. One that exits at
    /// start because another process took its port is started again on
    /// new ports when `may_move` (nothing started yet depends on them).
    async fn start_serving(&mut self, instance: &str, may_move: bool) -> Result<()> {
        for _ in 0..PORT_ATTEMPTS {
            let log = self.dir.join(format!("{instance}.log"));
            let logged = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
            self.spawn(instance)?;
            if self.wait_serving(instance).await? {
                return Ok(());
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let since = text.get(logged..).unwrap_or_default();
            if !(may_move && ports::lost_port(since)) {
                bail!("{instance} exited at start:\n{since}");
            }
            self.move_ports(instance)?;
        }
        bail!(
            "{instance} lost its port {PORT_ATTEMPTS} times; see {}",
            self.dir.display()
        )
    }

    /// Waits until an instance serves (true), or has exited (false).
    async fn wait_serving(&mut self, instance: &str) -> Result<bool> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        for _ in 0..300 {
            let exited = match self.children.get_mut(instance) {
                Some(child) => child.try_wait()?.is_some(),
                None => true,
            };
            if exited {
                return Ok(false);
            }
            if self.serves(&client, instance).await {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{instance} never became ready; see {}", self.dir.display())
    }

    /// Whether an instance serves: it listens on its port itself (not
    /// another test's process that took the port first) and, for a
    /// gateway, is ready.
    async fn serves(&self, client: &reqwest::Client, instance: &str) -> bool {
        let Some(pid) = self.children.get(instance).map(Child::id) else {
            return false;
        };
        if !ports::listens(pid, self.port_of(instance)) {
            return false;
        }
        if binary_of(instance) != "gateway" {
            return true;
        }
        let url = &self.gateway_urls[instance_index(instance)];
        let ready = client.get(format!("{url}/readyz")).send().await;
        matches!(ready, Ok(r) if r.status().is_success())
    }

    /// The port an instance listens on, from the address it was given:
    /// claims' gRPC address, a gateway's or validator's own.
    fn port_of(&self, instance: &str) -> u16 {
        let addr = match binary_of(instance) {
            "claims" => self.env.get("BF_GRPC_ADDR"),
            _ => self
                .own_env
                .get(instance)
                .and_then(|e| e.first())
                .map(|(_, a)| a),
        };
        addr.and_then(|a| a.rsplit(':').next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Gives an instance new ports, for a start again after it lost one.
    fn move_ports(&mut self, instance: &str) -> Result<()> {
        let n = instance_index(instance);
        let port = free_port()?;
        match binary_of(instance) {
            "gateway" => {
                self.own_env.insert(
                    instance.into(),
                    vec![("BF_HTTP_ADDR".into(), format!("127.0.0.1:{port}"))],
                );
                self.gateway_urls[n] = format!("http://127.0.0.1:{port}");
                self.gateway_url = self.gateway_urls[0].clone();
            }
            "validator" => {
                self.own_env.insert(
                    instance.into(),
                    vec![(
                        "BF_VALIDATOR_METRICS_ADDR".into(),
                        format!("127.0.0.1:{port}"),
                    )],
                );
                self.validator_metrics_urls[n] = format!("http://127.0.0.1:{port}/metrics");
                self.validator_metrics_url = self.validator_metrics_urls[0].clone();
            }
            _ => {
                let metrics = free_port()?;
                self.env
                    .insert("BF_GRPC_ADDR".into(), format!("127.0.0.1:{port}"));
                self.claims_url = format!("http://127.0.0.1:{port}");
                self.env
                    .insert("BF_CLAIMS_URL".into(), self.claims_url.clone());
                self.env.insert(
                    "BF_CLAIMS_METRICS_ADDR".into(),
                    format!("127.0.0.1:{metrics}"),
                );
                self.claims_metrics_url = format!("http://127.0.0.1:{metrics}/metrics");
            }
        }
        Ok(())
    }

    fn spawn(&mut self, instance: &str) -> Result<()> {
        let bins = binaries()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{instance}.log")))?;
        let own = self.own_env.get(instance).cloned().unwrap_or_default();
        let child = Command::new(bins.join(binary_of(instance)))
            .envs(&self.env)
            .envs(own)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {instance}"))?;
        self.children.insert(instance.to_string(), child);
        Ok(())
    }

    /// Every instance this stack started, in start order of kind.
    fn instances(&self) -> Vec<String> {
        let mut names: Vec<String> = self.own_env.keys().cloned().collect();
        names.push("claims".into());
        names.sort();
        names
    }

    /// The directory uploaded files are stored in (`BF_OBJECT_STORE`).
    pub fn objects_dir(&self) -> PathBuf {
        self.dir.join("objects")
    }

    /// A connection to this stack's vhost, and a channel on which the
    /// topology is declared, as every service declares it before it
    /// publishes: a message sent to the exchange before any queue is bound
    /// is dropped, and a test may get here before the gateway's consumers
    /// have declared theirs. Keep the connection while using the channel.
    pub async fn broker(&self) -> Result<(lapin::Connection, lapin::Channel)> {
        let connection =
            lapin::Connection::connect(&self.amqp_url, lapin::ConnectionProperties::default())
                .await?;
        let channel = connection.create_channel().await?;
        bf_messaging::topology::declare(&channel).await?;
        Ok((connection, channel))
    }

    /// Runs `bfctl` against the first gateway with `token`.
    pub fn bfctl(&self, token: &str, args: &[&str]) -> Result<Output> {
        Ok(Command::new(binaries()?.join("bfctl"))
            .args(args)
            .env("BF_URL", &self.gateway_url)
            .env("BF_TOKEN", token)
            .stdin(Stdio::null())
            .output()?)
    }

    /// Kills a service at once (SIGKILL), as a crash would. `service` is
    /// an instance name: `validator` is the first validator.
    pub fn kill(&mut self, service: &'static str) -> Result<()> {
        if let Some(mut child) = self.children.remove(service) {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Asks a service to stop (SIGTERM), as an orchestrator does, and
    /// waits for it to exit; returns its exit status. Fails if it is still
    /// running after `grace` (it is then killed).
    pub fn terminate(&mut self, service: &'static str, grace: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.children.remove(service) else {
            bail!("{service} is not running");
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !sent.success() {
            bail!("kill -TERM {service} failed");
        }
        let deadline = std::time::Instant::now() + grace;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!("{service} was still running {grace:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a killed or terminated service again with the same settings
    /// (and ports: the others know them), and waits until it serves.
    pub async fn restart(&mut self, service: &'static str) -> Result<()> {
        self.start_serving(service, false).await
    }

    /// An API client for a tenant and user with the given roles.
    pub fn client(&self, tenant: &str, user: &str, roles: &[&str]) -> api::Api {
        api::Api::new(&self.gateway_url, Some(api::token(tenant, user, roles)))
    }

    /// A client with every role, for the common case.
    pub fn billing_lead(&self, tenant: &str) -> api::Api {
        self.client(tenant, "lead@example.test", &api::ALL_ROLES)
    }

    /// Everything the services logged so far.
    pub fn logs(&self) -> String {
        self.instances()
            .iter()
            .map(|s| std::fs::read_to_string(self.dir.join(format!("{s}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Claims in the ledger for one import, whatever their state.
    pub async fn claim_count(&self, import_id: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM claims WHERE import_id = $1::uuid")
                .bind(import_id)
                .fetch_one(&self.claims_db)
                .await?,
        )
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for service in self.instances() {
                let path = self.dir.join(format!("{service}.log"));
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                eprintln!("---- {service} log (last lines, {}) ----", path.display());
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        let _ = rabbitmqctl(&["delete_vhost", &self.name]);
        // Pools must close before the databases can be dropped; do it on a
        // fresh runtime since Drop cannot await.
        let name = self.name.clone();
        let pools = [self.claims_db.clone(), self.gateway_db.clone()];
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                for p in pools {
                    p.close().await;
                }
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_database_url())
                    .await
                    .ok()?;
                for db in ["gw", "cl"] {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}_{db} WITH (FORCE)"))
                            .execute(&admin)
                            .await;
                }
                Some(())
            })
        })
        .join();
    }
}
