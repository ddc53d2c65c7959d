//! Keeps a broker-using loop alive: connect, run, and on any failure
//! reconnect after a pause, until shutdown. A broker restart then costs a
//! few seconds of delay, never a stuck service.

use crate::broker::Broker;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs `work` with a fresh connection each time the previous one failed.
/// `work` should return `Ok(())` only when `shutdown` is cancelled.
pub async fn supervise<F, Fut, E>(
    url: &str,
    name: &'static str,
    shutdown: CancellationToken,
    mut work: F,
) where
    F: FnMut(Arc<Broker>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    while !shutdown.is_cancelled() {
        let broker = tokio::select! {
            _ = shutdown.cancelled() => return,
            b = Broker::connect(url, Duration::from_secs(3600)) => b,
        };
        let broker = match broker {
            Ok(b) => Arc::new(b),
            Err(e) => {
                tracing::error!(task = name, error = %e, "cannot connect to RabbitMQ");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        tracing::info!(task = name, "connected to RabbitMQ");
        match work(Arc::clone(&broker)).await {
            Ok(()) => {}
            Err(e) => tracing::error!(task = name, error = %e, "stopped; reconnecting"),
        }
        broker.close().await;
        if !shutdown.is_cancelled() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
