//! Signing in and out from the browser (httpOnly cookies), and who is signed in.

use leptos::prelude::*;

use crate::{error::AppError, model::UserView};

/// Checks the credentials, sets the session cookies and goes to the chat.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::server::{
        auth::{client_ip, cookies, login, sessions},
        state::AppState,
        with_status,
    };
    with_status(
        async {
            let state = AppState::from_context()?;
            let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
            let user =
                login::check_credentials(&state, &email, &password, client_ip(&parts)).await?;
            let tokens = sessions::issue(&state, &user, None).await?;
            let response = expect_context::<leptos_axum::ResponseOptions>();
            for cookie in cookies::session(&tokens, state.settings.cookie_secure()) {
                response.append_header(http::header::SET_COOKIE, cookie);
            }
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Ends the session (its refresh token is revoked), clears the cookies, goes to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{
        auth::{cookies, sessions},
        state::AppState,
    };
    let state = AppState::from_context()?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    if let Some(token) = cookies::read(&parts.headers, cookies::REFRESH_COOKIE) {
        sessions::revoke(&state, token).await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    for cookie in cookies::clear_session(state.settings.cookie_secure()) {
        response.append_header(http::header::SET_COOKIE, cookie);
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// Changes the signed-in person's password; their other sessions end, this one continues.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::server::{
        auth::{account, cookies},
        state::AppState,
        with_status,
    };
    with_status(
        async {
            let state = AppState::from_context()?;
            let user = request_user().await?;
            let (_, tokens) =
                account::change_password(&state, &user.id, &current_password, &new_password)
                    .await?;
            let response = expect_context::<leptos_axum::ResponseOptions>();
            for cookie in cookies::session(&tokens, state.settings.cookie_secure()) {
                response.append_header(http::header::SET_COOKIE, cookie);
            }
            Ok(())
        }
        .await,
    )
}

/// Who is signed in, as a page load sees it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SessionState {
    SignedIn(UserView),
    /// The access token is missing or expired but a refresh may restore the session.
    Expired,
    SignedOut,
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<SessionState, AppError> {
    use crate::server::auth::{AuthUser, cookies};
    match request_user().await {
        Ok(user) => Ok(SessionState::SignedIn(AuthUser::view(&user))),
        Err(AppError::Unauthorized) => {
            let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
            Ok(
                match cookies::read(&parts.headers, cookies::SESSION_HINT_COOKIE) {
                    Some(_) => SessionState::Expired,
                    None => SessionState::SignedOut,
                },
            )
        }
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
