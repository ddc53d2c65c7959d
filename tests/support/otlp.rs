//! An OTLP trace receiver for tests: bf-traces' own receiver and store,
//! run in-process, so a test can point the real services at it and read
//! back every span they exported.

use bf_traceview::store::Store;
use bf_traceview::SharedStore;
use std::sync::{Arc, Mutex};

/// One exported span, flattened for assertions.
#[derive(Debug, Clone)]
pub struct CollectedSpan {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub start: u64,
    /// Attribute key/value pairs, values as text.
    pub attributes: Vec<(String, String)>,
    /// Event names and their attributes, as text.
    pub events: Vec<String>,
}

impl CollectedSpan {
    /// An attribute's value.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every string in the span, to search for data that must not be there.
    pub fn all_text(&self) -> String {
        let mut out = format!("{} {} ", self.service, self.name);
        for (k, v) in &self.attributes {
            out.push_str(&format!("{k}={v} "));
        }
        out.push_str(&self.events.join(" "));
        out
    }
}

/// A running receiver.
pub struct Collector {
    /// The OTLP/gRPC endpoint to give the services.
    pub endpoint: String,
    store: SharedStore,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    /// Starts a receiver on a free loopback port. The port is bound once
    /// and served from that socket: picking a free port, letting it go and
    /// binding it again let another test's service take it in between (the
    /// spans then went to that service, and this receiver never started).
    pub async fn start() -> anyhow::Result<Collector> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let store: SharedStore = Arc::new(Mutex::new(Store::new(1_000_000)));
        let service = bf_traceview::otlp::service(Arc::clone(&store));
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        });
        Ok(Collector {
            endpoint: format!("http://127.0.0.1:{port}"),
            store,
            task,
        })
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        let Ok(store) = self.store.lock() else {
            return vec![];
        };
        store
            .summaries(usize::MAX, None)
            .iter()
            .filter_map(|t| store.get(&t.trace_id))
            .flatten()
            .map(|s| CollectedSpan {
                service: s.service,
                name: s.name,
                trace_id: s.trace_id,
                start: s.start_unix_nano,
                attributes: s.attributes,
                events: s
                    .events
                    .iter()
                    .map(|e| format!("{} {:?}", e.name, e.attributes))
                    .collect(),
            })
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}
