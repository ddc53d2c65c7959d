//! The one telemetry init. Logs go to stderr; `BF_LOG` filters them
//! (tracing's env-filter syntax, default `info`), `BF_LOG_FORMAT=json`
//! makes them structured. Traces go to an OTLP collector when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set, named by
//! `OTEL_SERVICE_NAME` and sampled by `OTEL_TRACES_SAMPLER`; nothing is
//! exported when it is unset.
//!
//! Callers must keep patient data out of every field: log ids, counts and
//! line numbers only.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the trace exporter alive; dropping it flushes the spans not yet
/// sent, so keep it until `main` returns.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()))
}

fn tracer_provider(service: &'static str) -> Option<SdkTracerProvider> {
    if !otlp_configured() {
        return None;
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| eprintln!("OTLP exporter not started: {e}"))
        .ok()?;
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_string());
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(name)
        .build();
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    )
}

/// Installs logging and, when configured, trace export for a service.
/// Call once, inside the tokio runtime, and keep the returned value.
pub fn init(service: &'static str) -> Telemetry {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = || {
        EnvFilter::try_new(crate::config::string("LOG", "info"))
            .unwrap_or_else(|_| EnvFilter::new("info"))
    };
    let json = crate::config::string("LOG_FORMAT", "text") == "json";
    let fmt = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .event_format(crate::log_format::JsonWithTrace)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(std::io::stderr)
            .boxed()
    };
    let provider = tracer_provider(service);
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service))
            .with_filter(EnvFilter::new("info"))
    });
    let installed = tracing_subscriber::registry()
        .with(fmt.with_filter(filter()))
        .with(otel)
        .try_init()
        .is_ok();
    if installed {
        tracing::info!(
            service,
            version = env!("CARGO_PKG_VERSION"),
            traces = provider.is_some(),
            "starting"
        );
    }
    Telemetry { provider }
}
