//! The validator: a stateless worker that turns an uploaded file into
//! judged, matched rows. Scale it by running more processes.

mod config;
mod events;
mod job;
mod matcher;
mod metrics;
mod source;
mod workbook;

use bf_messaging::topology::PARSE;
use bf_messaging::{consume, supervise, Broker, BrokerError, Publisher};
use bf_runtime::{objects, shutdown, telemetry};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("validator");
    let config = config::Config::load()?;
    let parser = job::Parser {
        objects: objects::open(&config.object_store)?,
        claims: bf_proto::ClaimsClient::connect_lazy(&config.claims_url, Duration::from_secs(60))?,
        batch_size: config.batch_size.max(1),
    };
    let shutdown = shutdown::on_signal();
    let metrics = tokio::spawn(bf_runtime::metrics::serve(
        config.metrics_addr,
        shutdown.clone(),
    ));
    let mut workers = Vec::new();
    for _ in 0..config.workers.max(1) {
        let parser = parser.clone();
        let stop = shutdown.clone();
        let url = config.amqp_url.clone();
        workers.push(tokio::spawn(async move {
            supervise(
                &url,
                "parse worker",
                stop.clone(),
                move |broker: Arc<Broker>| {
                    let parser = parser.clone();
                    let stop = stop.clone();
                    async move {
                        let publisher = Publisher::new(broker.channel().await?).await?;
                        let channel = broker.channel().await?;
                        consume(&channel, PARSE, 1, &stop, |message| {
                            parser.handle(&publisher, message)
                        })
                        .await?;
                        Ok::<(), BrokerError>(())
                    }
                },
            )
            .await
        }));
    }
    tracing::info!(workers = workers.len(), "validator running");
    for w in workers {
        let _ = w.await;
    }
    let _ = metrics.await;
    tracing::info!("validator stopped");
    Ok(())
}
