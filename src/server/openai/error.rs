//! Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`, with OpenAI's
//! statuses, so the SDKs raise their usual exceptions.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::error::AppError;

#[derive(Debug)]
pub struct OpenAiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
    param: Option<&'static str>,
    retry_after: Option<u64>,
}

impl OpenAiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        OpenAiError {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    pub fn bad_request(param: &'static str, message: impl Into<String>) -> Self {
        OpenAiError {
            param: Some(param),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                message,
            )
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            message,
        )
    }

    pub fn model_not_found(model: &str) -> Self {
        OpenAiError {
            param: Some("model"),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
                format!("The model `{model}` does not exist or you do not have access to it."),
            )
        }
    }
}

impl From<AppError> for OpenAiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthorized | AppError::InvalidCredentials | AppError::AccountDisabled => {
                Self::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    "Incorrect, revoked or expired API key.",
                )
            }
            AppError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "invalid_request_error",
                None,
                err.to_string(),
            ),
            AppError::UnknownModel { model, .. } => Self::model_not_found(&model),
            AppError::TooManyRequests { retry_after_secs } => OpenAiError {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "requests",
                    Some("rate_limit_exceeded"),
                    format!("Rate limit reached for this API key: retry in {retry_after_secs} s."),
                )
            },
            AppError::QuotaExceeded => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                Some("insufficient_quota"),
                "This API key's monthly token budget is used up.",
            ),
            AppError::Busy { retry_after_secs } => OpenAiError {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_error",
                    Some("server_busy"),
                    err.to_string(),
                )
            },
            AppError::OllamaUnavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                Some("backend_unavailable"),
                "The model backend is unavailable.",
            ),
            AppError::Validation { ref field, .. } if field == "body" => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                err.to_string(),
            ),
            AppError::Validation { .. } | AppError::BadRequest(_) | AppError::Transport(_) => {
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    err.to_string(),
                )
            }
            AppError::PayloadTooLarge => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                None,
                err.to_string(),
            ),
            AppError::NotFound(_) => Self::not_found(err.to_string()),
            AppError::MethodNotAllowed => Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                None,
                err.to_string(),
            ),
            AppError::Conflict(_) => Self::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                None,
                err.to_string(),
            ),
            AppError::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                "Internal error.",
            ),
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
