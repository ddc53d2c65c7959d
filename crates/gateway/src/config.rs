//! The gateway's settings, from `BF_*` variables.

use bf_runtime::config::{self, ConfigError};
use std::net::SocketAddr;

/// Everything the gateway reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub max_connections: u32,
    pub http_addr: SocketAddr,
    pub amqp_url: String,
    pub object_store: String,
    pub claims_url: String,
    pub jwt_secret: String,
    /// Largest accepted upload.
    pub max_upload_bytes: u64,
    /// Claims per CreateBalanceForwardClaims call.
    pub claims_batch_size: i64,
    /// Offer the local sign-in page that mints tokens (never in production).
    pub dev_signin: bool,
    /// A running import with no progress for this long is reported stalled.
    pub stall_after_secs: i64,
    /// How long a finished import keeps its staged rows and uploaded file
    /// (default 30 days).
    pub retention_secs: u64,
    /// How often the retention sweeper looks for imports past it.
    pub retention_sweep_secs: u64,
}

impl Config {
    /// Reads the settings, with local defaults.
    pub fn load() -> Result<Config, ConfigError> {
        Ok(Config {
            database_url: config::string(
                "GATEWAY_DATABASE_URL",
                &config::local_database_url("bf_gateway"),
            ),
            max_connections: config::parse("GATEWAY_DB_MAX_CONNECTIONS", 10)?,
            http_addr: config::parse("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            amqp_url: config::string("AMQP_URL", config::LOCAL_AMQP_URL),
            object_store: config::string("OBJECT_STORE", &bf_runtime::objects::default_location()),
            claims_url: config::string("CLAIMS_URL", "http://127.0.0.1:50051"),
            jwt_secret: config::string("JWT_SECRET", bf_auth::DEV_SECRET),
            max_upload_bytes: config::parse("MAX_UPLOAD_BYTES", 1 << 30)?,
            claims_batch_size: config::parse("CLAIMS_BATCH_SIZE", 500)?,
            dev_signin: config::parse("DEV_SIGNIN", true)?,
            stall_after_secs: config::parse("STALL_AFTER_SECS", 300)?,
            retention_secs: config::parse("RETENTION_SECS", 30 * 24 * 3600)?,
            retention_sweep_secs: config::parse("RETENTION_SWEEP_SECS", 3600)?,
        })
    }
}
