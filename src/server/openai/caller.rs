//! Who calls `/v1`: an API key (or a session token), through the one authentication path.

use axum::{extract::FromRequestParts, http::request::Parts};

use super::OpenAiError;
use crate::server::{auth::AuthUser, state::AppState};

pub struct Caller(pub AuthUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = OpenAiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Apps never use cookies here: only the Authorization header counts.
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Err(crate::error::AppError::Unauthorized.into());
        }
        Ok(Caller(AuthUser::from_request_parts(parts, state).await?))
    }
}
