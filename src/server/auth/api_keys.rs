//! API keys (`ea_...`): how a secret is made, and how a presented one is checked. A key acts
//! as its owner's account, with its own limits (models, requests per minute, monthly tokens).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::Rng;

use super::sessions::hash_token;
use crate::{
    error::AppError,
    server::{
        db::api_keys::{self, KeyRow},
        state::AppState,
    },
};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "ea_";
/// Characters of a key shown in listings (`ea_` + 8).
const SHOWN: usize = 11;

/// A new secret (`ea_` + 43 characters, 256 bits of entropy), the part shown in listings,
/// and the hash that is stored.
pub fn new_secret() -> (String, String, String) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let body: String = (0..43)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    let secret = format!("{KEY_PREFIX}{body}");
    let shown = secret[..SHOWN].to_string();
    let hash = hash_token(&secret);
    (secret, shown, hash)
}

/// What a request authenticated by a key may do.
#[derive(Clone, Debug)]
pub struct KeyGrant {
    pub id: String,
    pub name: String,
    pub allowed_models: Option<Vec<String>>,
    pub rate_limit_per_min: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    pub store_conversations: bool,
}

impl KeyGrant {
    pub fn allows(&self, model: &str) -> bool {
        self.allowed_models
            .as_ref()
            .is_none_or(|m| m.iter().any(|a| a == model))
    }
}

/// Checks a presented key: known, not revoked, not disabled, not expired. Its owner is
/// checked by the caller (the same way as for tokens).
pub async fn verify(state: &AppState, secret: &str) -> Result<KeyRow, AppError> {
    let key = api_keys::find_by_hash(&state.db, &hash_token(secret))
        .await?
        .ok_or(AppError::Unauthorized)?;
    let expired = key
        .expires_at
        .as_deref()
        .is_some_and(|at| at <= crate::server::db::now().as_str());
    if key.revoked_at.is_some() || key.disabled || expired {
        return Err(AppError::Unauthorized);
    }
    let db = state.db.clone();
    let id = key.id.clone();
    tokio::spawn(async move {
        let _ = api_keys::touch_used(&db, &id).await;
    });
    Ok(key)
}

impl From<KeyRow> for KeyGrant {
    fn from(k: KeyRow) -> Self {
        KeyGrant {
            id: k.id,
            name: k.name,
            allowed_models: k.allowed_models,
            rate_limit_per_min: k.rate_limit_per_min,
            monthly_token_budget: k.monthly_token_budget,
            store_conversations: k.store_conversations,
        }
    }
}

/// Requests per key in the last minute (in memory: a restart forgets them).
#[derive(Clone, Default)]
pub struct KeyRateLimiter {
    recent: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl KeyRateLimiter {
    /// Counts a request; refuses it (with the seconds to wait) past the limit.
    pub fn check(&self, key_id: &str, per_minute: i64) -> Result<(), u64> {
        let window = Duration::from_secs(60);
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let times = recent.entry(key_id.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() as i64 >= per_minute.max(0) {
            let wait = times
                .front()
                .map(|t| window.saturating_sub(now.duration_since(*t)))
                .unwrap_or(window);
            return Err(wait.as_secs().max(1));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_only_their_hash_is_kept() {
        let (a, shown, hash) = new_secret();
        let (b, _, _) = new_secret();
        assert_ne!(a, b);
        assert!(a.starts_with("ea_") && a.len() == 46);
        assert!(a.starts_with(&shown) && shown.len() == 11);
        assert_eq!(hash, hash_token(&a));
        assert!(!hash.contains(&a[3..]));
    }

    #[test]
    fn the_rate_limit_counts_a_minute_per_key() {
        let limiter = KeyRateLimiter::default();
        assert!(limiter.check("k", 2).is_ok());
        assert!(limiter.check("k", 2).is_ok());
        let wait = limiter.check("k", 2).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("other", 2).is_ok(), "keys are independent");
    }

    #[test]
    fn grants_limit_models_only_when_a_list_is_set() {
        let mut grant = KeyGrant {
            id: "k".into(),
            name: "n".into(),
            allowed_models: None,
            rate_limit_per_min: None,
            monthly_token_budget: None,
            store_conversations: false,
        };
        assert!(grant.allows("anything"));
        grant.allowed_models = Some(vec!["llama3.2:1b".into()]);
        assert!(grant.allows("llama3.2:1b"));
        assert!(!grant.allows("qwen2.5:3b-instruct"));
    }
}
