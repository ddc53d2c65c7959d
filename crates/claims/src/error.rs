//! The claims service's one error type, mapped once to a gRPC status.

/// Why a claims request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    /// The request itself is wrong; retrying it will not help.
    #[error("{0}")]
    InvalidArgument(String),
    /// The database failed; the caller may retry (every write is idempotent).
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl From<ClaimsError> for tonic::Status {
    fn from(e: ClaimsError) -> Self {
        match e {
            ClaimsError::InvalidArgument(m) => tonic::Status::invalid_argument(m),
            ClaimsError::Database(db) => {
                // sqlx messages may quote key values; log only the class.
                let code = db
                    .as_database_error()
                    .and_then(|d| d.code().map(|c| c.to_string()))
                    .unwrap_or_default();
                tracing::error!(sqlstate = %code, kind = db_kind(&db), "database error");
                tonic::Status::unavailable("the claims database is unavailable; retry")
            }
        }
    }
}

fn db_kind(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Database(_) => "database",
        sqlx::Error::Io(_) => "io",
        sqlx::Error::PoolTimedOut => "pool_timed_out",
        sqlx::Error::PoolClosed => "pool_closed",
        _ => "other",
    }
}
