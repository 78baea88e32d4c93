//! The OpenAI-compatible API under `/v1`, so that apps can use any OpenAI SDK: point its base
//! URL at `https://<host>/v1` and use an API key (`ea_...`). Same queue, backends,
//! cancellation and usage accounting as the chat.

mod caller;
mod completions;
mod error;
mod models;
mod relay;
mod wire;

use axum::{
    Router,
    routing::{get, post},
};

use crate::server::state::AppState;

pub use error::OpenAiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/completions", post(completions::handler))
        .route("/models", get(models::handler))
        .fallback(|| async { OpenAiError::not_found("Unknown endpoint.") })
}
