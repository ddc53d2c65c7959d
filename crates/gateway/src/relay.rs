//! The outbox relay: publishes committed outbox messages with confirms,
//! then marks them published. A crash between the two republishes a
//! message, which consumers tolerate (at-least-once, idempotent effects).

use crate::store::outbox;
use bf_messaging::{supervise, Broker, BrokerError, Publisher};
use bf_runtime::trace_context::{self, Carrier};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Messages published per transaction.
const BATCH: i64 = 100;
/// How long published messages are kept, and how often they are pruned.
const KEEP_DAYS: i32 = 7;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often the queue-depth gauges are refreshed.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

/// Reads every work queue's and dead-letter queue's depth into the gauge.
async fn record_queue_depths(publisher: &Publisher) -> Result<(), RelayError> {
    for queue in bf_messaging::topology::QUEUES {
        for name in [queue.name.to_string(), queue.dead_letter_name()] {
            let depth = publisher.queue_depth(&name).await?;
            crate::metrics::queue_depth()
                .with_label_values(&[name.as_str()])
                .set(i64::from(depth));
        }
    }
    Ok(())
}

/// Why a relay pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("{0}")]
    Broker(#[from] BrokerError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("outbox row {0} names an unknown queue")]
    UnknownQueue(i64),
}

/// Runs the relay until shutdown, reconnecting as needed.
pub async fn run(pool: PgPool, amqp_url: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    let stop = shutdown.clone();
    supervise(
        &amqp_url,
        "outbox relay",
        shutdown,
        move |broker: Arc<Broker>| {
            let pool = pool.clone();
            let wake = Arc::clone(&wake);
            let stop = stop.clone();
            async move {
                let publisher = Publisher::new(broker.channel().await?).await?;
                let mut pruned_at = tokio::time::Instant::now();
                let mut depth_at = tokio::time::Instant::now() - DEPTH_EVERY;
                loop {
                    let published = publish_pending(&pool, &publisher).await?;
                    if depth_at.elapsed() > DEPTH_EVERY {
                        record_queue_depths(&publisher).await?;
                        depth_at = tokio::time::Instant::now();
                    }
                    if pruned_at.elapsed() > PRUNE_EVERY {
                        let removed = outbox::prune(&pool, KEEP_DAYS).await?;
                        tracing::debug!(removed, "old outbox messages pruned");
                        pruned_at = tokio::time::Instant::now();
                    }
                    if published == 0 {
                        tokio::select! {
                            _ = stop.cancelled() => return Ok::<(), RelayError>(()),
                            _ = wake.notified() => {}
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                }
            }
        },
    )
    .await;
}

async fn publish_pending(pool: &PgPool, publisher: &Publisher) -> Result<usize, RelayError> {
    // The relay publishes every tenant's messages (ids only, no rows).
    let mut tx = bf_runtime::db::system_tx(pool).await?;
    let pending = outbox::claim(&mut tx, BATCH).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(pending.len());
    for message in &pending {
        let queue = message
            .queue()
            .ok_or(RelayError::UnknownQueue(message.id))?;
        let parent: Carrier = message
            .trace_context
            .clone()
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default();
        let span = tracing::info_span!("outbox.publish", kind = %message.kind, queue = queue.name, outbox_id = message.id);
        trace_context::continue_from(&span, &parent);
        let headers = span.in_scope(trace_context::current);
        publisher
            .publish(
                queue,
                &message.kind,
                &message.message_id,
                &message.payload,
                &headers,
            )
            .instrument(span)
            .await?;
        ids.push(message.id);
    }
    outbox::mark_published(&mut tx, &ids).await?;
    tx.commit().await?;
    tracing::debug!(count = ids.len(), "outbox messages published");
    Ok(ids.len())
}
