//! Reading the caller's conversations.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
    server::{auth::AuthUser, conversations_service, state::AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{id}", get(detail).patch(update))
}

#[derive(Serialize)]
struct Page {
    items: Vec<ConversationSummary>,
}

async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Page>, AppError> {
    let items = conversations_service::list(&state, &user).await?;
    Ok(Json(Page { items }))
}

async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ConversationDetail>, AppError> {
    Ok(Json(
        conversations_service::detail(&state, &user, &id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversationChange {
    title: Option<String>,
    status: Option<String>,
}

/// Renames and/or closes (or reopens) the caller's conversation.
async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<ConversationChange>,
) -> Result<Json<ConversationDetail>, AppError> {
    let title = change.title.as_deref().map(str::trim);
    let bad_title = |t: &str| t.is_empty() || t.chars().count() > 200 || t.contains('\n');
    if title.is_some_and(bad_title) {
        return Err(AppError::validation(
            "title",
            "must be one line of 1 to 200 characters",
        ));
    }
    if change
        .status
        .as_deref()
        .is_some_and(|s| !matches!(s, "open" | "closed"))
    {
        return Err(AppError::validation("status", "must be open or closed"));
    }
    let found = crate::server::db::conversations::update(
        &state.db,
        &user.id,
        &id,
        title,
        change.status.as_deref(),
    )
    .await?;
    if !found {
        return Err(AppError::NotFound("conversation".into()));
    }
    Ok(Json(
        conversations_service::detail(&state, &user, &id).await?,
    ))
}
