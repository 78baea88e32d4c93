//! The caller's conversations: list, create, read, page messages, change, delete.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json::{self, ApiJson, ApiQuery};
use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary, MessageView},
    server::{
        auth::AuthUser,
        chat::settled_reads,
        conversations_service::{self as service, ChangeRequest, DEFAULT_MESSAGES},
        db::{conversations::ListFilter, messages, page_size},
        errors::ErrorBody,
        state::AppState,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, update, delete))
        .routes(routes!(message_page, super::chat::post_message))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// `open` or `closed`.
    status: Option<String>,
    /// Text the title contains (case-insensitive).
    q: Option<String>,
}

/// A page of conversations.
#[derive(Serialize, ToSchema)]
struct ConversationPage {
    items: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// List the caller's conversations, most recent activity first.
///
/// Cursor pagination: conversations created while paging never shift or repeat items.
#[utoipa::path(get, path = "/conversations", operation_id = "listConversations", tag = "conversations", params(ListQuery),
    responses(
        (status = 200, body = ConversationPage),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Bad limit, cursor or status", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ConversationPage>, AppError> {
    let limit = page_size(query.limit, 50)?;
    let status = query.status.filter(|s| !s.is_empty());
    if status
        .as_deref()
        .is_some_and(|s| !matches!(s, "open" | "closed"))
    {
        return Err(AppError::validation("status", "must be open or closed"));
    }
    let text = query
        .q
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::validation("q", "must be at most 200 characters"));
    }
    let filter = ListFilter { status, text };
    let (items, next_cursor) =
        service::list(&state, &user, &filter, query.cursor.as_deref(), limit).await?;
    Ok(Json(ConversationPage { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewConversation {
    /// One line, 1 to 200 characters; by default the first message names it.
    title: Option<String>,
    /// An installed model (see `GET /models`); by default the server's model.
    model: Option<String>,
    /// By default the server's system prompt.
    system_prompt: Option<String>,
}

/// Create an empty conversation.
#[utoipa::path(post, path = "/conversations", operation_id = "createConversation", tag = "conversations",
    request_body = NewConversation,
    responses(
        (status = 201, body = ConversationSummary),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Bad title or system prompt, or a model that is not installed", body = ErrorBody),
        (status = 503, description = "Ollama unreachable (to check the model)", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    body: Bytes,
) -> Result<(StatusCode, Json<ConversationSummary>), AppError> {
    let body = json::optional::<NewConversation>(&body)?.unwrap_or(NewConversation {
        title: None,
        model: None,
        system_prompt: None,
    });
    let created = service::create(
        &state,
        &user,
        body.title.as_deref(),
        body.model.as_deref(),
        body.system_prompt.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DetailQuery {
    /// How many of the latest messages to include, 1 to 200 (default 50).
    messages: Option<i64>,
}

/// A conversation with its latest messages.
#[utoipa::path(get, path = "/conversations/{id}", operation_id = "getConversation", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id"), DetailQuery),
    responses(
        (status = 200, body = ConversationDetail),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
    ))]
async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DetailQuery>,
) -> Result<Json<ConversationDetail>, AppError> {
    let limit = page_size(query.messages, DEFAULT_MESSAGES)?;
    Ok(Json(service::detail(&state, &user, &id, limit).await?))
}

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConversationChange {
    /// Rename (one line, 1 to 200 characters).
    title: Option<String>,
    /// `open` or `closed`; a closed conversation takes no new messages.
    status: Option<String>,
    /// An installed model.
    model: Option<String>,
    /// `null` goes back to the server's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    system_prompt: Option<Option<String>>,
}

/// Rename, close or reopen, change the model or the system prompt.
#[utoipa::path(patch, path = "/conversations/{id}", operation_id = "updateConversation", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = ConversationChange,
    responses(
        (status = 200, body = ConversationDetail),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Bad field, or a model that is not installed", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<ConversationChange>,
) -> Result<Json<ConversationDetail>, AppError> {
    let change = ChangeRequest {
        title: change.title,
        status: change.status,
        model: change.model,
        system_prompt: change.system_prompt,
    };
    service::update(&state, &user, &id, change).await?;
    Ok(Json(
        service::detail(&state, &user, &id, DEFAULT_MESSAGES).await?,
    ))
}

/// Delete a conversation (and stop its answer in flight). Admins still see it, marked deleted.
#[utoipa::path(delete, path = "/conversations/{id}", operation_id = "deleteConversation", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::delete(&state, &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// A message id: return the messages just before it.
    before: Option<String>,
}

/// A page of messages, oldest first.
#[derive(Serialize, ToSchema)]
struct MessagePage {
    items: Vec<MessageView>,
    /// Whether older messages exist (pass the first item's id as `before`).
    has_more: bool,
}

/// Page through a conversation's messages, newest page first.
#[utoipa::path(get, path = "/conversations/{id}/messages", operation_id = "listMessages", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id"), MessagesQuery),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Bad limit, or `before` is not a message of this conversation", body = ErrorBody),
    ))]
async fn message_page(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<MessagePage>, AppError> {
    let limit = page_size(query.limit, 50)?;
    service::owned(&state, &user, &id).await?;
    let before = query.before.as_deref().filter(|b| !b.is_empty());
    let (db, id) = (&state.db, id.as_str());
    let page = move || messages::page(db, id, before, limit);
    let (items, has_more) = settled_reads::read(&state, id, page)
        .await?
        .ok_or_else(|| AppError::validation("before", "is not a message of this conversation"))?;
    Ok(Json(MessagePage { items, has_more }))
}
