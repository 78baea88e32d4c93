//! Signing in and out from the browser (httpOnly cookies), and who is signed in.

use leptos::prelude::*;

use crate::{error::AppError, model::UserView};

/// Checks the credentials, sets the session cookies and goes to the chat.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::server::{
        auth::{cookies, extract::client_ip, login, sessions},
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = login::check_credentials(
            &cx.state,
            &email,
            &password,
            client_ip(&cx.state, &cx.parts),
        )
        .await?;
        let tokens = sessions::issue(&cx.state, &user, None).await?;
        cx.set_cookies(cookies::session(&tokens, cx.state.settings.cookie_secure()));
        cx.redirect("/");
        Ok(())
    }
    .await;
    cx.finish(result)
}

/// Ends the session (its refresh token is revoked), clears the cookies, goes to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{
        auth::{cookies, sessions},
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    if let Some(token) = cookies::read(&cx.parts.headers, cookies::REFRESH_COOKIE) {
        sessions::revoke(&cx.state, token).await?;
    }
    cx.set_cookies(cookies::clear_session(cx.state.settings.cookie_secure()));
    cx.redirect("/login");
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
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = cx.user().await?;
        let (_, tokens) =
            account::change_password(&cx.state, &user.id, &current_password, &new_password).await?;
        cx.set_cookies(cookies::session(&tokens, cx.state.settings.cookie_secure()));
        Ok(())
    }
    .await;
    cx.finish(result)
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
    use crate::server::{auth::cookies, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    match cx.user().await {
        Ok(user) => Ok(SessionState::SignedIn(user.view())),
        Err(AppError::Unauthorized) => Ok(
            match cookies::read(&cx.parts.headers, cookies::SESSION_HINT_COOKIE) {
                Some(_) => SessionState::Expired,
                None => SessionState::SignedOut,
            },
        ),
        Err(e) => Err(e),
    }
}
