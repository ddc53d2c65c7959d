//! The retention sweeper: uploaded files and staged rows (the patient
//! data) are kept only as long as the practice needs them to review and
//! correct an import. Every gateway runs one; they share the work safely.

use crate::store::retention::{self, Due};
use object_store::ObjectStore;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Imports handled per pass.
const BATCH: i64 = 100;

/// What the sweeper needs.
pub struct Sweeper {
    pub pool: PgPool,
    pub objects: Arc<dyn ObjectStore>,
    /// How long a finished import keeps its rows and file.
    pub keep: Duration,
    /// How often to look.
    pub every: Duration,
}

impl Sweeper {
    /// Sweeps until shutdown. A failed pass is logged and tried again on
    /// the next tick: retention is never urgent to the second.
    pub async fn run(self, shutdown: CancellationToken) {
        let keep_secs = i64::try_from(self.keep.as_secs()).unwrap_or(i64::MAX);
        loop {
            match self.pass(keep_secs).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "retention: imports' rows and files deleted"),
                Err(e) => tracing::warn!(error = %e, "retention pass failed; will try again"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
            }
        }
    }

    async fn pass(&self, keep_secs: i64) -> Result<usize, sqlx::Error> {
        let mut purged = 0;
        loop {
            let due = retention::due(&self.pool, keep_secs, BATCH).await?;
            let found = due.len();
            for import in &due {
                if self.purge(import).await? {
                    purged += 1;
                }
            }
            if found < BATCH as usize {
                return Ok(purged);
            }
        }
    }

    /// The file first, then the rows: if the gateway stops in between, the
    /// import is still due and the next pass finishes it.
    async fn purge(&self, due: &Due) -> Result<bool, sqlx::Error> {
        let key = object_store::path::Path::from(due.object_key.as_str());
        match self.objects.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(import_id = %due.import_id, error = %e, "retention: file not deleted yet");
                return Ok(false);
            }
        }
        retention::purge_rows(&self.pool, due).await
    }
}
