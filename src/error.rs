//! The one error type of the application, shared by server functions, REST routes and the UI.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Everything that can go wrong, as the client may learn it.
///
/// Internal details (SQL errors, I/O) are logged on the server and never sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is deactivated")]
    AccountDisabled,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    #[error("too many attempts: try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("model \"{model}\" is not installed; available: {}", available.join(", "))]
    UnknownModel {
        model: String,
        available: Vec<String>,
    },
    #[error("the language model is unavailable: {0}")]
    OllamaUnavailable(String),
    #[error("this API key's monthly token budget is used up")]
    QuotaExceeded,
    #[error("the server is busy: try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("internal server error")]
    Internal,
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::AccountDisabled => "account_disabled",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Validation { .. } => "validation_failed",
            AppError::Conflict(_) => "conflict",
            AppError::UnknownModel { .. } => "unknown_model",
            AppError::Busy { .. } => "server_busy",
            AppError::QuotaExceeded => "insufficient_quota",
            AppError::OllamaUnavailable(_) => "ollama_unavailable",
            AppError::Internal => "internal",
            AppError::Transport(_) => "transport",
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::InvalidCredentials => 401,
            AppError::AccountDisabled | AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::PayloadTooLarge => 413,
            AppError::MethodNotAllowed => 405,
            AppError::TooManyRequests { .. } | AppError::QuotaExceeded => 429,
            AppError::Validation { .. } | AppError::UnknownModel { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::OllamaUnavailable(_) | AppError::Busy { .. } => 503,
            AppError::Internal => 500,
            AppError::Transport(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
