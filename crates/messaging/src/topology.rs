//! Exchanges and queues. Each service declares all of it at start
//! (declaring is idempotent), so no deploy step can forget a queue.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

/// The exchange every import message is published to.
pub const EXCHANGE: &str = "bf.imports";
/// Where messages go after their last failed attempt.
pub const DEAD_LETTER_EXCHANGE: &str = "bf.imports.dlx";

/// A work queue, with its routing key on [`EXCHANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    pub name: &'static str,
    pub routing_key: &'static str,
}

/// Parse jobs for the validator.
pub const PARSE: Queue = Queue {
    name: "imports.parse",
    routing_key: "parse",
};
/// Row events for the gateway's recorder.
pub const EVENTS: Queue = Queue {
    name: "imports.events",
    routing_key: "events",
};
/// Approval jobs for the gateway's submitter.
pub const APPROVE: Queue = Queue {
    name: "imports.approve",
    routing_key: "approve",
};

/// Every work queue.
pub const QUEUES: [Queue; 3] = [PARSE, EVENTS, APPROVE];

/// How many times a message is delivered before it is dead-lettered.
pub const DELIVERY_LIMIT: i32 = 5;

impl Queue {
    /// The queue its dead letters land in.
    pub fn dead_letter_name(&self) -> String {
        format!("{}.dlq", self.name)
    }

    /// Its dead-letter queue as a queue to consume, so a watcher can use
    /// the same `consume` (and metrics) as every worker. The routing key is
    /// the work queue's name: that is what the dead-letter exchange routes by.
    pub fn dead_letters(&self) -> Queue {
        let name = match self.name {
            "imports.parse" => "imports.parse.dlq",
            "imports.events" => "imports.events.dlq",
            "imports.approve" => "imports.approve.dlq",
            // Every work queue is listed above; a new one must be added there.
            _ => "imports.unknown.dlq",
        };
        Queue {
            name,
            routing_key: self.name,
        }
    }

    /// The work queue a queue's name belongs to (a work queue's or its
    /// dead-letter queue's name).
    pub fn named(name: &str) -> Option<Queue> {
        QUEUES
            .into_iter()
            .find(|q| q.name == name || q.dead_letter_name() == name)
    }
}

/// Declares the exchanges, the quorum work queues and their dead-letter
/// queues.
pub async fn declare(channel: &Channel) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for exchange in [EXCHANGE, DEAD_LETTER_EXCHANGE] {
        channel
            .exchange_declare(
                exchange,
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
    }
    for queue in QUEUES {
        let dlq = queue.dead_letter_name();
        declare_queue(channel, &dlq, quorum_args(None)).await?;
        bind(channel, &dlq, DEAD_LETTER_EXCHANGE, queue.name).await?;
        declare_queue(channel, queue.name, quorum_args(Some(queue.name))).await?;
        bind(channel, queue.name, EXCHANGE, queue.routing_key).await?;
    }
    Ok(())
}

fn quorum_args(dead_letter_key: Option<&str>) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    if let Some(key) = dead_letter_key {
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(key.into()),
        );
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(DELIVERY_LIMIT),
        );
    }
    args
}

async fn declare_queue(
    channel: &Channel,
    name: &str,
    args: FieldTable,
) -> Result<(), lapin::Error> {
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel.queue_declare(name, options, args).await.map(|_| ())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    key: &str,
) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue,
            exchange,
            key,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_work_queue_has_its_own_dead_letter_queue() {
        for queue in QUEUES {
            assert_eq!(queue.dead_letters().name, queue.dead_letter_name());
            assert_eq!(Queue::named(&queue.dead_letter_name()), Some(queue));
            assert_eq!(Queue::named(queue.name), Some(queue));
        }
    }
}
