//! The claims service: the practice's patient directory and its claims,
//! behind gRPC. It owns the claims database and nothing else.

mod config;
mod error;
mod grpc;
mod store;

use bf_proto::claims::claims_server::ClaimsServer;
use bf_runtime::{db, shutdown, telemetry};
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/claims");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bf_runtime::memory::tune_malloc();
    let _telemetry = telemetry::init("claims");
    let config = config::Config::load()?;
    let pool = db::open(
        &config.database_url,
        config.max_connections,
        &MIGRATIONS,
        Duration::from_secs(60),
    )
    .await?;
    let shutdown = shutdown::on_signal();

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<ClaimsServer<grpc::ClaimsService>>()
        .await;
    let service = grpc::ClaimsService::new(store::Store::new(pool.clone()));

    tracing::info!(addr = %config.grpc_addr, "claims gRPC listening");
    let metrics = bf_runtime::metrics::bind(config.metrics_addr).await?;
    let metrics = tokio::spawn(bf_runtime::metrics::serve(metrics, shutdown.clone()));
    tonic::transport::Server::builder()
        .trace_fn(bf_runtime::trace_context::grpc_server_span)
        .layer(bf_runtime::metrics::GrpcMetricsLayer)
        .add_service(health_service)
        .add_service(ClaimsServer::new(service))
        .serve_with_shutdown(config.grpc_addr, shutdown.cancelled_owned())
        .await?;
    let _ = metrics.await;
    pool.close().await;
    tracing::info!("claims stopped");
    Ok(())
}
