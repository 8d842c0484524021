//! One error type for every handler. The API renders it as JSON `{"error": "..."}` with a 4xx
//! status; pages render the same message as HTML (see `routes::pages`). Internal errors are
//! logged with their cause and answered with a generic message, so no path, SQL or panic text
//! ever reaches a client.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// One sentence saying what was wrong with the request.
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed request: a non-numeric `n`, an id with forbidden characters, broken JSON.
    #[error("{0}")]
    BadRequest(String),
    /// Unknown user, book or route.
    #[error("{0}")]
    NotFound(String),
    /// Well-formed but invalid: a rating outside the model's scale, `n` out of range.
    #[error("{0}")]
    Unprocessable(String),
    /// No identity where one is needed (`accounts` mode): sign in or send a bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// An identity that may not do this: another reader's data, an admin route without an
    /// admin token or from a non-loopback address, a cross-origin form post.
    #[error("{0}")]
    Forbidden(String),
    /// The request body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many writes from this client; retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The ratings database is held by another connection or process; retry shortly.
    #[error("the ratings database is busy; retry in a moment")]
    Busy,
    /// Not ready to serve (e.g. the database cannot be reached).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged, never shown.
    #[error("internal server error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see (internal causes are replaced, and logged here).
    pub fn public_message(&self) -> String {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        self.to_string()
    }

    /// Headers that go with the status: `Retry-After` on 429 and 503 (busy database), and
    /// `WWW-Authenticate` on 401 (RFC 9110 requires it).
    pub fn headers(&self) -> Vec<(axum::http::HeaderName, String)> {
        use axum::http::header;
        match self {
            AppError::TooManyRequests { retry_after, .. } => {
                vec![(header::RETRY_AFTER, retry_after.max(&1).to_string())]
            }
            AppError::Busy => vec![(header::RETRY_AFTER, BUSY_RETRY_AFTER_SECS.to_string())],
            AppError::Unauthorized(_) => vec![(
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"bookrec\"".to_string(),
            )],
            _ => Vec::new(),
        }
    }

    /// Adds [`AppError::headers`] to a response rendered for this error (pages use it too).
    pub fn decorate(&self, mut response: Response) -> Response {
        for (name, value) in self.headers() {
            if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// Seconds a client is asked to wait when the database is busy (the writer that holds it is
/// usually done within the busy timeout of 5 s).
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = self.public_message();
        let response = (status, Json(ErrorBody { error })).into_response();
        self.decorate(response)
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        // axum's own text names the problem ("missing field `rating`", "expected value at line 1
        // column 5") without internals; keep its 400 vs 422 distinction, and map 415 (missing
        // content type) to 400 with an actionable message.
        let text = rejection.body_text();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(too_large_message())
        } else if status == StatusCode::UNPROCESSABLE_ENTITY {
            AppError::Unprocessable(text)
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            AppError::BadRequest(
                "expected a JSON body with `Content-Type: application/json`".to_string(),
            )
        } else {
            AppError::BadRequest(text)
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(anyhow::anyhow!("background task failed: {e}"))
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_busy() {
            tracing::warn!(error = %e, "database busy: answered 503");
            AppError::Busy
        } else {
            AppError::Internal(anyhow::Error::new(e))
        }
    }
}

/// The largest request body the server reads (axum's default body limit, kept explicit).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The message of a 413.
pub fn too_large_message() -> String {
    format!(
        "the request body is too large (at most {} MB)",
        MAX_BODY_BYTES / (1024 * 1024)
    )
}

pub type AppResult<T> = Result<T, AppError>;
