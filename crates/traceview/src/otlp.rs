//! The OTLP/gRPC TraceService receiver: flattens exported spans into the
//! store.

use crate::model::{Span, SpanEvent};
use crate::SharedStore;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

/// Largest accepted export request (tonic's default is 4 MiB).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The receiver service, writing into `store`.
pub fn service(store: SharedStore) -> TraceServiceServer<Receiver> {
    TraceServiceServer::new(Receiver { store }).max_decoding_message_size(MAX_MESSAGE_BYTES)
}

/// Implements `opentelemetry.proto.collector.trace.v1.TraceService`.
pub struct Receiver {
    store: SharedStore,
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::BytesValue(b)) => hex(b),
        Some(Value::ArrayValue(a)) => {
            let items: Vec<String> = a.values.iter().map(|v| text(&Some(v.clone()))).collect();
            format!("[{}]", items.join(", "))
        }
        Some(Value::KvlistValue(kv)) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|kv| format!("{}={}", kv.key, text(&kv.value)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        None => String::new(),
    }
}

fn pairs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kind(k: i32) -> String {
    match SpanKind::try_from(k) {
        Ok(SpanKind::Unspecified) | Err(_) => String::new(),
        Ok(k) => k
            .as_str_name()
            .trim_start_matches("SPAN_KIND_")
            .to_ascii_lowercase(),
    }
}

/// Flattens an export request into spans. Spans without a trace id are
/// dropped; a span whose parent id is all zeroes counts as a root.
pub fn flatten(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for rs in request.resource_spans {
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .map(|kv| text(&kv.value))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown_service".to_string());
        for ss in rs.scope_spans {
            for span in ss.spans {
                if span.trace_id.iter().all(|&b| b == 0) {
                    continue;
                }
                let parent = if span.parent_span_id.iter().all(|&b| b == 0) {
                    String::new()
                } else {
                    hex(&span.parent_span_id)
                };
                let error = span
                    .status
                    .as_ref()
                    .filter(|s| s.code == StatusCode::Error as i32)
                    .map(|s| {
                        if s.message.is_empty() {
                            "error".to_string()
                        } else {
                            s.message.clone()
                        }
                    });
                out.push(Span {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: parent,
                    service: service.clone(),
                    kind: kind(span.kind),
                    name: span.name,
                    start_unix_nano: span.start_time_unix_nano,
                    end_unix_nano: span.end_time_unix_nano,
                    attributes: pairs(&span.attributes),
                    events: span
                        .events
                        .iter()
                        .map(|e| SpanEvent {
                            time_unix_nano: e.time_unix_nano,
                            name: e.name.clone(),
                            attributes: pairs(&e.attributes),
                        })
                        .collect(),
                    error,
                });
            }
        }
    }
    out
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = flatten(request.into_inner());
        self.store
            .lock()
            .map_err(|_| tonic::Status::internal("span store poisoned"))?
            .insert(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}
