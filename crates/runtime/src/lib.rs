//! What every service binary does the same way, so there is one way to do
//! each: read configuration, set up logging, open the database, shut down.

pub mod config;
pub mod db;
pub mod log_format;
pub mod memory;
pub mod metrics;
pub mod objects;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;
