//! W3C trace context across process boundaries: AMQP message headers,
//! gRPC metadata, and the outbox (where a message waits between the
//! request that wrote it and the relay that publishes it). A consumer's
//! span continues the publisher's, so one import is one trace.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::Context;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Trace context as text headers (`traceparent`, `tracestate`).
pub type Carrier = HashMap<String, String>;

/// The current span's context, ready to travel.
pub fn current() -> Carrier {
    inject(&tracing::Span::current().context())
}

/// A context as headers; empty when there is no trace.
pub fn inject(cx: &Context) -> Carrier {
    let mut carrier = Carrier::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, &mut carrier));
    carrier
}

/// The context carried by headers.
pub fn extract(carrier: &Carrier) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier))
}

/// Makes `span` continue the trace in `carrier` (nothing when it is empty).
pub fn continue_from(span: &tracing::Span, carrier: &Carrier) {
    if !carrier.is_empty() {
        span.set_parent(extract(carrier));
    }
}

/// Adds the current span's context to outgoing gRPC metadata.
pub fn inject_grpc(metadata: &mut tonic::metadata::MetadataMap) {
    struct Meta<'a>(&'a mut tonic::metadata::MetadataMap);
    impl Injector for Meta<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
                tonic::metadata::MetadataValue::try_from(value.as_str()),
            ) {
                self.0.insert(k, v);
            }
        }
    }
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Meta(metadata)));
}

/// The context carried by incoming gRPC metadata.
pub fn extract_grpc(metadata: &tonic::metadata::MetadataMap) -> Context {
    struct Meta<'a>(&'a tonic::metadata::MetadataMap);
    impl Extractor for Meta<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0
                .keys()
                .filter_map(|k| match k {
                    tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                    tonic::metadata::KeyRef::Binary(_) => None,
                })
                .collect()
        }
    }
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Meta(metadata)))
}

/// The span of one incoming gRPC call, continuing the caller's trace
/// (for tonic's `Server::trace_fn`). Names the method, nothing else.
pub fn grpc_server_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    let rpc = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    let span = tracing::info_span!("claims.rpc", rpc = %rpc);
    let metadata = tonic::metadata::MetadataMap::from_headers(request.headers().clone());
    span.set_parent(extract_grpc(&metadata));
    span
}
