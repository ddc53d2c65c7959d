//! Publishing with confirms: a publish returns only once the broker has
//! taken responsibility for the message.

use crate::broker::BrokerError;
use crate::topology::{Queue, EXCHANGE};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use std::collections::HashMap;

/// A confirm-mode channel for publishing.
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    /// Puts a channel into confirm mode.
    pub async fn new(channel: Channel) -> Result<Publisher, BrokerError> {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Publisher { channel })
    }

    /// Publishes a persistent message to a work queue and waits for the
    /// broker's confirm. `message_id` lets consumers and ops tell a
    /// redelivery from a new message; `kind` names the protobuf type.
    pub async fn publish(
        &self,
        queue: Queue,
        kind: &str,
        message_id: &str,
        payload: &[u8],
        trace: &HashMap<String, String>,
    ) -> Result<(), BrokerError> {
        self.send(queue, kind, message_id, payload, trace)
            .await?
            .confirmed()
            .await
    }

    /// Publishes as [`Publisher::publish`] does, without waiting for the
    /// confirm: a job that publishes a long series overlaps the broker's
    /// write of one message with its own work on the next, and awaits the
    /// confirm before it relies on the message (before its next one, and
    /// before it acknowledges what it consumed).
    pub async fn send(
        &self,
        queue: Queue,
        kind: &str,
        message_id: &str,
        payload: &[u8],
        trace: &HashMap<String, String>,
    ) -> Result<Pending, BrokerError> {
        let mut headers = FieldTable::default();
        headers.insert("bf-kind".into(), AMQPValue::LongString(kind.into()));
        for (key, value) in trace {
            // W3C trace context, so the consumer's span continues this trace.
            headers.insert(
                key.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/x-protobuf".into())
            .with_message_id(message_id.into())
            .with_headers(headers);
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let confirm = self
            .channel
            .basic_publish(EXCHANGE, queue.routing_key, options, payload, properties)
            .await?;
        Ok(Pending {
            confirm,
            routing_key: queue.routing_key,
        })
    }

    /// Messages waiting in a queue (ready, not yet delivered), for the
    /// queue-depth metric. The queue must exist (the topology declares it).
    pub async fn queue_depth(&self, queue: &str) -> Result<u32, BrokerError> {
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let q = self
            .channel
            .queue_declare(queue, options, FieldTable::default())
            .await?;
        Ok(q.message_count())
    }

    /// Whether the channel can still publish.
    pub fn is_open(&self) -> bool {
        self.channel.status().connected()
    }
}

/// A message sent but not yet confirmed by the broker; see
/// [`Publisher::send`]. Dropping it forgets the confirm, so the message's
/// fate is unknown: await [`Pending::confirmed`].
#[must_use = "a message is safe only once confirmed"]
pub struct Pending {
    confirm: lapin::publisher_confirm::PublisherConfirm,
    routing_key: &'static str,
}

impl Pending {
    /// Waits for the broker's confirm: the message is then the broker's
    /// responsibility, or this says why not.
    pub async fn confirmed(self) -> Result<(), BrokerError> {
        match self.confirm.await? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(BrokerError::Unroutable(self.routing_key.into())),
            Confirmation::Nack(_) => Err(BrokerError::Nacked),
            Confirmation::NotRequested => Ok(()),
        }
    }
}
