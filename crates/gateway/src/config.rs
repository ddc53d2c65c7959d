//! The gateway's settings, from `BF_*` variables.

use bf_runtime::config::{self, ConfigError};
use std::net::SocketAddr;
use std::time::Duration;

/// Everything the gateway reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub max_connections: u32,
    pub http_addr: SocketAddr,
    pub amqp_url: String,
    pub object_store: String,
    pub claims_url: String,
    /// HS256 secret of local tokens; unused when `jwt_jwks` is set.
    pub jwt_secret: String,
    /// The identity provider's public keys: a JWKS file path or http(s)
    /// URL. Empty means local HS256 tokens.
    pub jwt_jwks: String,
    /// How long keys fetched from a JWKS URL are used before refetching.
    pub jwt_jwks_refresh: Duration,
    /// The `iss` every token must carry.
    pub jwt_issuer: String,
    /// The `aud` every token must carry.
    pub jwt_audience: String,
    /// A request body that sends nothing for this long is cut off, so a
    /// slow or stalled client cannot hold a connection and its work.
    pub body_idle_timeout: Duration,
    /// A request whose head (request line and headers) is not complete
    /// this long after it starts is dropped: slow-header clients.
    pub header_read_timeout: Duration,
    /// No request may take longer than this, however steadily its body
    /// trickles in: long enough for the largest upload on a slow link.
    pub request_timeout: Duration,
    /// Imports of one tenant that may be queued, parsing or approving at
    /// once; more is refused until one finishes.
    pub max_active_imports_per_tenant: i64,
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
            jwt_jwks: config::string("JWT_JWKS", ""),
            jwt_jwks_refresh: Duration::from_secs(config::parse("JWT_JWKS_REFRESH_SECS", 600)?),
            jwt_issuer: config::string("JWT_ISSUER", bf_auth::LOCAL_ISSUER),
            jwt_audience: config::string("JWT_AUDIENCE", bf_auth::LOCAL_AUDIENCE),
            body_idle_timeout: Duration::from_secs(config::parse("BODY_IDLE_TIMEOUT_SECS", 30)?),
            header_read_timeout: Duration::from_secs(config::parse(
                "HEADER_READ_TIMEOUT_SECS",
                10,
            )?),
            request_timeout: Duration::from_secs(config::parse("REQUEST_TIMEOUT_SECS", 900)?),
            max_active_imports_per_tenant: config::parse("MAX_ACTIVE_IMPORTS_PER_TENANT", 5)?,
            max_upload_bytes: config::parse("MAX_UPLOAD_BYTES", 1 << 30)?,
            claims_batch_size: config::parse("CLAIMS_BATCH_SIZE", 1000)?,
            dev_signin: config::parse("DEV_SIGNIN", true)?,
            stall_after_secs: config::parse("STALL_AFTER_SECS", 300)?,
            retention_secs: config::parse("RETENTION_SECS", 30 * 24 * 3600)?,
            retention_sweep_secs: config::parse("RETENTION_SWEEP_SECS", 3600)?,
        })
    }
}
