//! Signing in and out from the browser (httpOnly cookie), and who is signed in.

use leptos::prelude::*;

use crate::{error::AppError, model::UserView};

/// Checks the credentials, sets the session cookie and goes to the chat.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::server::{
        auth::{cookies, login},
        state::AppState,
        with_status,
    };
    with_status(
        async {
            let state = AppState::from_context()?;
            let user = login::check_credentials(&state, &email, &password).await?;
            let token = state.jwt.issue(&user.id, user.role)?;
            let cookie = cookies::set(
                cookies::ACCESS_COOKIE,
                &token,
                state.jwt.ttl_secs(),
                state.settings.cookie_secure(),
            );
            expect_context::<leptos_axum::ResponseOptions>()
                .append_header(http::header::SET_COOKIE, cookie);
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Clears the session cookie and goes to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{auth::cookies, state::AppState};
    let state = AppState::from_context()?;
    let cookie = cookies::clear(cookies::ACCESS_COOKIE, state.settings.cookie_secure());
    expect_context::<leptos_axum::ResponseOptions>()
        .append_header(http::header::SET_COOKIE, cookie);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in person, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use crate::server::auth::AuthUser;
    match request_user().await {
        Ok(user) => Ok(Some(AuthUser::view(&user))),
        Err(AppError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Authenticates the request a server function is handling.
#[cfg(feature = "ssr")]
pub async fn request_user() -> Result<crate::server::auth::AuthUser, AppError> {
    use crate::server::{auth::AuthUser, state::AppState};
    let state = AppState::from_context()?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    AuthUser::from_headers(&state, &parts.method, &parts.headers).await
}
