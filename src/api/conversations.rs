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
    let result =
        async { conversations_service::detail(&cx.state, &cx.user().await?, &id, 200).await }.await;
    cx.finish(result)
}
