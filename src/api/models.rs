//! The models a conversation can use.

use leptos::prelude::*;

use crate::{error::AppError, model::ModelChoices};

/// The models installed in Ollama, and the server's default.
#[server(endpoint = "available_models")]
pub async fn available_models() -> Result<ModelChoices, AppError> {
    use crate::server::server_fn_context::ServerFnContext;
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.user().await?;
        let installed = cx.state.models.installed().await?;
        Ok(ModelChoices {
            names: installed.into_iter().map(|m| m.name).collect(),
            default: cx.state.settings.ollama.model.clone(),
        })
    }
    .await;
    cx.finish(result)
}
