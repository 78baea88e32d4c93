//! What a person does with their own account.

use super::{password, sessions};
use crate::{
    error::AppError,
    server::{
        db::users::{self, UserRow},
        state::AppState,
    },
};

/// Changes the password (the current one is required), ends every session of the account and
/// starts a new one for the caller.
pub async fn change_password(
    state: &AppState,
    user_id: &str,
    current: &str,
    new: &str,
) -> Result<(UserRow, sessions::IssuedTokens), AppError> {
    let user = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !password::verify(current, &user.password_hash).await {
        return Err(AppError::validation(
            "current_password",
            "is not your current password",
        ));
    }
    password::check_rule(new)?;
    let hash = password::hash(new, state.settings.auth.bcrypt_cost).await?;
    users::set_password(&state.db, user_id, &hash).await?;
    users::end_sessions(&state.db, user_id).await?;
    let tokens = sessions::issue(state, &user, None).await?;
    Ok((user, tokens))
}
