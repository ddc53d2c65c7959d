//! The validator's metrics: rows judged by outcome, and time per batch.

use bf_domain::{Row, RowStatus};
use prometheus::{HistogramVec, IntCounterVec};
use std::sync::OnceLock;
use std::time::Duration;

fn rows() -> &'static IntCounterVec {
    static C: OnceLock<IntCounterVec> = OnceLock::new();
    C.get_or_init(|| {
        bf_runtime::metrics::counter(
            "bf_rows_validated_total",
            "Rows parsed, validated and matched by the validator, by outcome (before whole-file rules)",
            &["outcome"],
        )
    })
}

fn batches() -> &'static HistogramVec {
    static H: OnceLock<HistogramVec> = OnceLock::new();
    H.get_or_init(|| {
        bf_runtime::metrics::histogram("bf_batch_seconds", "Time per batch, by stage", &["stage"])
    })
}

/// Counts a published batch.
pub fn count_batch(batch: &[Row], took: Duration) {
    for status in RowStatus::ALL {
        let n = batch.iter().filter(|r| r.status == status).count() as u64;
        if n > 0 {
            rows().with_label_values(&[status.as_str()]).inc_by(n);
        }
    }
    batches()
        .with_label_values(&["validate"])
        .observe(took.as_secs_f64());
}

/// Times publishing one batch's row event (confirm included), so the
/// benchmark can tell the broker's share of a batch from matching's.
pub fn publish_time(took: Duration) {
    batches()
        .with_label_values(&["publish"])
        .observe(took.as_secs_f64());
}

fn pieces() -> &'static IntCounterVec {
    static C: OnceLock<IntCounterVec> = OnceLock::new();
    C.get_or_init(|| {
        bf_runtime::metrics::counter(
            "bf_parse_pieces_total",
            "Parse deliveries completed, by kind: plan (a big file split into chunk jobs), chunk, whole (a file read in one delivery)",
            &["kind"],
        )
    })
}

/// Counts a completed parse delivery and times it (`bf_batch_seconds`
/// with the kind as its stage), so a benchmark can tell how the work of a
/// split file was shared between validators and what planning cost.
pub fn count_piece(kind: &str, took: Duration) {
    pieces().with_label_values(&[kind]).inc();
    batches()
        .with_label_values(&[kind])
        .observe(took.as_secs_f64());
}
