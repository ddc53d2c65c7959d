//! Planner statistics kept in step with bulk writes (migration 0006): a
//! directory or ledger that grew by a million rows since it was last
//! analysed made every batch of matching or Save scan the practice's rows.
//! PostgreSQL's own counts of changed rows reach other sessions up to
//! seconds late, so the service counts what it writes itself.

use super::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The tables whose statistics bulk writes make stale.
#[derive(Debug, Clone, Copy)]
pub enum Grown {
    /// After a directory load.
    Patients,
    /// After claims are created.
    Ledger,
}

/// Rows written since the statistics were last refreshed, and the row
/// estimate they gave, per [`Grown`].
#[derive(Default)]
pub struct Freshness {
    written: [AtomicU64; 2],
    estimated: [AtomicU64; 2],
    refreshing: AtomicBool,
}

impl Grown {
    fn index(self) -> usize {
        match self {
            Grown::Patients => 0,
            Grown::Ledger => 1,
        }
    }

    fn tables(self) -> &'static [&'static str] {
        match self {
            Grown::Patients => &["patients"],
            Grown::Ledger => &["claims", "claim_lines"],
        }
    }
}

/// Whether `written` rows on top of an estimate of `estimated` make the
/// statistics stale: a fifth more, as autovacuum would judge it, but now.
fn stale(written: u64, estimated: u64) -> bool {
    written > 1000 + estimated / 5
}

impl Store {
    /// Counts `rows` written to what `grown` names and, once that is a
    /// fifth more than the statistics knew of, refreshes them in the
    /// background, one refresh at a time: no request waits for an ANALYZE.
    /// A failed refresh only leaves the old statistics.
    pub fn wrote(&self, grown: Grown, rows: u64) {
        let freshness = &self.freshness;
        let i = grown.index();
        let written = freshness.written[i].fetch_add(rows, Ordering::AcqRel) + rows;
        if !stale(written, freshness.estimated[i].load(Ordering::Acquire))
            || freshness.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        freshness.written[i].store(0, Ordering::Release);
        let (pool, freshness) = (self.pool.clone(), Arc::clone(&self.freshness));
        tokio::spawn(async move {
            for table in grown.tables() {
                let done: Result<f32, sqlx::Error> =
                    sqlx::query_scalar("SELECT refresh_statistics($1::regclass)")
                        .bind(table)
                        .fetch_one(&pool)
                        .await;
                match done {
                    Ok(rows) => {
                        tracing::debug!(table, rows, "statistics refreshed");
                        if *table == grown.tables()[0] {
                            freshness.estimated[i].store(rows.max(0.0) as u64, Ordering::Release);
                        }
                    }
                    Err(e) => tracing::warn!(table, error = %e, "refreshing statistics failed"),
                }
            }
            freshness.refreshing.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::stale;

    #[test]
    fn statistics_go_stale_after_a_thousand_rows_or_a_fifth_more() {
        assert!(!stale(1000, 0));
        assert!(stale(1001, 0));
        assert!(!stale(200_000, 1_000_000));
        assert!(stale(201_001, 1_000_000));
    }
}
