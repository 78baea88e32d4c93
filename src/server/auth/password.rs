//! bcrypt hashing, always off the async runtime so logins never stall streaming chats.

use tokio::sync::OnceCell;

use crate::error::AppError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks the password rule; the error says what is wrong.
pub fn check_rule(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::validation(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 72 {
        return Err(AppError::validation("password", "must be at most 72 bytes"));
    }
    Ok(())
}

pub async fn hash(password: &str, cost: u32) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "bcrypt hash failed");
            AppError::Internal
        })
}

pub async fn verify(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// Spends the same time as a real check, for emails that have no account.
pub async fn verify_dummy(password: &str, cost: u32) {
    static DUMMY: OnceCell<String> = OnceCell::const_new();
    let dummy = DUMMY
        .get_or_init(|| async move { hash("not-a-real-password", cost).await.unwrap_or_default() })
        .await;
    let _ = verify(password, dummy).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery", 4).await.unwrap();
        assert!(verify("correct horse battery", &h).await);
        assert!(!verify("wrong horse battery", &h).await);
        assert!(!verify("x", "not a hash").await);
    }

    #[test]
    fn rule_rejects_short_passwords() {
        assert!(check_rule("short").is_err());
        assert!(check_rule("long enough pw").is_ok());
    }
}
