//! Person-friendly messages for errors, answers that went wrong and audit entries, in the
//! current language.

use super::{t, ta};
use crate::error::AppError;

/// What to tell a person about an error the server returned.
pub fn error_message(err: &AppError) -> String {
    let e = &t().errors;
    match err {
        AppError::Unauthorized => t().session_expired.into(),
        AppError::InvalidCredentials => e.invalid_credentials.into(),
        AppError::AccountDisabled => e.account_disabled.into(),
        AppError::Forbidden => e.forbidden.into(),
        AppError::NotFound(_) => e.not_found.into(),
        AppError::Validation { field, .. } => match field.as_str() {
            "current_password" => e.wrong_current_password,
            "password" | "new_password" => e.password_rule,
            "title" => e.bad_title,
            "email" => e.bad_email,
            "system_prompt" => e.bad_system_prompt,
            "message" | "content" => e.bad_message,
            "model" => e.unknown_model,
            _ => e.check_input,
        }
        .into(),
        AppError::TooManyRequests { retry_after_secs } => e
            .too_many_attempts
            .replace("{n}", &retry_after_secs.to_string()),
        AppError::PayloadTooLarge => e.too_long.into(),
        AppError::Conflict(_) => e.conflict.into(),
        AppError::UnknownModel { .. } => e.unknown_model.into(),
        AppError::OllamaUnavailable(_) => t().ollama_down.into(),
        AppError::QuotaExceeded => e.quota.into(),
        AppError::Busy { retry_after_secs } => e.busy.replace("{n}", &retry_after_secs.to_string()),
        AppError::BadRequest(_)
        | AppError::MethodNotAllowed
        | AppError::Internal
        | AppError::Transport(_) => e.generic.into(),
    }
}

/// What to tell a person about an answer that failed, from the error code the server sent.
pub fn answer_error(code: &str) -> &'static str {
    let e = &t().errors;
    match code {
        "client_disconnected" | "server_shutdown" => e.answer_interrupted,
        "ollama_timeout" => e.model_timeout,
        "unknown_model" => e.unknown_model,
        "ollama_unavailable" | "ollama_unreachable" => t().ollama_down,
        "validation_failed" => e.bad_message,
        "payload_too_large" => e.too_long,
        "conflict" => e.conversation_closed,
        "not_found" => e.conversation_missing,
        "connection_lost" => e.connection_lost,
        "server_busy" => e.busy_now,
        _ => e.model_failed,
    }
}

/// How an audit action reads.
pub fn audit_action(action: &str) -> &'static str {
    let a = &ta().audit_actions;
    match action {
        "user.created" => a.user_created,
        "user.activated" => a.user_activated,
        "user.deactivated" => a.user_deactivated,
        "user.role_changed" => a.user_role_changed,
        "user.password_reset" => a.user_password_reset,
        "api_key.created" => a.api_key_created,
        "api_key.disabled" => a.api_key_disabled,
        "api_key.enabled" => a.api_key_enabled,
        "api_key.revoked" => a.api_key_revoked,
        _ => a.other,
    }
}
