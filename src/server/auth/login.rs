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
    if let Err(refused) = state.throttle.check(email, ip).await {
        failed_login(ip, "throttled");
        return Err(refused);
    }
    let user = users::find_by_email(&state.db, email).await?;
    let verified = match &user {
        Some(user) => password::verify(password, &user.password_hash).await,
        None => {
            password::verify_dummy(password, state.settings.auth.bcrypt_cost).await;
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        let hold_back = state.throttle.failed(email, ip).await;
        failed_login(ip, "bad_credentials");
        tokio::time::sleep(hold_back).await;
        return Err(AppError::InvalidCredentials);
    };
    state.throttle.succeeded(email, ip).await;
    if !user.active {
        return Err(AppError::AccountDisabled);
    }
    users::touch_login(&state.db, &user.id).await?;
    tracing::info!(user_id = %user.id, %ip, "login succeeded");
    Ok(user)
}

/// The line Fail2Ban matches (`deploy/fail2ban/filter.d/energyapp-llm.conf`): the address is
/// inside the message so it reads the same in text and JSON logs. Keep it stable; it never
/// carries the email or the password.
fn failed_login(ip: IpAddr, reason: &str) {
    crate::server::metrics::global().login_failed();
    tracing::warn!("failed login ip={ip} reason={reason}");
}
