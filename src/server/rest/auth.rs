//! `/api/v1/auth/*` and `/api/v1/me`.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;
use crate::{
    error::AppError,
    model::UserView,
    server::{
        auth::{AuthUser, cookies, login},
        state::AppState,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login_handler))
        .route("/auth/logout", post(logout_handler))
        .route("/auth/me", get(me))
        .route("/me", get(me))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: UserView,
}

async fn login_handler(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<TokenResponse>, AppError> {
    let user = login::check_credentials(&state, &body.email, &body.password).await?;
    let access_token = state.jwt.issue(&user.id, user.role)?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        user: UserView {
            id: user.id,
            email: user.email,
            role: user.role,
        },
    }))
}

async fn logout_handler(State(state): State<AppState>) -> impl IntoResponse {
    let clear = cookies::clear(cookies::ACCESS_COOKIE, state.settings.cookie_secure());
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)])
}

async fn me(user: AuthUser) -> Json<UserView> {
    Json(user.view())
}
