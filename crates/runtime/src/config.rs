//! The one configuration loader: `BF_*` environment variables with defaults
//! that work on a developer's machine.

use std::str::FromStr;

/// A setting that is present but unusable. Names the variable, never its
/// value (it may be a secret).
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is invalid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub reason: String,
}

/// Reads `BF_<name>`, or `default` when unset or empty.
pub fn string(name: &str, default: &str) -> String {
    let key = format!("BF_{name}");
    match std::env::var(&key) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => default.to_string(),
    }
}

/// Reads and parses `BF_<name>`, or `default` when unset.
pub fn parse<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let key = format!("BF_{name}");
    match std::env::var(&key) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError {
            name: key,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// The local PostgreSQL URL for a database name, used as the default of
/// every service's database setting.
pub fn local_database_url(database: &str) -> String {
    format!("postgres://postgres:postgres@127.0.0.1:5432/{database}")
}

/// Default RabbitMQ URL: the local broker's default vhost.
pub const LOCAL_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
