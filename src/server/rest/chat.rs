//! The streaming chat endpoints (SSE, or plain text with `Accept: text/plain`).

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::post,
};

use super::json::ApiJson;
use crate::{
    error::AppError,
    model::{ChatRequest, PostMessage},
    server::{
        auth::AuthUser,
        chat::{self, TurnRequest},
        state::AppState,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat", post(chat_handler))
        .route("/conversations/{id}/messages", post(post_message))
}

async fn chat_handler(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChatRequest>,
) -> Result<Response, AppError> {
    let request = TurnRequest {
        conversation_id: body.conversation_id,
        message: body.message,
        model: body.model,
    };
    let turn = chat::start_turn(&state, &user, request).await?;
    Ok(chat::sse::respond(turn, &headers))
}

async fn post_message(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, AppError> {
    let request = TurnRequest {
        conversation_id: Some(id),
        message: body.content,
        model: None,
    };
    let turn = chat::start_turn(&state, &user, request).await?;
    Ok(chat::sse::respond(turn, &headers))
}
