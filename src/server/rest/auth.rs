//! `/api/v1/auth/*` and `/api/v1/me`: tokens for apps (JSON), cookies for the browser.

use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json::{self, ApiJson};
use crate::{
    error::AppError,
    model::UserView,
    server::{
        auth::{
            AuthUser, account, client_ip, cookies,
            extract::require_same_site,
            login,
            sessions::{self, IssuedTokens},
        },
        db::users::UserRow,
        errors::ErrorBody,
        state::AppState,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_handler))
        .routes(routes!(refresh_handler))
        .routes(routes!(logout_handler))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(me_alias))
}

#[derive(Deserialize, ToSchema)]
struct LoginBody {
    email: String,
    password: String,
}

/// Apps send the refresh token; the browser's comes in its cookie.
#[derive(Deserialize, Default, ToSchema)]
struct RefreshBody {
    refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[derive(Serialize, ToSchema)]
struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Single use: `POST /auth/refresh` returns a new pair.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: i64,
    user: UserView,
}

fn token_response(user: &UserRow, tokens: IssuedTokens) -> TokenResponse {
    TokenResponse {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        token_type: "Bearer",
        expires_in: tokens.expires_in,
        user: UserView {
            id: user.id.clone(),
            email: user.email.clone(),
            role: user.role,
        },
    }
}

/// JSON tokens, plus the session cookies when the browser is the caller.
fn respond(state: &AppState, user: &UserRow, tokens: IssuedTokens, set_cookies: bool) -> Response {
    let cookies = set_cookies.then(|| cookies::session(&tokens, state.settings.cookie_secure()));
    with_cookies(
        Json(token_response(user, tokens)).into_response(),
        cookies.into_iter().flatten(),
    )
}

fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Log in with email and password; returns a token pair (no cookies).
#[utoipa::path(post, path = "/auth/login", operation_id = "login", tag = "auth", request_body = LoginBody, security(()),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 429, description = "Too many failures (Retry-After)", body = ErrorBody),
    ))]
async fn login_handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, AppError> {
    let ip = client_ip::resolve(peer.ip(), &headers, &state.settings.server.trusted_proxies);
    let user = login::check_credentials(&state, &body.email, &body.password, ip).await?;
    let tokens = sessions::issue(&state, &user, None).await?;
    Ok(respond(&state, &user, tokens, false))
}

/// The refresh token from the body (apps) or the cookie (browser, same-site only).
fn presented_refresh(
    method: &Method,
    headers: &HeaderMap,
    body: Option<RefreshBody>,
) -> Result<(String, bool), AppError> {
    if let Some(token) = body.and_then(|b| b.refresh_token) {
        return Ok((token, false));
    }
    let token = cookies::read(headers, cookies::REFRESH_COOKIE).ok_or(AppError::Unauthorized)?;
    require_same_site(method, headers)?;
    Ok((token.to_string(), true))
}

/// Trade a refresh token for a new pair (the old one is spent; reusing it ends the session).
#[utoipa::path(post, path = "/auth/refresh", operation_id = "refresh", tag = "auth", request_body = RefreshBody, security(()),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "Unknown, expired, spent or revoked token", body = ErrorBody),
    ))]
async fn refresh_handler(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (token, from_cookie) = presented_refresh(&method, &headers, json::optional(&body)?)?;
    match sessions::refresh(&state, &token).await {
        Ok((user, tokens)) => Ok(respond(&state, &user, tokens, from_cookie)),
        Err(err) if from_cookie => {
            // The browser's session is over: drop its cookies so it stops trying.
            let clear = cookies::clear_session(state.settings.cookie_secure());
            Ok(with_cookies(err.into_response(), clear))
        }
        Err(err) => Err(err),
    }
}

/// Revoke a refresh token (and clear the browser's cookies).
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "auth", request_body = RefreshBody, security(()),
    responses((status = 204, description = "Logged out")))]
async fn logout_handler(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    if let Ok((token, _)) = presented_refresh(&method, &headers, json::optional(&body)?) {
        sessions::revoke(&state, &token).await?;
    }
    let clear = cookies::clear_session(state.settings.cookie_secure());
    Ok(with_cookies(StatusCode::NO_CONTENT.into_response(), clear))
}

/// Change the caller's password (the current one is required); every other session ends.
#[utoipa::path(post, path = "/auth/password", operation_id = "changePassword", tag = "auth", request_body = PasswordBody,
    responses(
        (status = 200, description = "A fresh token pair for this session", body = TokenResponse),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Wrong current password, or a weak new one", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, AppError> {
    let (row, tokens) =
        account::change_password(&state, &user.id, &body.current_password, &body.new_password)
            .await?;
    let browser = !headers.contains_key(header::AUTHORIZATION);
    Ok(respond(&state, &row, tokens, browser))
}

/// The caller.
#[utoipa::path(get, path = "/auth/me", operation_id = "getMe", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(user: AuthUser) -> Json<UserView> {
    Json(user.view())
}

/// The caller (same as `/auth/me`).
#[utoipa::path(get, path = "/me", operation_id = "getMeAlias", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me_alias(user: AuthUser) -> Json<UserView> {
    Json(user.view())
}
