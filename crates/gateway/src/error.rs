//! The gateway's one error type, mapped once to an HTTP status and a JSON
//! body in words a billing lead understands.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("this action needs the role {0}")]
    Forbidden(&'static str),
    #[error("this change must come from the product's own pages (missing X-Requested-By)")]
    CrossSite,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}; upload the CSV or .xlsx export of patient balances")]
    NotTabular(String),
    #[error("the upload stopped sending data and was cut off; please try again")]
    BodyTimeout,
    #[error("the request took too long and was cut off; check the connection and try again")]
    RequestTimeout,
    #[error(
        "this practice already has {limit} imports in progress; try again when one has finished"
    )]
    TooManyActive { limit: i64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("something went wrong on our side; nothing was changed")]
    Internal(String),
}

/// The JSON error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine code and a plain-language message.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CrossSite => (StatusCode::FORBIDDEN, "cross_site"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NotTabular(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_tabular"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::TooManyActive { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_active"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            // The detail is an error class, never request content.
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyActive { .. } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_ACTIVE_AFTER_SECS),
            );
        }
        response
    }
}

/// When a tenant at its limit of active imports should try again: about
/// how long a typical import takes to parse.
const RETRY_ACTIVE_AFTER_SECS: &str = "30";

impl From<bf_auth::TokenError> for ApiError {
    fn from(e: bf_auth::TokenError) -> Self {
        if let bf_auth::TokenError::KeySet(_) = e {
            tracing::warn!(reason = %e, "tokens cannot be verified");
            return ApiError::Unavailable(
                "sign-in cannot be checked right now; try again in a moment".into(),
            );
        }
        // The reason (never the token) is for the operator; the caller
        // learns only that the token was refused.
        tracing::info!(reason = %e, "token refused");
        ApiError::Unauthorized("the sign-in token is invalid or expired".into())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx messages may quote values; keep only the class.
        let class = match &e {
            sqlx::Error::Database(d) => format!("database error {}", d.code().unwrap_or_default()),
            sqlx::Error::PoolTimedOut => "database pool timed out".into(),
            sqlx::Error::Io(_) => "database io error".into(),
            _ => "database error".into(),
        };
        ApiError::Internal(class)
    }
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> Self {
        match s.code() {
            tonic::Code::InvalidArgument => ApiError::BadRequest(s.message().to_string()),
            tonic::Code::NotFound => ApiError::NotFound,
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
                ApiError::Unavailable(
                    "the claims service is not answering; try again in a moment".into(),
                )
            }
            code => ApiError::Internal(format!("claims service error {code:?}")),
        }
    }
}

impl From<object_store::Error> for ApiError {
    fn from(_: object_store::Error) -> Self {
        ApiError::Unavailable("the file could not be stored; try the upload again".into())
    }
}
