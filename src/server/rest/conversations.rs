//! Reading the caller's conversations.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use serde::Serialize;

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
    server::{auth::AuthUser, conversations_service, state::AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{id}", get(detail))
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
