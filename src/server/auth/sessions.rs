//! Sessions: an access token plus an opaque refresh token, rotated on every use.
//!
//! Refresh tokens are stored only as SHA-256 hashes. Each login starts a family; a refresh
//! marks its token used and issues the next one in the family. Presenting a used (or revoked)
//! token means it was stolen or replayed: the whole family is revoked.

use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{
    error::AppError,
    server::{
        db::{
            new_id, refresh_tokens,
            users::{self, UserRow},
        },
        state::AppState,
    },
};

/// How long after its first use a refresh token may be presented again without being taken
/// for a stolen one (concurrent refreshes from one browser).
pub const REUSE_GRACE: Duration = Duration::seconds(10);

/// What a login or refresh hands out.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: i64,
}

/// A new random refresh token (256 bits, hex).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a session (new family) or continues one (`family`).
pub async fn issue(
    state: &AppState,
    user: &UserRow,
    family: Option<&str>,
) -> Result<IssuedTokens, AppError> {
    let access_token = state.jwt.issue(&user.id, user.role)?;
    let refresh_token = random_token();
    let ttl_days = state.settings.auth.refresh_ttl_days;
    let expires_at = (Utc::now() + Duration::days(ttl_days))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let family = family.map(str::to_string).unwrap_or_else(new_id);
    refresh_tokens::insert(
        &state.db,
        &user.id,
        &family,
        &hash_token(&refresh_token),
        &expires_at,
    )
    .await?;
    Ok(IssuedTokens {
        access_token,
        refresh_token,
        expires_in: state.jwt.ttl_secs(),
        refresh_expires_in: ttl_days * 86_400,
    })
}

/// Exchanges a refresh token for a new pair. Reuse revokes the family; an inactive account
/// cannot refresh.
pub async fn refresh(state: &AppState, token: &str) -> Result<(UserRow, IssuedTokens), AppError> {
    if token.is_empty() || token.len() > 256 {
        return Err(AppError::Unauthorized);
    }
    let row = refresh_tokens::find_by_hash(&state.db, &hash_token(token))
        .await?
        .ok_or(AppError::Unauthorized)?;
    if row.revoked {
        return Err(AppError::Unauthorized);
    }
    let first_use = refresh_tokens::mark_used(&state.db, &row.id).await?;
    if !first_use {
        // Used before. Moments ago, it is the same browser racing itself (two tabs, two
        // calls): let it through. Later, it was stolen or replayed: end the whole session.
        let grace_start =
            (Utc::now() - REUSE_GRACE).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let racing = row
            .used_at
            .as_deref()
            .is_none_or(|used| used >= grace_start.as_str());
        if !racing {
            tracing::warn!(user = %row.user_id, family = %row.family_id, "refresh token reused: revoking its session");
            refresh_tokens::revoke_family(&state.db, &row.family_id).await?;
            return Err(AppError::Unauthorized);
        }
    }
    if row.expires_at < crate::server::db::now() {
        return Err(AppError::Unauthorized);
    }
    let user = users::find_by_id(&state.db, &row.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !user.active {
        refresh_tokens::revoke_family(&state.db, &row.family_id).await?;
        return Err(AppError::Unauthorized);
    }
    let tokens = issue(state, &user, Some(&row.family_id)).await?;
    Ok((user, tokens))
}

/// Ends the session a refresh token belongs to (logout). Unknown tokens are ignored.
pub async fn revoke(state: &AppState, token: &str) -> Result<(), AppError> {
    if let Some(row) = refresh_tokens::find_by_hash(&state.db, &hash_token(token)).await? {
        refresh_tokens::revoke_family(&state.db, &row.family_id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
