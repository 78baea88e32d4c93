//! Whether the language model is reachable, for the UI's banner.

use leptos::prelude::*;

use crate::{error::AppError, model::OllamaHealth};

/// Ollama's side of `/health` (the database is not asked: every page shows the banner).
#[server(endpoint = "service_status")]
pub async fn service_status() -> Result<OllamaHealth, AppError> {
    use crate::server::{health, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    Ok(health::ollama(&cx.state).await)
}
