//! The public REST API under `/api/v1`, for the company's apps (and the browser's stream).

mod admin;
mod auth;
mod chat;
mod conversations;
mod json;
mod models;
mod openapi;

use std::sync::Arc;

use axum::{Json, Router, routing::get};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::state::AppState;
use crate::error::AppError;

/// The routes and their OpenAPI description, built together so that they cannot disagree.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(admin::router())
        .merge(auth::router())
        .merge(chat::router())
        .merge(conversations::router())
        .merge(models::router())
}

/// The OpenAPI 3.1 document (also printed by `energyapp-llm openapi`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented().split_for_parts().1
}

pub fn router() -> Router<AppState> {
    let (router, api) = documented().split_for_parts();
    let doc = Arc::new(serde_json::to_value(api).unwrap_or_default());
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { AppError::NotFound("route".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
}
