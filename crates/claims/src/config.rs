//! The claims service's settings, from `BF_*` variables.

use bf_runtime::config::{self, ConfigError};
use std::net::SocketAddr;

/// Everything the claims service reads from its environment.
pub struct Config {
    pub database_url: String,
    pub max_connections: u32,
    pub grpc_addr: SocketAddr,
    /// Where `/metrics` is served.
    pub metrics_addr: SocketAddr,
}

impl Config {
    /// Reads the settings, with local defaults.
    pub fn load() -> Result<Config, ConfigError> {
        Ok(Config {
            database_url: config::string(
                "CLAIMS_DATABASE_URL",
                &config::local_database_url("bf_claims"),
            ),
            max_connections: config::parse("CLAIMS_DB_MAX_CONNECTIONS", 10)?,
            grpc_addr: config::parse("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            metrics_addr: config::parse(
                "CLAIMS_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9102)),
            )?,
        })
    }
}
