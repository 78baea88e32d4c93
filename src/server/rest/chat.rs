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
        .route("/conversations/{id}/stop", post(stop))
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

#[derive(serde::Serialize)]
struct StopResult {
    /// Whether an answer was in flight (it ends `stopped`, its text so far kept).
    stopped: bool,
}

/// Stops the answer being generated in the caller's conversation, if any.
async fn stop(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<StopResult>, AppError> {
    crate::server::db::conversations::get(&state.db, &user.id, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("conversation".into()))?;
    Ok(axum::Json(StopResult {
        stopped: state.generations.stop(&id),
    }))
}
