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

/// The dead-letter queues, as queues a watcher consumes (names as
/// [`Queue::dead_letter_name`] gives them; the routing key is the one the
/// dead-letter exchange routes them by).
pub const DEAD_LETTERS: [Queue; 3] = [
    Queue {
        name: "imports.parse.dlq",
        routing_key: "imports.parse",
    },
    Queue {
        name: "imports.events.dlq",
        routing_key: "imports.events",
    },
    Queue {
        name: "imports.approve.dlq",
        routing_key: "imports.approve",
    },
];

/// How many times a message is delivered before it is dead-lettered.
pub const DELIVERY_LIMIT: i32 = 5;

impl Queue {
    /// The queue its dead letters land in.
    pub fn dead_letter_name(&self) -> String {
        format!("{}.dlq", self.name)
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
    fn every_work_queue_has_its_dead_letter_queue_in_dead_letters() {
        for (queue, dlq) in QUEUES.iter().zip(DEAD_LETTERS.iter()) {
            assert_eq!(queue.dead_letter_name(), dlq.name);
            assert_eq!(queue.name, dlq.routing_key);
        }
    }
}
