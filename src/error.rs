//! One error type for the application. Every variant maps to an HTTP status
//! and to a message a person can act on; `web` renders it as a page.

use actix_web::http::StatusCode;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    /// Data the application wrote itself no longer reads back.
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    /// Not signed in (or the session has ended).
    #[error("sign in first")]
    Unauthorised,
    /// Signed in, but the role does not allow it; also a missing or wrong
    /// CSRF token.
    #[error("not allowed")]
    Forbidden,
    #[error("too many attempts; wait a few minutes")]
    TooMany,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorised => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            AppError::Connection(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The blocking pool is gone or the task panicked: the service is unwell.
impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Connection(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Connection(e.to_string())
    }
}
