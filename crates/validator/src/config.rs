//! The validator's settings, from `BF_*` variables.

use bf_runtime::config::{self, ConfigError};

/// Everything the validator reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub amqp_url: String,
    pub object_store: String,
    pub claims_url: String,
    /// Rows per RowBatch event and per MatchPatients call.
    pub batch_size: usize,
    /// Rows at most per chunk when a big file is split across validators:
    /// small enough that several processes share a file, big enough that a
    /// chunk's own costs (reading the header again, a message, a ranged
    /// read) stay negligible. A longer file gets at least `workers` chunks.
    pub chunk_rows: usize,
    /// Parse jobs handled at once by this process.
    pub workers: usize,
    /// Where `/metrics` is served.
    pub metrics_addr: std::net::SocketAddr,
}

impl Config {
    /// Reads the settings, with local defaults.
    pub fn load() -> Result<Config, ConfigError> {
        Ok(Config {
            amqp_url: config::string("AMQP_URL", config::LOCAL_AMQP_URL),
            object_store: config::string("OBJECT_STORE", &bf_runtime::objects::default_location()),
            claims_url: config::string("CLAIMS_URL", "http://127.0.0.1:50051"),
            batch_size: config::parse("ROW_BATCH_SIZE", 2000)?,
            chunk_rows: config::parse("PARSE_CHUNK_ROWS", 50_000)?,
            workers: config::parse("VALIDATOR_WORKERS", 3)?,
            metrics_addr: config::parse(
                "VALIDATOR_METRICS_ADDR",
                std::net::SocketAddr::from(([127, 0, 0, 1], 9101)),
            )?,
        })
    }
}
