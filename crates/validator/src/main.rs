//! The validator: a stateless worker that turns an uploaded file into
//! judged, matched rows. Scale it by running more processes.

mod config;
mod events;
mod job;
mod matcher;
mod metrics;
mod plan;
mod source;
mod wire;
mod workbook;

use bf_domain::split::Cutting;
use bf_messaging::topology::PARSE;
use bf_messaging::{consume_fair, supervise, Broker, BrokerError, Fairness, Publisher};
use bf_runtime::{objects, shutdown, telemetry};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bf_runtime::memory::tune_malloc();
    let _telemetry = telemetry::init("validator");
    let config = config::Config::load()?;
    let batch_size = config.batch_size.max(1);
    let parser = job::Parser {
        objects: objects::open(&config.object_store)?,
        claims: bf_proto::ClaimsClient::connect_lazy(&config.claims_url, Duration::from_secs(60))?,
        batch_size,
        // Chunks of whole batches, so sequence numbers follow from a
        // chunk's place; a file of a few chunks' rows gets one per worker.
        cutting: Cutting {
            rows_per_piece: config.chunk_rows as u64,
            batch_rows: batch_size as u64,
            at_least: config.workers.max(1) as u64,
        },
    };
    let shutdown = shutdown::on_signal();
    let metrics = bf_runtime::metrics::bind(config.metrics_addr).await?;
    let metrics = tokio::spawn(bf_runtime::metrics::serve(metrics, shutdown.clone()));
    let workers = config.workers.max(1);
    let stop = shutdown.clone();
    let url = config.amqp_url.clone();
    tracing::info!(workers, "validator running");
    supervise(
        &url,
        "parse workers",
        stop.clone(),
        move |broker: Arc<Broker>| {
            let parser = parser.clone();
            let stop = stop.clone();
            async move {
                let publisher = Arc::new(Publisher::new(broker.channel().await?).await?);
                let channel = broker.channel().await?;
                // A few jobs beyond the workers to choose among, so a practice
                // with many big files waiting cannot take every worker.
                let fairness = Fairness {
                    workers,
                    window: workers * 4,
                };
                consume_fair(
                    &channel,
                    PARSE,
                    fairness,
                    &stop,
                    job::tenant_of,
                    |message| {
                        let parser = parser.clone();
                        let publisher = Arc::clone(&publisher);
                        async move { parser.handle(&publisher, message).await }
                    },
                )
                .await?;
                Ok::<(), BrokerError>(())
            }
        },
    )
    .await;
    let _ = metrics.await;
    tracing::info!("validator stopped");
    Ok(())
}
