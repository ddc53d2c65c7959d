//! Publishes an import's events, in order, with confirms.

use bf_messaging::topology::EVENTS;
use bf_messaging::{BrokerError, Pending, Publisher};
use bf_proto::imports::{import_event::Event, ImportEvent};
use prost::Message;

/// Publishes events for one import.
pub struct Events<'a> {
    pub publisher: &'a Publisher,
    pub tenant_id: &'a str,
    pub import_id: &'a str,
}

impl Events<'_> {
    /// Publishes one event and waits for the broker's confirm.
    pub async fn send(&self, event: Event, message_id: &str) -> Result<(), BrokerError> {
        self.begin(event, message_id).await?.confirmed().await
    }

    /// Publishes one event without waiting for the confirm, so the next
    /// batch is matched while the broker writes this one.
    pub async fn begin(&self, event: Event, message_id: &str) -> Result<Pending, BrokerError> {
        let message = ImportEvent {
            tenant_id: self.tenant_id.to_string(),
            import_id: self.import_id.to_string(),
            event: Some(event),
        };
        self.begin_encoded(&message.encode_to_vec(), message_id)
            .await
    }

    /// Publishes an `ImportEvent` already encoded (a batch written by
    /// [`crate::wire::batch_event`]) without waiting for the confirm.
    pub async fn begin_encoded(
        &self,
        payload: &[u8],
        message_id: &str,
    ) -> Result<Pending, BrokerError> {
        let id = format!("{}:{message_id}", self.import_id);
        // The recorder's span continues this one.
        let trace = bf_runtime::trace_context::current();
        self.publisher
            .send(EVENTS, "ImportEvent", &id, payload, &trace)
            .await
    }
}
