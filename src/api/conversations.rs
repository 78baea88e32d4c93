//! The signed-in person's conversations.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
};

#[server(endpoint = "list_conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    use crate::server::{conversations_service, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let filter = Default::default();
        let (items, _next) =
            conversations_service::list(&cx.state, &cx.user().await?, &filter, None, 200).await?;
        Ok(items)
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "get_conversation")]
pub async fn get_conversation(id: String) -> Result<ConversationDetail, AppError> {
    use crate::server::{conversations_service, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        conversations_service::detail(&cx.state, &cx.user().await?, &id, OLDER_PAGE).await
    }
    .await;
    cx.finish(result)
}

/// Renames, closes or reopens one of the caller's conversations.
#[server(endpoint = "update_conversation")]
pub async fn update_conversation(
    id: String,
    title: Option<String>,
    status: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{
        conversations_service::{self, ChangeRequest},
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = cx.user().await?;
        let change = ChangeRequest {
            title,
            status,
            model: None,
            system_prompt: None,
        };
        conversations_service::update(&cx.state, &user, &id, change).await
    }
    .await;
    cx.finish(result)
}

/// Sets the model and the system prompt of one of the caller's conversations (an empty prompt
/// means the default one). They apply from the next question on.
#[server(endpoint = "update_conversation_settings")]
pub async fn update_conversation_settings(
    id: String,
    model: String,
    system_prompt: String,
) -> Result<(), AppError> {
    use crate::server::{
        conversations_service::{self, ChangeRequest},
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = cx.user().await?;
        let prompt = system_prompt.trim();
        let change = ChangeRequest {
            title: None,
            status: None,
            model: Some(model),
            system_prompt: Some((!prompt.is_empty()).then(|| prompt.to_string())),
        };
        conversations_service::update(&cx.state, &user, &id, change).await
    }
    .await;
    cx.finish(result)
}

/// Deletes one of the caller's conversations.
#[server(endpoint = "delete_conversation")]
pub async fn delete_conversation(id: String) -> Result<(), AppError> {
    use crate::server::{conversations_service, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = cx.user().await?;
        conversations_service::delete(&cx.state, &user, &id).await
    }
    .await;
    cx.finish(result)
}

/// Messages older than `before`, oldest first, and whether even older ones exist.
#[server(endpoint = "older_messages")]
pub async fn older_messages(
    id: String,
    before: String,
) -> Result<(Vec<crate::model::MessageView>, bool), AppError> {
    use crate::server::{
        chat::settled_reads, conversations_service, db::messages,
        server_fn_context::ServerFnContext,
    };
    let cx = ServerFnContext::get()?;
    let result = async {
        let user = cx.user().await?;
        conversations_service::owned(&cx.state, &user, &id).await?;
        let (db, id, before) = (&cx.state.db, id.as_str(), before.as_str());
        let page = move || messages::page(db, id, Some(before), OLDER_PAGE);
        settled_reads::read(&cx.state, id, page)
            .await?
            .ok_or_else(|| AppError::validation("before", "is not a message of this conversation"))
    }
    .await;
    cx.finish(result)
}

/// Messages loaded at once when scrolling up.
pub const OLDER_PAGE: i64 = 50;
