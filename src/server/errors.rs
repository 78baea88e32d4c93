//! How `AppError` leaves the server: JSON `{"error": {"code", "message", ...}}` with its status.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`, `unknown_model`.
    pub code: String,
    /// For people (English).
    pub message: String,
    /// The offending field (`validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The installed models (`unknown_model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<Vec<String>>,
}

impl From<&AppError> for ErrorBody {
    fn from(err: &AppError) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: err.code().into(),
                message: err.to_string(),
                field: match err {
                    AppError::Validation { field, .. } => Some(field.clone()),
                    _ => None,
                },
                available: match err {
                    AppError::UnknownModel { available, .. } if !available.is_empty() => {
                        Some(available.clone())
                    }
                    _ => None,
                },
            },
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        super::db::internal(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(ErrorBody::from(&self))).into_response();
        if let AppError::TooManyRequests { retry_after_secs }
        | AppError::Busy { retry_after_secs } = self
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}
