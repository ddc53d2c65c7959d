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
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(BrokerError::Unroutable(queue.routing_key.into())),
            Confirmation::Nack(_) => Err(BrokerError::Nacked),
            Confirmation::NotRequested => Ok(()),
        }
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
