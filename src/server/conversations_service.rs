//! Conversation reads shared by the REST API and the UI's server functions.

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
    server::{
        auth::AuthUser,
        db::{conversations, messages},
        state::AppState,
    },
};

/// Most conversations listed at once (pagination comes with the conversations API).
const LIST_LIMIT: i64 = 200;
/// Messages shown when a conversation opens.
const LATEST_MESSAGES: i64 = 200;

pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<ConversationSummary>, AppError> {
    conversations::list_for_user(&state.db, &user.id, LIST_LIMIT).await
}

pub async fn detail(
    state: &AppState,
    user: &AuthUser,
    id: &str,
) -> Result<ConversationDetail, AppError> {
    let conversation = conversations::get(&state.db, &user.id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("conversation".into()))?;
    let messages = messages::latest(&state.db, id, LATEST_MESSAGES).await?;
    Ok(ConversationDetail {
        conversation: conversation.summary,
        messages,
    })
}
