//! The claims database. Every query takes the tenant and filters by it,
//! inside a transaction scoped to that tenant by row-level security.

mod claims;
mod patients;
mod statistics;

pub use claims::{NewBalanceForward, PriorRecord};
pub use patients::{DirectoryPatient, NewPatient};
pub use statistics::Grown;

use sqlx::PgPool;
use std::sync::Arc;

/// The claims service's handle on its database.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
    /// What was written since statistics were refreshed (statistics.rs).
    freshness: Arc<statistics::Freshness>,
}

impl Store {
    /// Wraps a migrated pool.
    pub fn new(pool: PgPool) -> Store {
        Store {
            pool,
            freshness: Arc::default(),
        }
    }

    /// A transaction that sees only `tenant`'s rows: the second lock,
    /// behind the `WHERE tenant_id` of every query.
    async fn scoped(&self, tenant: &str) -> Result<bf_runtime::db::ScopedTx, sqlx::Error> {
        bf_runtime::db::tenant_tx(&self.pool, tenant).await
    }
}
