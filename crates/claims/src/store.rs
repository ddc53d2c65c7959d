//! The claims database. Every query takes the tenant and filters by it,
//! inside a transaction scoped to that tenant by row-level security.

mod claims;
mod patients;

pub use claims::{NewBalanceForward, PriorRecord};
pub use patients::{DirectoryPatient, NewPatient};

use sqlx::PgPool;

/// The claims service's handle on its database.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Wraps a migrated pool.
    pub fn new(pool: PgPool) -> Store {
        Store { pool }
    }

    /// A transaction that sees only `tenant`'s rows: the second lock,
    /// behind the `WHERE tenant_id` of every query.
    async fn scoped(&self, tenant: &str) -> Result<bf_runtime::db::ScopedTx, sqlx::Error> {
        bf_runtime::db::tenant_tx(&self.pool, tenant).await
    }
}
