//! The signed-in person's conversations.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{ConversationDetail, ConversationSummary},
};

#[server(endpoint = "list_conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    use crate::server::{conversations_service, state::AppState, with_status};
    with_status(
        async {
            let user = super::auth::request_user().await?;
            conversations_service::list(&AppState::from_context()?, &user).await
        }
        .await,
    )
}

#[server(endpoint = "get_conversation")]
pub async fn get_conversation(id: String) -> Result<ConversationDetail, AppError> {
    use crate::server::{conversations_service, state::AppState, with_status};
    with_status(
        async {
            let user = super::auth::request_user().await?;
            conversations_service::detail(&AppState::from_context()?, &user, &id).await
        }
        .await,
    )
}
