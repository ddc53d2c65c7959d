//! The gateway's metrics. Counters move with the work; the gauges that
//! describe the database (imports by state, outbox backlog, stalled
//! imports) are read fresh at each scrape.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bf_runtime::metrics::{counter, gauge, histogram};
use prometheus::{HistogramVec, IntCounterVec, IntGaugeVec};
use std::sync::OnceLock;
use std::time::Instant;

macro_rules! metric {
    ($name:ident, $ty:ty, $make:expr) => {
        /// See the metric's help text.
        pub fn $name() -> &'static $ty {
            static M: OnceLock<$ty> = OnceLock::new();
            M.get_or_init(|| $make)
        }
    };
}

metric!(
    rows_recorded,
    IntCounterVec,
    counter(
        "bf_rows_recorded_total",
        "Rows recorded by the gateway when an import reached review, by outcome",
        &["outcome"]
    )
);
metric!(
    claims_posted,
    IntCounterVec,
    counter(
        "bf_claims_total",
        "BF claim lines submitted at Save, by result (created, existing, refused)",
        &["result"]
    )
);
metric!(
    batch_seconds,
    HistogramVec,
    histogram(
        "bf_batch_seconds",
        "Time per batch, by stage (record, claims; finish: once per import, after its last batch)",
        &["stage"]
    )
);
metric!(
    http_seconds,
    HistogramVec,
    histogram(
        "bf_http_request_duration_seconds",
        "HTTP requests by route and status",
        &["route", "status"]
    )
);
metric!(
    imports_by_state,
    IntGaugeVec,
    gauge("bf_imports", "Imports by state", &["state"])
);
metric!(
    outbox_backlog,
    IntGaugeVec,
    gauge(
        "bf_outbox_backlog",
        "Outbox messages not yet published",
        &[]
    )
);
metric!(
    queue_depth,
    IntGaugeVec,
    gauge(
        "bf_queue_depth",
        "Messages waiting in each work queue and dead-letter queue",
        &["queue"]
    )
);
metric!(
    stalled,
    IntGaugeVec,
    gauge(
        "bf_imports_stalled",
        "Imports that have made no progress for longer than BF_STALL_AFTER_SECS",
        &[]
    )
);

/// Times every request by its route pattern (never the concrete path,
/// which may carry ids).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    http_seconds()
        .with_label_values(&[&route, response.status().as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `/metrics`: refreshes the database gauges, then renders everything.
pub async fn scrape(State(state): State<AppState>) -> Response {
    if let Ok(rows) = crate::store::ops::status_counts(&state.pool).await {
        for s in bf_domain::import::ImportStatus::ALL {
            let n = rows
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            imports_by_state().with_label_values(&[s.as_str()]).set(n);
        }
    }
    if let Ok(n) = crate::store::ops::outbox_backlog(&state.pool).await {
        outbox_backlog().with_label_values(&[] as &[&str]).set(n);
    }
    if let Ok(n) =
        crate::store::ops::stalled_count(&state.pool, state.config.stall_after_secs).await
    {
        stalled().with_label_values(&[] as &[&str]).set(n);
    }
    bf_runtime::metrics::handler().await.into_response()
}
