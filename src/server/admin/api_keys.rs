//! API keys: created for an application or a person, listed with their usage, disabled,
//! enabled, revoked. Every action is audited.

use serde_json::json;

use super::{Actor, Target};
use crate::{
    admin_model::{ApiKeyView, CreatedApiKey, NewApiKey},
    error::AppError,
    server::{
        admin::month_start,
        auth::api_keys::new_secret,
        db::{
            api_keys::{self, NewKey},
            users,
        },
        state::AppState,
    },
};

pub async fn list(state: &AppState) -> Result<Vec<ApiKeyView>, AppError> {
    // Every answer announced as ended is counted.
    state.settling.all_settled().await;
    api_keys::list(&state.db, &month_start(), None).await
}

async fn one(state: &AppState, id: &str) -> Result<ApiKeyView, AppError> {
    state
        .settling
        .settled(crate::server::chat::settling::Subject::Key(id))
        .await;
    api_keys::list(&state.db, &month_start(), Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::NotFound("api key".into()))
}

/// `YYYY-MM-DD` means the end of that day (UTC); otherwise an RFC 3339 instant.
fn expiry(text: &str) -> Result<String, AppError> {
    let bad = || AppError::validation("expires_at", "must be a future date or RFC 3339 instant");
    let at = if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        day.and_hms_opt(23, 59, 59).ok_or_else(bad)?.and_utc()
    } else {
        chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| bad())?
            .with_timezone(&chrono::Utc)
    };
    if at <= chrono::Utc::now() {
        return Err(bad());
    }
    Ok(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    new: &NewApiKey,
) -> Result<CreatedApiKey, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    let owner = match users::find_by_id(&state.db, &new.owner).await? {
        Some(u) => u,
        None => users::find_by_email(&state.db, &new.owner)
            .await?
            .ok_or_else(|| AppError::validation("owner", "no such user"))?,
    };
    if let Some(models) = &new.allowed_models {
        if models.is_empty() {
            return Err(AppError::validation(
                "allowed_models",
                "leave it out to allow every model",
            ));
        }
        let installed: Vec<String> = state
            .models
            .installed()
            .await?
            .into_iter()
            .map(|m| m.name)
            .collect();
        if let Some(unknown) = models.iter().find(|m| !installed.contains(m)) {
            return Err(AppError::UnknownModel {
                model: unknown.clone(),
                available: installed,
            });
        }
    }
    if new.rate_limit_per_min.is_some_and(|n| n < 1) {
        return Err(AppError::validation(
            "rate_limit_per_min",
            "must be at least 1",
        ));
    }
    if new.monthly_token_budget.is_some_and(|n| n < 1) {
        return Err(AppError::validation(
            "monthly_token_budget",
            "must be at least 1",
        ));
    }
    let expires_at = new.expires_at.as_deref().map(expiry).transpose()?;
    let (secret, prefix, hash) = new_secret();
    let id = api_keys::create(
        &state.db,
        NewKey {
            name,
            owner_id: &owner.id,
            prefix: &prefix,
            key_hash: &hash,
            allowed_models: new.allowed_models.as_deref(),
            rate_limit_per_min: new.rate_limit_per_min,
            monthly_token_budget: new.monthly_token_budget,
            store_conversations: new.store_conversations,
            expires_at: expires_at.as_deref(),
            created_by: &actor.user.id,
        },
    )
    .await?;
    let key = one(state, &id).await?;
    record(
        state,
        actor,
        "api_key.created",
        &key,
        None,
        Some(describe(&key)),
    )
    .await?;
    Ok(CreatedApiKey { key, secret })
}

fn describe(key: &ApiKeyView) -> serde_json::Value {
    json!({
        "owner": key.owner_email,
        "allowed_models": key.allowed_models,
        "rate_limit_per_min": key.rate_limit_per_min,
        "monthly_token_budget": key.monthly_token_budget,
        "store_conversations": key.store_conversations,
        "expires_at": key.expires_at,
        "disabled": key.disabled,
    })
}

async fn record(
    state: &AppState,
    actor: &Actor,
    action: &str,
    key: &ApiKeyView,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let label = format!("{} ({})", key.name, key.prefix);
    let target = Target {
        kind: "api_key",
        id: &key.id,
        label: &label,
    };
    actor.audit(state, action, target, before, after).await
}

/// Disables or enables a key (a revoked key stays revoked).
pub async fn set_disabled(
    state: &AppState,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> Result<ApiKeyView, AppError> {
    let before = one(state, id).await?;
    if before.revoked_at.is_some() {
        return Err(AppError::Conflict("this key is revoked".into()));
    }
    api_keys::set_disabled(&state.db, id, disabled).await?;
    let after = one(state, id).await?;
    if before.disabled != after.disabled {
        let action = if disabled {
            "api_key.disabled"
        } else {
            "api_key.enabled"
        };
        record(
            state,
            actor,
            action,
            &after,
            Some(json!({ "disabled": before.disabled })),
            Some(json!({ "disabled": after.disabled })),
        )
        .await?;
    }
    Ok(after)
}

/// Revokes a key for good; the next request with it is refused.
pub async fn revoke(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let key = one(state, id).await?;
    if key.revoked_at.is_none() {
        api_keys::revoke(&state.db, id).await?;
        record(state, actor, "api_key.revoked", &key, None, None).await?;
    }
    Ok(())
}
