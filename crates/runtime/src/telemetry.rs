//! The one telemetry init. Logs go to stderr; `BF_LOG` filters them
//! (tracing's env-filter syntax, default `info`), `BF_LOG_FORMAT=json`
//! makes them structured.
//!
//! Callers must keep patient data out of every field: log ids, counts and
//! line numbers only.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for a service. Safe to call once per process.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_new(crate::config::string("LOG", "info"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = crate::config::string("LOG_FORMAT", "text") == "json";
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if result.is_ok() {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
    }
}
