//! The gateway's database adapter. Every query that reads or changes a
//! tenant's data takes the tenant and filters by it.

pub mod audit;
pub mod block;
pub mod dead_letters;
pub mod imports;
pub mod legacy_rows;
pub mod ops;
pub mod outbox;
pub mod patient_keys;
pub mod profiles;
pub mod received;
pub mod retention;
pub mod row_spans;
pub mod rows;
pub mod tenants;

pub use imports::ImportRecord;

/// What kind of database error this was (the SQLSTATE, or the error's
/// kind), for a retry's log line: never the message, which can quote row
/// values.
pub fn error_class(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.code().unwrap_or_default().to_string(),
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}
