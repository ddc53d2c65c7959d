//! The gateway: HTTP API, upload storage, the outbox relay, the recorder
//! of validation results and the submitter of approved imports.

mod actions;
mod auth;
mod config;
mod dead_letters;
mod error;
mod http;
mod metrics;
mod recorder;
mod relay;
mod retention;
mod serve;
mod state;
mod storage;
mod store;
mod submitter;
mod tokens;
mod web;

use bf_runtime::{db, objects, shutdown, telemetry};
use state::AppState;
use std::sync::Arc;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/gateway");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bf_runtime::memory::tune_malloc();
    let _telemetry = telemetry::init("gateway");
    let config = Arc::new(config::Config::load()?);
    let pool = db::open(
        &config.database_url,
        config.max_connections,
        &MIGRATIONS,
        Duration::from_secs(60),
    )
    .await?;
    store::legacy_rows::move_into_blocks(&pool).await?;
    let objects = objects::open(&config.object_store)?;
    let claims = bf_proto::ClaimsClient::connect_lazy(&config.claims_url, Duration::from_secs(60))?;
    let shutdown = shutdown::on_signal();
    let wake = Arc::new(tokio::sync::Notify::new());

    let tokens = Arc::new(tokens::TokenKeys::load(&config).await?);
    let state = AppState {
        pool: pool.clone(),
        objects,
        claims: claims.clone(),
        config: Arc::clone(&config),
        tokens,
        outbox: Arc::clone(&wake),
        known_tenants: Default::default(),
    };
    let workers = [
        tokio::spawn(relay::run(
            pool.clone(),
            config.amqp_url.clone(),
            wake,
            shutdown.clone(),
        )),
        tokio::spawn(recorder::run(
            pool.clone(),
            config.amqp_url.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(dead_letters::run(
            pool.clone(),
            config.amqp_url.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(
            submitter::Submitter {
                pool: pool.clone(),
                claims,
                batch_size: config.claims_batch_size,
            }
            .run(config.amqp_url.clone(), shutdown.clone()),
        ),
        tokio::spawn(
            retention::Sweeper {
                pool: pool.clone(),
                objects: Arc::clone(&state.objects),
                keep: Duration::from_secs(config.retention_secs),
                every: Duration::from_secs(config.retention_sweep_secs.max(1)),
            }
            .run(shutdown.clone()),
        ),
    ];

    let listener = tokio::net::TcpListener::bind(config.http_addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "gateway listening");
    serve::run(
        listener,
        http::router(state),
        config.header_read_timeout,
        shutdown.clone(),
    )
    .await;
    for worker in workers {
        let _ = worker.await;
    }
    pool.close().await;
    tracing::info!("gateway stopped");
    Ok(())
}
