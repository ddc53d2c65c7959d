//! The claims database. Every query takes the tenant and filters by it.

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
}
