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

/// A judged batch's rows by status, taken before the rows are consumed
/// and counted ([`count_rows`]) only once the batch is published.
pub fn by_status(batch: &[Row]) -> [u64; RowStatus::ALL.len()] {
    RowStatus::ALL.map(|status| batch.iter().filter(|r| r.status == status).count() as u64)
}

/// Counts a published batch's rows, from [`by_status`].
pub fn count_rows(counts: [u64; RowStatus::ALL.len()]) {
    for (status, n) in RowStatus::ALL.into_iter().zip(counts) {
        if n > 0 {
            rows().with_label_values(&[status.as_str()]).inc_by(n);
        }
    }
}

/// Times judging, matching and publishing one batch.
pub fn batch_time(took: Duration) {
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
