//! The gateway's database adapter. Every query that reads or changes a
//! tenant's data takes the tenant and filters by it.

pub mod audit;
pub mod dead_letters;
pub mod imports;
pub mod ops;
pub mod outbox;
pub mod profiles;
pub mod retention;
pub mod rows;
pub mod tenants;

pub use imports::ImportRecord;
