//! A connection to RabbitMQ, opened patiently: services start before or
//! after the broker, and a restart of the broker must not need a restart
//! of every service.

use lapin::{Channel, Connection, ConnectionProperties};
use std::time::Duration;

/// A broker failure. Carries no message content.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("RabbitMQ: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker did not confirm a publish (nack)")]
    Nacked,
    #[error("the broker returned an unroutable message for routing key {0}")]
    Unroutable(String),
    #[error("the consumer stream ended")]
    StreamEnded,
}

/// One AMQP connection; channels are cheap and made per use.
pub struct Broker {
    connection: Connection,
}

impl Broker {
    /// Connects, retrying every second for up to `wait`.
    pub async fn connect(url: &str, wait: Duration) -> Result<Broker, BrokerError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match Connection::connect(url, ConnectionProperties::default()).await {
                Ok(connection) => return Ok(Broker { connection }),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "RabbitMQ not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Opens a channel and makes sure the topology exists.
    pub async fn channel(&self) -> Result<Channel, BrokerError> {
        let channel = self.connection.create_channel().await?;
        crate::topology::declare(&channel).await?;
        Ok(channel)
    }

    /// Whether the connection is still usable.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// Closes the connection politely.
    pub async fn close(&self) {
        let _ = self.connection.close(200, "shutdown").await;
    }
}
