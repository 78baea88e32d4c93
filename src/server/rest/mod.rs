//! The public REST API under `/api/v1`, for the company's apps (and the browser's stream).

mod admin;
mod auth;
mod chat;
mod conversations;
mod json;
mod models;
mod openapi;

use axum::{Router, http::header, routing::get};
use bytes::Bytes;
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
    // Kept as the JSON text (about a tenth of the memory of the document as values).
    let doc = Bytes::from(serde_json::to_vec(&api).unwrap_or_default());
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        )
        .fallback(|| async { AppError::NotFound("route".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
}
