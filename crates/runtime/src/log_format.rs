//! Structured log lines that lead to their trace: one JSON object per
//! event with its fields, its span, and the OpenTelemetry trace and span
//! ids when tracing is on.

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format.
pub struct JsonWithTrace;

struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("ts".into(), Value::from(unix_seconds()));
        line.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        line.extend(fields.0);
        if let Some(span) = ctx.lookup_current() {
            line.insert("span".into(), Value::from(span.name()));
            if let Some(otel) = span.extensions().get::<OtelData>() {
                let trace_id = otel
                    .builder
                    .trace_id
                    .unwrap_or_else(|| otel.parent_cx.span().span_context().trace_id());
                line.insert("trace_id".into(), Value::from(trace_id.to_string()));
                if let Some(span_id) = otel.builder.span_id {
                    line.insert("span_id".into(), Value::from(span_id.to_string()));
                }
            }
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Unix seconds with milliseconds: sortable, and no date crate needed.
fn unix_seconds() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}
