//! Checking an email and password, the same way for the browser and for apps.

use std::net::IpAddr;

use super::password;
use crate::{
    error::AppError,
    server::{
        db::users::{self, UserRow},
        state::AppState,
    },
};

/// Verifies credentials. Unknown emails and wrong passwords take the same time and give the
/// same error; an inactive account is only revealed after a correct password. Repeated
/// failures per account and per client address are throttled.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> Result<UserRow, AppError> {
    let email = email.trim();
    if email.is_empty() || password.is_empty() || email.len() > 320 || password.len() > 1024 {
        return Err(AppError::InvalidCredentials);
    }
    state.throttle.check(email, ip)?;
    let user = users::find_by_email(&state.db, email).await?;
    let verified = match &user {
        Some(user) => password::verify(password, &user.password_hash).await,
        None => {
            password::verify_dummy(password, state.settings.auth.bcrypt_cost).await;
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        let hold_back = state.throttle.failed(email, ip);
        tracing::info!(%ip, "failed login");
        tokio::time::sleep(hold_back).await;
        return Err(AppError::InvalidCredentials);
    };
    state.throttle.succeeded(email, ip);
    if !user.active {
        return Err(AppError::AccountDisabled);
    }
    users::touch_login(&state.db, &user.id).await?;
    Ok(user)
}
