//! The public REST API under `/api/v1`, for the company's apps (and the browser's stream).

mod admin;
mod auth;
mod chat;
mod conversations;
mod json;
mod models;

use axum::Router;

use super::state::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(admin::router())
        .merge(auth::router())
        .merge(chat::router())
        .merge(conversations::router())
        .merge(models::router())
        .fallback(|| async { AppError::NotFound("route".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
}
