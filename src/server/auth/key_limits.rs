//! The limits of an API key, checked before each generation it asks for: allowed models,
//! requests per minute, tokens per calendar month.

use super::api_keys::KeyGrant;
use crate::{
    error::AppError,
    server::{chat::settling::Subject, db::api_keys, state::AppState},
};

/// Lets a request made with `grant` generate with `model`, or says why not.
pub async fn admit(state: &AppState, grant: &KeyGrant, model: &str) -> Result<(), AppError> {
    if !grant.allows(model) {
        return Err(AppError::UnknownModel {
            model: model.to_string(),
            available: grant.allowed_models.clone().unwrap_or_default(),
        });
    }
    if let Some(per_minute) = grant.rate_limit_per_min {
        state
            .key_limits
            .check(&grant.id, per_minute)
            .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    }
    if let Some(budget) = grant.monthly_token_budget {
        // The key's answers that already ended count, even if their write is still landing.
        state.settling.settled(Subject::Key(&grant.id)).await;
        let used =
            api_keys::tokens_since(&state.db, &grant.id, &crate::server::admin::month_start())
                .await?;
        if used >= budget {
            return Err(AppError::QuotaExceeded);
        }
    }
    Ok(())
}
