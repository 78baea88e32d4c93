//! Conversation reads and changes shared by the REST API and the UI's server functions.

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
    server::{
        auth::AuthUser,
        db::{
            Cursor,
            conversations::{self, Change, ListFilter},
            messages,
        },
        state::AppState,
    },
};

/// Messages returned with a conversation unless asked otherwise.
pub const DEFAULT_MESSAGES: i64 = 50;
/// Longest system prompt.
const MAX_SYSTEM_PROMPT_CHARS: usize = 8_000;

/// One page of the caller's conversations and the cursor of the next.
pub async fn list(
    state: &AppState,
    user: &AuthUser,
    filter: &ListFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<ConversationSummary>, Option<String>), AppError> {
    let after = Cursor::param(cursor)?;
    let (items, next) =
        conversations::list_page(&state.db, &user.id, filter, after.as_ref(), limit).await?;
    Ok((items, next.map(|c| c.encode())))
}

pub async fn detail(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    messages_limit: i64,
) -> Result<ConversationDetail, AppError> {
    // The conversation and its messages are read at once (on PostgreSQL, two round trips in
    // parallel rather than one after the other); the messages are returned only when the
    // conversation is the caller's, and a refusal does not wait for them.
    let db = &state.db;
    let page = move || messages::page(db, id, None, messages_limit);
    let messages = crate::server::chat::settled_reads::read(state, id, page);
    let (conversation, page) = tokio::try_join!(owned(state, user, id), messages)?;
    let (messages, has_more) = page.unwrap_or_default();
    Ok(ConversationDetail {
        conversation,
        messages,
        has_more,
    })
}

/// The caller's conversation, or 404 (also when it is someone else's).
pub async fn owned(
    state: &AppState,
    user: &AuthUser,
    id: &str,
) -> Result<ConversationSummary, AppError> {
    Ok(conversations::get(&state.db, &user.id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("conversation".into()))?
        .summary)
}

/// A checked change: title, status, model (must be installed), system prompt.
pub struct ChangeRequest {
    pub title: Option<String>,
    pub status: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<Option<String>>,
}

pub fn check_title(title: &str) -> Result<&str, AppError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.contains(['\n', '\r']) {
        return Err(AppError::validation(
            "title",
            "must be one line of 1 to 200 characters",
        ));
    }
    Ok(title)
}

pub fn check_system_prompt(prompt: &str) -> Result<&str, AppError> {
    if prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
        return Err(AppError::validation(
            "system_prompt",
            format!("must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"),
        ));
    }
    Ok(prompt)
}

pub async fn create(
    state: &AppState,
    user: &AuthUser,
    title: Option<&str>,
    model: Option<&str>,
    system_prompt: Option<&str>,
) -> Result<ConversationSummary, AppError> {
    let title = title.map(check_title).transpose()?.unwrap_or("");
    let system_prompt = system_prompt.map(check_system_prompt).transpose()?;
    let model = match model.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => state.models.resolve(m).await?,
        None => state.settings.ollama.model.clone(),
    };
    Ok(
        conversations::create(&state.db, &user.id, title, &model, system_prompt)
            .await?
            .summary,
    )
}

pub async fn update(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    change: ChangeRequest,
) -> Result<(), AppError> {
    let title = change.title.as_deref().map(check_title).transpose()?;
    if change
        .status
        .as_deref()
        .is_some_and(|s| !matches!(s, "open" | "closed"))
    {
        return Err(AppError::validation("status", "must be open or closed"));
    }
    let system_prompt = match &change.system_prompt {
        Some(Some(p)) => Some(Some(check_system_prompt(p)?)),
        Some(None) => Some(None),
        None => None,
    };
    owned(state, user, id).await?;
    let model = match change.model.as_deref().map(str::trim) {
        Some("") => return Err(AppError::validation("model", "must not be empty")),
        Some(m) => Some(state.models.resolve(m).await?),
        None => None,
    };
    let found = conversations::update(
        &state.db,
        &user.id,
        id,
        &Change {
            title,
            status: change.status.as_deref(),
            model: model.as_deref(),
            system_prompt,
        },
    )
    .await?;
    if !found {
        return Err(AppError::NotFound("conversation".into()));
    }
    Ok(())
}

/// Deletes the caller's conversation, stopping its answer in flight.
pub async fn delete(state: &AppState, user: &AuthUser, id: &str) -> Result<(), AppError> {
    if !conversations::soft_delete(&state.db, &user.id, id).await? {
        return Err(AppError::NotFound("conversation".into()));
    }
    stop_answer(state, id).await?;
    Ok(())
}

/// Stops the conversation's answer in flight, here or on another instance; false when there
/// is none.
pub async fn stop_answer(state: &AppState, id: &str) -> Result<bool, AppError> {
    if state.generations.stop(id) {
        return Ok(true);
    }
    match &state.cluster {
        Some(cluster) if crate::server::db::messages::streaming_in(&state.db, id).await? => {
            cluster.stop(id).await;
            Ok(true)
        }
        _ => Ok(false),
    }
}
