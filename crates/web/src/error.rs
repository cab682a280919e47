//! The one place where errors become HTTP responses: a status, the stable code,
//! and a message safe to show (never internals, never a secret).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mimamori_base::ErrorCode;
use mimamori_catalog::CatalogError;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::BadInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::NotFound, message)
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::BadInput | ErrorCode::Policy => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::CameraAuth | ErrorCode::CameraUnreachable | ErrorCode::CameraStream => {
                StatusCode::BAD_GATEWAY
            }
            ErrorCode::CatalogIo | ErrorCode::StorageIo | ErrorCode::Inconsistent => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<CatalogError> for AppError {
    fn from(e: CatalogError) -> Self {
        match &e {
            CatalogError::NotFound(what) => AppError::not_found(format!("{what} not found")),
            CatalogError::Conflict(what) => {
                AppError::new(ErrorCode::Conflict, format!("{what} already exists"))
            }
            _ => {
                tracing::error!("{e}");
                AppError::new(e.code(), "the catalog database failed; see the server log")
            }
        }
    }
}

impl From<mimamori_storage::StorageError> for AppError {
    fn from(e: mimamori_storage::StorageError) -> Self {
        tracing::error!("{e}");
        AppError::new(
            ErrorCode::StorageIo,
            "reading stored video failed; see the server log",
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "error": { "code": self.code.as_str(), "message": self.message } });
        (self.status(), Json(body)).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
