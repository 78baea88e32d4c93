//! `POST /v1/chat/completions`: checks the request and the key's limits, waits for a slot of
//! the model, opens the Ollama stream and hands it to the relay.

use axum::{body::Bytes, extract::State, response::Response};

use super::{
    OpenAiError,
    caller::Caller,
    relay::{self, Accounting},
    wire::CompletionRequest,
};
use crate::server::{
    auth::key_limits,
    chat::attempt::{self, Retry},
    ollama::wire::{ChatMessage, ChatOptions, ChatRequest},
    state::AppState,
};

pub async fn handler(
    State(state): State<AppState>,
    Caller(user): Caller,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: CompletionRequest = serde_json::from_slice(&body)
        .map_err(|e| OpenAiError::bad_request("messages", format!("Invalid request body: {e}")))?;
    if request.messages.is_empty() {
        return Err(OpenAiError::bad_request(
            "messages",
            "`messages` must not be empty.",
        ));
    }
    let mut messages = Vec::with_capacity(request.messages.len());
    for m in &request.messages {
        let role = match m.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            other => {
                return Err(OpenAiError::bad_request(
                    "messages",
                    format!("Unsupported message role `{other}`."),
                ));
            }
        };
        messages.push(ChatMessage {
            role: role.into(),
            content: m.content.text(),
        });
    }
    if request
        .temperature
        .is_some_and(|t| !(0.0..=2.0).contains(&t))
    {
        return Err(OpenAiError::bad_request(
            "temperature",
            "`temperature` must be between 0 and 2.",
        ));
    }
    if request.top_p.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(OpenAiError::bad_request(
            "top_p",
            "`top_p` must be between 0 and 1.",
        ));
    }
    let max_tokens = request.max_completion_tokens.or(request.max_tokens);
    if max_tokens.is_some_and(|n| n < 1) {
        return Err(OpenAiError::bad_request(
            "max_tokens",
            "`max_tokens` must be at least 1.",
        ));
    }

    let model = match state.models.resolve(request.model.trim()).await {
        Ok(m) => m,
        Err(crate::error::AppError::UnknownModel { .. }) => {
            return Err(OpenAiError::model_not_found(&request.model));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(grant) = &user.key {
        key_limits::admit(&state, grant, &model)
            .await
            .map_err(|e| match e {
                crate::error::AppError::UnknownModel { .. } => OpenAiError::model_not_found(&model),
                other => other.into(),
            })?;
    }
    let settings = &state.settings;
    let ollama_request = ChatRequest {
        model: model.clone(),
        messages,
        stream: true,
        options: ChatOptions {
            temperature: request.temperature.unwrap_or(settings.ollama.temperature),
            top_p: request.top_p.unwrap_or(settings.ollama.top_p),
            num_ctx: settings.ollama.num_ctx,
            num_predict: max_tokens,
            stop: request.stop.map(|s| s.into_vec()),
        },
        keep_alive: settings.ollama.keep_alive.clone(),
    };

    // Wait for a slot on a backend that has the model (leaving the line if the client goes
    // away), retried once on another backend if the first fails to start.
    let placement = attempt::place(&state.backends, state.cluster.as_ref(), &model, None)
        .await
        .map_err(|e| match e {
            crate::error::AppError::UnknownModel { .. } => OpenAiError::model_not_found(&model),
            other => other.into(),
        })?;
    let (upstream, permit) = attempt::connected(
        &state.backends,
        state.cluster.as_ref().map(|c| &c.slots),
        &ollama_request,
        placement,
        &mut Retry::new(state.cluster.clone()),
    )
    .await
    .map_err(|e| match e {
        crate::server::ollama::OllamaError::ModelNotFound(_) => {
            OpenAiError::model_not_found(&model)
        }
        other => crate::error::AppError::from(other).into(),
    })?;

    let question = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.text())
        .unwrap_or_default();
    let accounting = Accounting::new(&state, &user, &model, question, request.user);
    let include_usage = request.stream_options.is_some_and(|o| o.include_usage);
    Ok(if request.stream {
        relay::stream(upstream, permit, accounting, &model, include_usage)
    } else {
        relay::collect(upstream, permit, accounting, &model).await?
    })
}
