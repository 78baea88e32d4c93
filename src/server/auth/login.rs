//! Checking an email and password, the same way for the browser and for apps.

use super::password;
use crate::{
    error::AppError,
    server::{
        db::users::{self, UserRow},
        state::AppState,
    },
};

/// Verifies credentials. Unknown emails and wrong passwords take the same time and give the
/// same error; an inactive account is only revealed after a correct password.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
) -> Result<UserRow, AppError> {
    let email = email.trim();
    if email.is_empty() || password.is_empty() || email.len() > 320 || password.len() > 1024 {
        return Err(AppError::InvalidCredentials);
    }
    let Some(user) = users::find_by_email(&state.db, email).await? else {
        password::verify_dummy(password, state.settings.auth.bcrypt_cost).await;
        return Err(AppError::InvalidCredentials);
    };
    if !password::verify(password, &user.password_hash).await {
        return Err(AppError::InvalidCredentials);
    }
    if !user.active {
        return Err(AppError::AccountDisabled);
    }
    users::touch_login(&state.db, &user.id).await?;
    Ok(user)
}
