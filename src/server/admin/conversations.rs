//! Every user's conversations, read-only.

use super::{dates, page_limit};
use crate::{
    admin_model::{AdminConversationDetail, AdminConversationPage, ConversationFilter},
    error::AppError,
    server::{
        chat::settled_reads,
        db::{
            Cursor,
            conversations::{self, AdminQuery, escape_like},
            messages,
        },
        state::AppState,
    },
};

pub async fn list(
    state: &AppState,
    filter: &ConversationFilter,
) -> Result<AdminConversationPage, AppError> {
    let limit = page_limit(filter.limit)?;
    let status = filter.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !matches!(s, "open" | "closed" | "deleted")) {
        return Err(AppError::validation(
            "status",
            "must be open, closed or deleted",
        ));
    }
    let (from, to) = dates::range(filter.from.as_deref(), filter.to.as_deref())?;
    let text = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::validation("q", "must be at most 200 characters"));
    }
    let query = AdminQuery {
        user_id: filter.user_id.as_deref().filter(|u| !u.is_empty()),
        status,
        from,
        to,
        like: text.map(|q| format!("%{}%", escape_like(&q.to_lowercase()))),
    };
    let after = Cursor::param(filter.cursor.as_deref())?;
    // The text search and the message counts include every answer announced as ended.
    state.settling.all_settled().await;
    let (items, next) = conversations::admin_page(&state.db, &query, after.as_ref(), limit).await?;
    Ok(AdminConversationPage {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
}

pub async fn detail(state: &AppState, id: &str) -> Result<AdminConversationDetail, AppError> {
    let (conversation, system_prompt) = conversations::admin_get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("conversation".into()))?;
    let db = &state.db;
    let all = move || messages::all(db, id);
    let messages = settled_reads::read(state, id, all).await?;
    Ok(AdminConversationDetail {
        conversation,
        system_prompt,
        messages,
    })
}
