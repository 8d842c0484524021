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
    /// Admin routes called from a non-loopback address.
    #[error("{0}")]
    Forbidden(String),
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
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
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
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = self.public_message();
        (status, Json(ErrorBody { error })).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        // axum's own text names the problem ("missing field `rating`", "expected value at line 1
        // column 5") without internals; keep its 400 vs 422 distinction, and map 415 (missing
        // content type) to 400 with an actionable message.
        let text = rejection.body_text();
        if status == StatusCode::UNPROCESSABLE_ENTITY {
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
        AppError::Internal(anyhow::Error::new(e))
    }
}

pub type AppResult<T> = Result<T, AppError>;
