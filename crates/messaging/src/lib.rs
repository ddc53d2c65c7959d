//! RabbitMQ the way every service uses it: one topology, publishing with
//! confirms, consuming with manual acks, bounded retries, dead letters.
//!
//! At-least-once is the contract: a message may arrive twice, so every
//! handler must be idempotent by a key its message carries.

pub mod broker;
pub mod consumer;
pub mod fair;
pub mod publisher;
pub mod supervisor;
pub mod topology;

pub use broker::{Broker, BrokerError};
pub use consumer::{consume, consume_fair, Death, Disposition, Fairness, Message};
pub use publisher::{Pending, Publisher};
pub use supervisor::supervise;
