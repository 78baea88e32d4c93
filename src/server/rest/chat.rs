//! The streaming chat endpoints (SSE, or plain text with `Accept: text/plain`): ask, re-attach,
//! stop.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json::ApiJson;
use crate::{
    error::AppError,
    model::{ChatRequest, PostMessage},
    server::{
        auth::{AuthUser, Caller},
        chat::{self, Turn, TurnRequest},
        conversations_service,
        db::messages,
        errors::ErrorBody,
        state::AppState,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_handler))
        .routes(routes!(attach))
        .routes(routes!(stop))
}

/// What every streaming endpoint answers with.
const STREAM_DESCRIPTION: &str = "The answer as it is generated. `text/event-stream` (default): \
named events `meta` (MetaEvent), `queued` (QueuedEvent, while waiting for the model), `token` \
(TokenEvent, in order), then exactly one of `done` (DoneEvent) or `error` (ErrorEvent). With \
`Accept: text/plain`: the answer's text only, with the ids in the `X-Conversation-Id`, \
`X-User-Message-Id` and `X-Assistant-Message-Id` headers.";

/// Ask a question, in a new conversation (no `conversation_id`) or an existing one.
#[utoipa::path(post, path = "/chat", operation_id = "chat", tag = "chat", request_body = ChatRequest,
    responses(
        (status = 200, description = STREAM_DESCRIPTION,
            content((String = "text/event-stream"), (String = "text/plain"))),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 409, description = "Conversation closed, or already answering", body = ErrorBody),
        (status = 422, description = "Empty or too long message, or a model that is not installed", body = ErrorBody),
        (status = 503, description = "Ollama unreachable, or the waiting line is full (Retry-After)", body = ErrorBody),
    ))]
async fn chat_handler(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChatRequest>,
) -> Result<Response, AppError> {
    let request = TurnRequest {
        conversation_id: body.conversation_id,
        message: body.message,
        model: body.model,
        system_prompt: body.system_prompt,
    };
    let turn = chat::start_turn(&state, caller, request).await?;
    Ok(chat::sse::respond(turn, &headers))
}

/// Ask a question in a conversation.
#[utoipa::path(post, path = "/conversations/{id}/messages", operation_id = "postMessage", tag = "chat",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = PostMessage,
    responses(
        (status = 200, description = STREAM_DESCRIPTION,
            content((String = "text/event-stream"), (String = "text/plain"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Conversation closed, or already answering", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub(super) async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, AppError> {
    let request = TurnRequest {
        conversation_id: Some(id),
        message: body.content,
        model: None,
        system_prompt: None,
    };
    let turn = chat::start_turn(&state, caller, request).await?;
    Ok(chat::sse::respond(turn, &headers))
}

/// Re-attach to the answer being generated: the text so far, then the rest live.
///
/// For a reloaded page, a second tab or another device. 204 when no answer is in flight.
#[utoipa::path(get, path = "/conversations/{id}/stream", operation_id = "attachToAnswer", tag = "chat",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = STREAM_DESCRIPTION,
            content((String = "text/event-stream"), (String = "text/plain"))),
        (status = 204, description = "No answer in flight"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn attach(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    conversations_service::owned(&state, &user, &id).await?;
    let events = match state.generations.live(&id) {
        Some(live) => live.listen(),
        // Perhaps another instance generates it.
        None => match &state.cluster {
            Some(cluster) if messages::streaming_in(&state.db, &id).await? => {
                match cluster.attach(&id).await {
                    Some(events) => events,
                    None => return Ok(StatusCode::NO_CONTENT.into_response()),
                }
            }
            _ => return Ok(StatusCode::NO_CONTENT.into_response()),
        },
    };
    let turn = Turn {
        meta: events.meta(),
        events,
    };
    Ok(chat::sse::respond(turn, &headers))
}

#[derive(Serialize, ToSchema)]
struct StopResult {
    /// Whether an answer was in flight (it ends `stopped`, its text so far kept).
    stopped: bool,
}

/// Stop the answer being generated in a conversation (from any tab or device).
#[utoipa::path(post, path = "/conversations/{id}/stop", operation_id = "stopAnswer", tag = "chat",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, body = StopResult),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn stop(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StopResult>, AppError> {
    conversations_service::owned(&state, &user, &id).await?;
    Ok(Json(StopResult {
        stopped: conversations_service::stop_answer(&state, &id).await?,
    }))
}
